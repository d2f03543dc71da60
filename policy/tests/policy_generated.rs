//! The MDM artifacts in `mdm/` are generated from the settings schema and must not drift.
//!
//! Regenerate after changing `policy/src/schema.rs`:
//! `HOUMON_REGENERATE_MDM=1 cargo test -p houmon-policy --test policy_generated`

use houmon_policy::generate::{artifacts, drift, write_all};
use houmon_policy::resolve::PolicyView;
use houmon_policy::schema::SETTINGS;
use houmon_policy::sources::{LinuxPolicyDir, MacManagedPreferences, PolicySource};
use std::path::PathBuf;

fn mdm_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mdm")
}

#[test]
fn committed_mdm_files_match_the_schema() {
    let dir = mdm_dir();
    if std::env::var_os("HOUMON_REGENERATE_MDM").is_some() {
        write_all(&dir).expect("write mdm/");
        eprintln!("regenerated {} files in {}", artifacts().len(), dir.display());
    }
    let stale = drift(&dir);
    assert!(
        stale.is_empty(),
        "mdm/ is out of date with policy/src/schema.rs: {stale:?}\n\
         Regenerate: cargo run -p houmon-policy --bin houmon-mdm"
    );
}

#[test]
fn drift_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    write_all(tmp.path()).unwrap();
    assert!(drift(tmp.path()).is_empty());
    let admx = tmp.path().join("windows/houmon.admx");
    let edited = std::fs::read_to_string(&admx).unwrap().replace("maxValue=\"60\"", "maxValue=\"600\"");
    std::fs::write(&admx, edited).unwrap();
    std::fs::remove_file(tmp.path().join("settings.ja.md")).unwrap();
    assert_eq!(drift(tmp.path()), vec!["windows/houmon.admx", "settings.ja.md"]);
}

#[test]
fn every_xml_artifact_is_well_formed_and_names_every_setting() {
    for a in artifacts().iter().filter(|a| houmon_policy::validate::is_xml(a.path)) {
        // Strictly (roxmltree): a lenient reader once passed a `--` inside a comment.
        if let Err(p) = houmon_policy::validate::well_formed(a.path, &a.contents) {
            panic!("{p}");
        }
        if a.path.contains("app_restrictions") || a.path.contains("specfile") || a.path.ends_with(".admx") {
            for def in SETTINGS {
                assert!(a.contents.contains(&format!("\"{}\"", def.key)), "{} lacks {}", a.path, def.key);
            }
        }
    }
}

#[test]
fn android_resources_define_every_referenced_string() {
    let all = artifacts();
    let find = |p: &str| all.iter().find(|a| a.path == p).unwrap().contents.clone();
    let restrictions = find("android/res/xml/app_restrictions.xml");
    let default = find("android/res/values/mdm_strings.xml");
    let ja = find("android/res/values-ja/mdm_strings.xml");
    for reference in restrictions.split('"').filter(|s| s.starts_with("@string/") || s.starts_with("@array/")) {
        let name = reference.split('/').nth(1).unwrap();
        assert!(default.contains(&format!("name=\"{name}\"")), "default resources lack {reference}");
        if reference.starts_with("@string/") {
            assert!(ja.contains(&format!("name=\"{name}\"")), "ja resources lack {reference}");
        }
    }
    assert!(ja.contains("医療機関コード"));
}

#[test]
fn adml_defines_every_string_the_admx_uses() {
    let all = artifacts();
    let admx = &all.iter().find(|a| a.path == "windows/houmon.admx").unwrap().contents;
    for lang in ["en-US", "ja-JP"] {
        let adml = &all.iter().find(|a| a.path == format!("windows/{lang}/houmon.adml")).unwrap().contents;
        for part in admx.split("$(").skip(1) {
            let r = part.split(')').next().unwrap();
            let (kind, id) = r.split_once('.').unwrap();
            let needle = match kind {
                "string" => format!("<string id=\"{id}\">"),
                "presentation" => format!("<presentation id=\"{id}\">"),
                other => panic!("unexpected reference kind {other}"),
            };
            assert!(adml.contains(&needle), "{lang} ADML lacks {r}");
        }
    }
}

#[test]
fn json_schema_lists_exactly_the_settings() {
    let a = artifacts();
    let schema: serde_json::Value =
        serde_json::from_str(&a.iter().find(|a| a.path.ends_with("schema.json")).unwrap().contents).unwrap();
    let props = schema["properties"].as_object().unwrap();
    assert_eq!(props.len(), SETTINGS.len());
    for def in SETTINGS {
        let p = &props[def.key];
        assert!(p["x-description-ja"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(p["description"].as_str().is_some_and(|s| !s.is_empty()));
    }
    assert_eq!(props["autoLockMinutes"]["maximum"], 60);
}

/// The shipped examples are valid policies: reading them through the real readers gives no
/// problem and every value in them takes effect.
#[test]
fn generated_examples_apply_without_problems() {
    let tmp = tempfile::tempdir().unwrap();
    write_all(tmp.path()).unwrap();
    let linux = LinuxPolicyDir::new(tmp.path().join("linux"));
    // The examples are named *.example.json; install them as an admin would.
    let root = tempfile::tempdir().unwrap();
    for level in ["managed", "recommended"] {
        std::fs::create_dir_all(root.path().join(level)).unwrap();
        std::fs::copy(
            linux.root().join(level).join("houmon.example.json"),
            root.path().join(level).join("houmon.json"),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let installed = root.path().join(level).join("houmon.json");
            std::fs::set_permissions(installed, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let view = PolicyView::resolve(&LinuxPolicyDir::new(root.path()).read(), &Default::default());
    assert!(view.problems.is_empty(), "{:?}", view.problems);
    assert!(view.settings.iter().all(|s| s.problems.is_empty()), "{:?}", view.settings);
    assert!(view.get("relayUrl").unwrap().locked);
    assert_eq!(view.effective().auto_lock_minutes, 3);

    // The macOS example profile's payload, installed where macOS puts managed preferences.
    let profile = plist::Value::from_file(tmp.path().join("macos/jp.houmon.app.example.mobileconfig")).unwrap();
    let payload = profile.as_dictionary().unwrap()["PayloadContent"].as_array().unwrap()[0].clone();
    let prefs = tempfile::tempdir().unwrap();
    payload.to_file_xml(prefs.path().join("jp.houmon.app.plist")).unwrap();
    let view = PolicyView::resolve(&MacManagedPreferences::new(prefs.path(), None).read(), &Default::default());
    assert!(view.problems.is_empty(), "{:?}", view.problems);
    assert!(view.settings.iter().all(|s| s.problems.is_empty()));
    assert!(view.get("trainingMode").unwrap().locked);
}
