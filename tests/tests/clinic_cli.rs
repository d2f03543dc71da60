//! Founding a clinic through what a user has: the real `houmon-relay` binary on loopback and
//! the real `houmon-clinic` binary on its own data directories. The operator creates the clinic
//! (a founding code); the first device enrolls with it and becomes the admin device, sets the
//! clinic and issues a code that carries the content key; a second device enrolls with that
//! code and, after a sync, shows the same clinic. A keyless code for a founded clinic is
//! refused (at the relay's CLI and at enrollment), never a second key. Revocation marks the
//! device in the clinic document and the relay refuses it.

use houmon_tests::bench_sync::{RelayProc, clinic_bin, create_clinic_json, relay_admin};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `houmon-clinic --data DIR --key-file-fallback ARGS…`: (exit status, the one JSON object).
fn clinic(data: &Path, args: &[&str]) -> (i32, Value) {
    clinic_with(data, true, args)
}

fn clinic_with(data: &Path, fallback: bool, args: &[&str]) -> (i32, Value) {
    let mut c = Command::new(clinic_bin());
    c.arg("--data").arg(data);
    if fallback {
        c.arg("--key-file-fallback");
    }
    let out = c.args(args).output().expect("run houmon-clinic");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!("not exactly one JSON object ({e}): {text:?}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), v)
}

fn ok(data: &Path, args: &[&str]) -> Value {
    let (rc, v) = clinic(data, args);
    assert_eq!(rc, 0, "{args:?}: {v}");
    assert!(v.get("error").is_none(), "{v}");
    v
}

fn refused(data: &Path, args: &[&str], code: &str) -> Value {
    let (rc, v) = clinic(data, args);
    assert_eq!((rc, v["error"].as_str()), (1, Some(code)), "{args:?}: {v}");
    assert!(!v["message"].as_str().expect("ja").is_ascii(), "a Japanese message: {v}");
    assert!(v["message_en"].as_str().expect("en").is_ascii(), "{v}");
    v
}

fn admin_json(db: &Path, args: &[&str]) -> (bool, Value) {
    let (ok, out) = match relay_admin(db, args) {
        Ok(o) => (true, o),
        Err(o) => (false, o),
    };
    (ok, serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not one JSON object ({e}): {out:?}")))
}

#[test]
fn founding_enrolling_a_second_device_keyless_refusal_and_revocation_through_the_clis() {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let founded = create_clinic_json(&db, "さくら在宅クリニック").expect("create-clinic");
    let (clinic_id, founding) = (founded["clinic"].as_str().expect("clinic"), founded["code"].as_str().expect("code"));
    // A spare founding code, issued before anyone enrolled (allowed while the clinic is empty).
    let (made, spare) = admin_json(&db, &["create-code", "--clinic", clinic_id]);
    assert!(made, "{spare}");
    let spare = spare["code"].as_str().expect("code").to_string();
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let url = relay.base();
    let (office, tablet, late) = (tmp.path().join("office"), tmp.path().join("tablet"), tmp.path().join("late"));

    // Without an OS keystore the key would sit in a file: refused unless asked for.
    let bogus = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG";
    let (rc, v) = clinic_with(&tmp.path().join("probe"), false, &["enroll", "--relay", &url, "--code", bogus]);
    if v["error"] == "no_keystore" {
        assert_eq!(rc, 1);
        assert!(v["message"].as_str().unwrap_or_default().contains("--key-file-fallback"), "{v}");
        assert!(!tmp.path().join("probe/device.json").exists(), "nothing enrolled: {v}");
    } else {
        // With an OS keystore the bogus code reaches the relay and is refused there.
        assert_eq!((rc, v["error"].as_str()), (1, Some("code_rejected")), "{v}");
        eprintln!("this machine has an OS keystore; the refusal without one is not exercised");
    }

    // The founding code makes the first device the clinic's admin device.
    let v = ok(&office, &["enroll", "--relay", &url, "--code", founding, "--label", "事務所PC"]);
    assert_eq!((v["role"].as_str(), v["clinic"].as_str()), (Some("admin"), Some(clinic_id)), "{v}");
    assert_eq!(v["key_storage"], "file", "the file fallback is said: {v}");
    // The 医療機関コード is checked with its check digit before anything is written.
    refused(
        &office,
        &["clinic", "set", "--name", "さくら在宅クリニック", "--institution", "3410712363"],
        "invalid_institution_code",
    );
    let v = ok(
        &office,
        &[
            "clinic",
            "set",
            "--name",
            "さくら在宅クリニック",
            "--institution",
            "3410712362",
            "--address",
            "東京都架空区1-2-3",
            "--phone",
            "03-0000-0000",
        ],
    );
    assert_eq!((v["name"].as_str(), v["institution"].as_str()), (Some("さくら在宅クリニック"), Some("3410712362")));

    // A keyless code into the founded clinic: the relay's CLI issues none, and the spare
    // founding code is refused at enrollment with the next step.
    let (made, v) = admin_json(&db, &["create-code", "--clinic", clinic_id]);
    assert!(!made && v["error"] == "clinic_founded", "{v}");
    let v = refused(&late, &["enroll", "--relay", &url, "--code", &spare], "keyless_code");
    assert!(v["message"].as_str().unwrap_or_default().contains("管理用端末"), "{v}");
    // Control: the same kind of code on a fresh clinic founds it.
    let other = create_clinic_json(&db, "別の診療所").expect("clinic 2");
    let v = ok(&tmp.path().join("other"), &["enroll", "--relay", &url, "--code", other["code"].as_str().expect("c")]);
    assert_eq!(v["role"], "admin");

    // The admin device's code carries the key: the tablet reads the clinic after a sync.
    let code =
        ok(&office, &["code", "create", "--role", "member", "--hours", "2"])["code"].as_str().expect("c").to_string();
    let v = ok(&tablet, &["enroll", "--relay", &url, "--code", &code, "--label", "タブレット1"]);
    assert_eq!(v["role"], "member");
    let v = ok(&tablet, &["sync"]);
    assert_eq!(v["state"], "online", "{v}");
    let v = ok(&tablet, &["clinic", "show"]);
    assert_eq!(
        (v["name"].as_str(), v["address"].as_str()),
        (Some("さくら在宅クリニック"), Some("東京都架空区1-2-3")),
        "{v}"
    );
    // A member device may not issue codes, set the clinic or revoke.
    refused(&tablet, &["code", "create", "--role", "member"], "not_admin");
    refused(&tablet, &["clinic", "set", "--name", "x", "--institution", "3410712362"], "not_admin");
    refused(&tablet, &["device", "revoke", "--id", &"0".repeat(32)], "not_admin");

    // Revocation: at the relay and marked in the clinic document.
    let devices = ok(&office, &["device", "list"]);
    let list = devices["devices"].as_array().expect("devices");
    assert_eq!(list.len(), 2, "{devices}");
    let tab = list.iter().find(|d| d["label"] == "タブレット1").expect("tablet listed");
    let tab_id = tab["id"].as_str().expect("id").to_string();
    assert_eq!((tab["role"].as_str(), tab["revoked"].as_bool()), (Some("member"), Some(false)));
    let v = ok(&office, &["device", "revoke", "--id", &tab_id]);
    assert_eq!(v["revoked"]["revoked"], true, "{v}");
    let shown = ok(&office, &["clinic", "show"]);
    let marked = shown["devices"].as_array().expect("listed").iter().find(|d| d["id"] == tab_id.as_str()).cloned();
    assert_eq!(marked.map(|d| d["revoked"].clone()), Some(Value::Bool(true)), "marked in the clinic document: {shown}");
    let (_, at_relay) = admin_json(&db, &["devices", "--clinic", clinic_id]);
    assert!(
        at_relay["devices"].as_array().expect("l").iter().any(|d| d["id"] == tab_id.as_str() && d["revoked"] == true)
    );
    // The revoked tablet is refused at its next contact, and its data and keys are erased.
    refused(&tablet, &["sync"], "revoked");
    let left: Vec<String> = std::fs::read_dir(&tablet)
        .expect("dir")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["device.json".to_string()], "data and keys erased");
    // The admin device still syncs.
    assert_eq!(ok(&office, &["sync"])["state"], "online");
}

#[test]
fn staff_are_added_edited_and_reset_through_the_cli_with_one_time_codes_never_pins() {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let founded = create_clinic_json(&db, "さくら在宅クリニック").expect("create-clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let url = relay.base();
    let (office, tablet) = (tmp.path().join("office"), tmp.path().join("tablet"));
    ok(&office, &["enroll", "--relay", &url, "--code", founded["code"].as_str().expect("code")]);
    ok(&office, &["clinic", "set", "--name", "さくら在宅クリニック", "--institution", "3410712362"]);

    // The reading must be katakana; nothing is written otherwise.
    refused(&office, &["staff", "add", "--name", "訪問 花子", "--kana", "houmon", "--role", "nurse"], "invalid_input");
    let v = ok(
        &office,
        &[
            "staff",
            "add",
            "--name",
            "訪問 花子",
            "--kana",
            "ホウモン ハナコ",
            "--role",
            "nurse",
            "--qualifications",
            "認定看護師",
        ],
    );
    let id = v["id"].as_str().expect("id").to_string();
    let code = v["setup"]["code"].as_str().expect("a one-time set-up code").to_string();
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX: {v}");
    assert!(v["setup"]["validUntil"].as_str().is_some(), "{v}");
    let listed = ok(&office, &["staff", "list"]);
    let nurse =
        listed["staff"].as_array().expect("staff").iter().find(|s| s["id"] == id.as_str()).cloned().expect("listed");
    assert_eq!((nurse["kana"].as_str(), nurse["role"].as_str()), (Some("ホウモン ハナコ"), Some("nurse")), "{listed}");
    // Deactivate (退職): kept, marked.
    let v = ok(&office, &["staff", "edit", "--id", &id, "--active", "false"]);
    assert!(v["setup"].is_null(), "an edit issues no code: {v}");
    let listed = ok(&office, &["staff", "list"]);
    let nurse =
        listed["staff"].as_array().expect("staff").iter().find(|s| s["id"] == id.as_str()).cloned().expect("kept");
    assert_eq!((nurse["active"].as_bool(), nurse["name"].as_str()), (Some(false), Some("訪問 花子")), "{listed}");
    // A reset gives a new code; the old one is void.
    let reset = ok(&office, &["staff", "reset-pin", "--id", &id]);
    let new_code = reset["code"].as_str().expect("code").to_string();
    assert_ne!(new_code, code);

    // A member device sees the staff after a sync, and may not manage them.
    let member_code = ok(&office, &["code", "create", "--role", "member"])["code"].as_str().expect("c").to_string();
    ok(&tablet, &["enroll", "--relay", &url, "--code", &member_code, "--label", "タブレット1"]);
    ok(&tablet, &["sync"]);
    let seen = ok(&tablet, &["staff", "list"]);
    assert!(seen["staff"].as_array().expect("staff").iter().any(|s| s["id"] == id.as_str()), "{seen}");
    refused(
        &tablet,
        &["staff", "add", "--name", "侵入 者", "--kana", "シンニュウ シャ", "--role", "admin"],
        "not_admin",
    );
    refused(&tablet, &["staff", "reset-pin", "--id", &id], "not_admin");

    // The codes are shown once and stored nowhere in the clear: not at the relay, not in
    // either data directory (only a verifier of the code syncs, never a PIN).
    let mut files = vec![houmon_tests::bench_sync::relay_db_files(&db)];
    for dir in [&office, &tablet] {
        for e in walk(dir) {
            files.push(std::fs::read(e).unwrap_or_default());
        }
    }
    for c in [&code, &new_code] {
        for form in [c.clone(), c.replace('-', "")] {
            assert!(files.iter().all(|f| !contains(f, form.as_bytes())), "set-up code {form} found on disk");
        }
    }
    // Control: the scan finds what is there (the relay stores the clinic's id in the clear).
    let clinic_id = founded["clinic"].as_str().expect("clinic");
    assert!(files.iter().any(|f| contains(f, clinic_id.as_bytes()) || contains(f, &hex_to_bytes(clinic_id))));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn hex_to_bytes(h: &str) -> Vec<u8> {
    (0..h.len() / 2).filter_map(|i| u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}
