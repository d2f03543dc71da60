//! Policy readers and precedence, on real policy files in a temp directory laid out like
//! `/etc/houmon/policies`.

use houmon_policy::resolve::{PolicyEngine, PolicyView, SettingSource, Severity, TrainingMode};
use houmon_policy::schema::{SETTINGS, SettingValue};
use houmon_policy::sources::{LinuxPolicyDir, MacManagedPreferences, PolicySource, PushedManagedConfig};
use serde_json::json;
use std::path::Path;

/// Write a policy file as an administrator installs it (mode 0644), whatever the umask:
/// a world-writable policy file is ignored by design.
fn write_policy(path: &std::path::Path, body: impl AsRef<[u8]>) {
    std::fs::write(path, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

fn put(root: &Path, level: &str, name: &str, body: &str) {
    std::fs::create_dir_all(root.join(level)).unwrap();
    write_policy(&root.join(level).join(name), body);
}

fn engine(root: &Path, user: Option<&Path>) -> PolicyEngine {
    PolicyEngine::new(vec![Box::new(LinuxPolicyDir::new(root))], user.map(|p| p.join("user-settings.json")))
}

#[test]
fn no_policy_gives_defaults_unlocked() {
    let tmp = tempfile::tempdir().unwrap();
    let view = engine(&tmp.path().join("absent"), None).view();
    assert!(!view.managed_by_organization);
    assert!(view.problems.is_empty());
    assert_eq!(view.settings.len(), SETTINGS.len());
    for s in &view.settings {
        assert_eq!(s.source, SettingSource::Default, "{}", s.key);
        assert!(!s.locked);
    }
    let e = view.effective();
    assert_eq!(e.auto_lock_minutes, 5);
    assert_eq!(e.offline_data_ttl_days, 30);
    assert_eq!(e.consent.initial_months, 3);
    assert_eq!(e.training_mode, TrainingMode::Auto);
    assert!(e.screenshot_protection && !e.remote_wipe);
    assert_eq!(e.identity_modes.len(), 2);
}

#[test]
fn managed_beats_user_beats_recommended_beats_default() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("policies");
    let app = tmp.path().join("app");
    put(&root, "recommended", "10.json", r#"{"autoLockMinutes": 10, "uiLanguage": "en", "trainingMode": "on"}"#);
    put(&root, "managed", "10.json", r#"{"autoLockMinutes": 2}"#);
    let e = engine(&root, Some(&app));

    // The user sets uiLanguage (over the recommended value) and tries autoLockMinutes (locked).
    let view = e.set_user_value("uiLanguage", json!("ja")).unwrap();
    let refused = e.set_user_value("autoLockMinutes", json!(30)).unwrap_err();
    assert!(refused.message_ja.contains("管理者により設定されている"), "{}", refused.message_ja);
    assert!(refused.message_en.contains("administrator"));

    let lock = view.get("autoLockMinutes").unwrap();
    assert_eq!(
        (lock.value.clone(), lock.source, lock.locked, lock.user_editable),
        (SettingValue::Integer(2), SettingSource::Managed, true, false)
    );
    assert!(lock.origin.ends_with("managed/10.json"));
    let log = view.get("uiLanguage").unwrap();
    assert_eq!(
        (log.value.clone(), log.source, log.locked),
        (SettingValue::Text("ja".into()), SettingSource::User, false)
    );
    let training = view.get("trainingMode").unwrap();
    assert_eq!((training.source, training.locked), (SettingSource::Recommended, false));
    assert_eq!(view.get("screenshotProtection").unwrap().source, SettingSource::Default);
    assert!(view.managed_by_organization);

    // The user's value survives a restart (it is in a file), and clearing it falls back.
    let view = engine(&root, Some(&app)).view();
    assert_eq!(view.get("uiLanguage").unwrap().source, SettingSource::User);
    let view = e.clear_user_value("uiLanguage").unwrap();
    assert_eq!(view.get("uiLanguage").unwrap().value, SettingValue::Text("en".into()));

    // Once the administrator locks it, the stored user value no longer applies.
    e.set_user_value("uiLanguage", json!("ja")).unwrap();
    put(&root, "managed", "20.json", r#"{"uiLanguage": "en"}"#);
    let log = e.view().get("uiLanguage").unwrap().clone();
    assert_eq!((log.value, log.locked), (SettingValue::Text("en".into()), true));
}

#[test]
fn invalid_values_are_ignored_and_reported_in_both_languages() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, "recommended", "10.json", r#"{"autoLockMinutes": 7}"#);
    put(
        root,
        "managed",
        "10.json",
        r#"{
            "autoLockMinutes": 0,
            "medicalInstitutionCode": "1312345678",
            "relayUrl": "http://relay.example.jp",
            "allowedIdentityModes": [],
            "uiLanguage": "fr",
            "screenshotProtection": "yes",
            "relayCertificatePins": ["sha1/abc"],
            "enrollmentCode": "short",
            "autolockMinutes": 3
        }"#,
    );
    let view = engine(root, None).view();

    // Out of range at managed: ignored, so the recommended value applies and it is not locked.
    let s = view.get("autoLockMinutes").unwrap();
    assert_eq!((s.value.clone(), s.source, s.locked), (SettingValue::Integer(7), SettingSource::Recommended, false));
    assert_eq!(s.problems.len(), 1);
    assert!(s.problems[0].message_ja.contains("1〜60"), "{}", s.problems[0].message_ja);
    assert!(s.problems[0].message_en.contains("1 to 60"));
    assert_eq!(s.problems[0].severity, Severity::Ignored);

    // Wrong check digit (1312345679 is right).
    let s = view.get("medicalInstitutionCode").unwrap();
    assert_eq!(s.value, SettingValue::Unset);
    assert!(s.problems[0].message_ja.contains("検証番号"), "{}", s.problems[0].message_ja);

    for (key, ja) in [
        ("relayUrl", "https://"),
        ("allowedIdentityModes", "少なくとも1つ"),
        ("uiLanguage", "ja, en"),
        ("screenshotProtection", "真偽値"),
        ("relayCertificatePins", "sha256/"),
        ("enrollmentCode", "登録コード"),
    ] {
        let s = view.get(key).unwrap();
        assert_eq!(s.source, SettingSource::Default, "{key}");
        assert!(!s.locked, "{key}");
        assert_eq!(s.problems.len(), 1, "{key}");
        assert!(s.problems[0].message_ja.contains(ja), "{key}: {}", s.problems[0].message_ja);
        assert!(!s.problems[0].message_en.is_empty());
    }
    // A misspelt key is reported by name.
    assert!(view.problems.iter().any(|p| p.key.as_deref() == Some("autolockMinutes") && p.message_ja.contains("綴り")));
    // The bad file did not stop the good settings (none were good here, but nothing panicked).
    assert!(!view.managed_by_organization);
}

#[test]
fn a_broken_file_is_skipped_and_the_others_still_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, "managed", "10-good.json", r#"{"autoLockMinutes": 4}"#);
    put(root, "managed", "20-broken.json", r#"{"autoLockMinutes": 9"#);
    put(root, "managed", "30-array.json", r#"[1, 2]"#);
    put(root, "managed", "notes.txt", "ignored: not *.json");
    let view = engine(root, None).view();
    assert_eq!(view.get("autoLockMinutes").unwrap().value, SettingValue::Integer(4));
    assert_eq!(view.problems.len(), 2, "{:?}", view.problems);
    assert!(view.problems[0].origin.ends_with("20-broken.json"));
    assert!(view.problems[0].message_ja.contains("JSON"));
    assert!(view.problems[1].message_en.contains("top level"));
}

#[test]
fn later_files_override_earlier_ones_with_a_notice() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, "managed", "10-base.json", r#"{"offlineDataTtlDays": 30, "trainingMode": "off"}"#);
    put(root, "managed", "90-site.json", r#"{"offlineDataTtlDays": 7, "trainingMode": "off"}"#);
    let view = engine(root, None).view();
    let ttl = view.get("offlineDataTtlDays").unwrap();
    assert_eq!(ttl.value, SettingValue::Integer(7));
    assert!(ttl.origin.ends_with("90-site.json"));
    assert_eq!(ttl.problems.len(), 1);
    assert_eq!(ttl.problems[0].severity, Severity::Notice);
    // Same value in both: nothing to report.
    assert!(view.get("trainingMode").unwrap().problems.is_empty());
}

#[test]
fn managed_only_settings_are_refused_as_recommended_and_on_the_device() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("p");
    put(&root, "recommended", "10.json", r#"{"remoteWipe": true, "relayCertificatePins": []}"#);
    let e = engine(&root, Some(tmp.path()));
    let view = e.view();
    let wipe = view.get("remoteWipe").unwrap();
    assert_eq!(wipe.value, SettingValue::Bool(false));
    assert!(wipe.problems[0].message_ja.contains("推奨値としては指定できません"));
    assert!(!view.effective().remote_wipe);
    let r = e.set_user_value("screenshotProtection", json!(false)).unwrap_err();
    assert!(r.message_ja.contains("端末では変更できません"));
    let r = e.set_user_value("autoLockMinutes", json!(99)).unwrap_err();
    assert!(r.message_ja.contains("1〜60"));
    // Nothing was written by the refused changes.
    assert!(!tmp.path().join("user-settings.json").exists());
}

#[test]
fn platform_value_shapes_are_accepted() {
    // Registry DWORDs for booleans, Android comma-separated lists, AppConfig numeric strings.
    let p = PushedManagedConfig::new("Android managed configuration");
    p.set(Some(
        json!({
            "screenshotProtection": 0,
            "allowedIdentityModes": "visual",
            "autoLockMinutes": "15",
            "relayCertificatePins": "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=, sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "enrollmentCode": "hm7q-2k4d-9xwp",
            "medicalInstitutionCode": "1312345679"
        })
        .as_object()
        .unwrap()
        .clone(),
    ));
    let view = PolicyView::resolve(&p.read(), &Default::default());
    assert!(view.settings.iter().all(|s| s.problems.is_empty()), "{:?}", view.settings);
    let e = view.effective();
    assert!(!e.screenshot_protection);
    assert_eq!(e.identity_modes, vec![houmon_model::IdentityMode::Visual]);
    assert_eq!(e.auto_lock_minutes, 15);
    assert_eq!(e.relay_certificate_pins.len(), 2);
    assert_eq!(e.institution_code.as_ref().unwrap().as_str(), "1312345679");
    // The enrollment code is used normalised, but never shown.
    assert_eq!(e.enrollment_code.as_deref(), Some("HM7Q-2K4D-9XWP"));
    assert_eq!(view.get("enrollmentCode").unwrap().value, SettingValue::Text("********".into()));
    assert!(!serde_json::to_string(&view).unwrap().contains("HM7Q"));
    assert!(!format!("{e:?}").contains("HM7Q"));
    assert_eq!(view.origins, vec!["Android managed configuration".to_string()]);
    p.set(None);
    assert!(!PolicyView::resolve(&p.read(), &Default::default()).managed_by_organization);
}

#[test]
fn macos_managed_preferences_are_locked_and_user_scope_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let mut device = plist::Dictionary::new();
    device.insert("autoLockMinutes".into(), plist::Value::Integer(10.into()));
    device.insert("uiLanguage".into(), plist::Value::String("en".into()));
    device.insert("PayloadUUID".into(), plist::Value::String("X".into()));
    plist::Value::Dictionary(device).to_file_binary(tmp.path().join("jp.houmon.app.plist")).unwrap();
    std::fs::create_dir_all(tmp.path().join("nurse1")).unwrap();
    let mut user = plist::Dictionary::new();
    user.insert("autoLockMinutes".into(), plist::Value::Integer(3.into()));
    plist::Value::Dictionary(user).to_file_xml(tmp.path().join("nurse1/jp.houmon.app.plist")).unwrap();

    let src = MacManagedPreferences::new(tmp.path(), Some("nurse1".into()));
    let view = PolicyView::resolve(&src.read(), &Default::default());
    assert!(view.problems.is_empty(), "{:?}", view.problems);
    let s = view.get("autoLockMinutes").unwrap();
    assert_eq!((s.value.clone(), s.locked), (SettingValue::Integer(3), true));
    assert!(s.origin.contains("nurse1"));
    assert_eq!(view.get("uiLanguage").unwrap().value, SettingValue::Text("en".into()));
}

#[test]
fn the_view_serializes_for_the_policy_page() {
    let tmp = tempfile::tempdir().unwrap();
    put(tmp.path(), "managed", "10.json", r#"{"autoLockMinutes": 2, "bogus": 1}"#);
    let view = engine(tmp.path(), None).view();
    let json: serde_json::Value = serde_json::to_value(&view).unwrap();
    assert_eq!(json["managed_by_organization"], true);
    let s = json["settings"].as_array().unwrap().iter().find(|s| s["key"] == "autoLockMinutes").unwrap();
    assert_eq!(s["value"], 2);
    assert_eq!(s["source"], "managed");
    assert_eq!(s["locked"], true);
    assert_eq!(s["title_ja"], "自動ロックまでの時間(分)");
    assert_eq!(json["problems"][0]["key"], "bogus");
    let back: PolicyView = serde_json::from_value(json).unwrap();
    assert_eq!(back.settings.len(), view.settings.len());
}

#[cfg(unix)]
#[test]
fn a_world_writable_policy_file_cannot_lock_anything() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    put(tmp.path(), "managed", "10.json", r#"{"screenshotProtection": false}"#);
    let file = tmp.path().join("managed/10.json");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let view = engine(tmp.path(), None).view();
    let s = view.get("screenshotProtection").unwrap();
    assert_eq!((s.value.clone(), s.locked), (SettingValue::Bool(true), false));
    assert!(view.problems[0].message_ja.contains("0644"), "{:?}", view.problems);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(engine(tmp.path(), None).view().get("screenshotProtection").unwrap().locked);
}
