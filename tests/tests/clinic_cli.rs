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
    // The relay says when each device last caught up (the tablet synced above).
    assert!(tab["lastSync"].as_str().is_some_and(|t| t.starts_with("20")), "last sync shown: {tab}");
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

fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().expect("array").iter().map(|x| x["id"].as_str().expect("id").to_string()).collect()
}

/// Patients and the visit plan from nothing, through the shipped CLI and the real relay: a
/// patient by hand and a Shift_JIS list from the office (a bad list is refused whole, with
/// line numbers), an edit kept in the change history, the end of care, a recurring plan,
/// reassignment and cancellation; a member tablet receives them after a sync and may not
/// change them; the access history names what was done.
#[test]
fn patients_and_the_visit_plan_through_the_cli() {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let founded = create_clinic_json(&db, "さくら在宅クリニック").expect("create-clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let url = relay.base();
    let (office, tablet) = (tmp.path().join("office"), tmp.path().join("tablet"));
    ok(&office, &["enroll", "--relay", &url, "--code", founded["code"].as_str().expect("code")]);
    ok(&office, &["clinic", "set", "--name", "さくら在宅クリニック", "--institution", "3410712362"]);
    let nurse = ok(&office, &["staff", "add", "--name", "訪問 花子", "--kana", "ホウモン ハナコ", "--role", "nurse"]);
    let nurse = nurse["id"].as_str().expect("id").to_string();
    let doctor =
        ok(&office, &["staff", "add", "--name", "在宅 一郎", "--kana", "ザイタク イチロウ", "--role", "doctor"]);
    let doctor = doctor["id"].as_str().expect("id").to_string();
    let clerk = ok(&office, &["staff", "add", "--name", "事務 次郎", "--kana", "ジム ジロウ", "--role", "office"]);
    let clerk = clerk["id"].as_str().expect("id").to_string();

    // By hand, with a 資格確認書 instead of a card.
    let p1 = ok(
        &office,
        &[
            "patient",
            "add",
            "--name",
            "架空 トメ",
            "--kana",
            "カクウ トメ",
            "--birth",
            "1936-05-02",
            "--sex",
            "female",
            "--address",
            "東京都架空区1-1",
            "--phone",
            "03-1111-2222",
            "--key-person",
            "架空 一郎(長男)",
            "--care-manager",
            "介護 花子",
            "--care-office",
            "架空ケアプランセンター",
            "--id-document",
            "certificate",
        ],
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    refused(
        &office,
        &["patient", "add", "--name", "x", "--kana", "kana", "--birth", "1936-05-02", "--sex", "male"],
        "invalid_input",
    );
    refused(
        &office,
        &["patient", "add", "--name", "架空 次郎", "--kana", "カクウ ジロウ", "--birth", "1936-13-02", "--sex", "male"],
        "invalid_input",
    );

    // A list from the office, as Excel on Japanese Windows saves it (Shift_JIS).
    let good = "氏名,カナ,生年月日,性別,住所,電話,キーパーソン,キーパーソン連絡先,ケアマネジャー,居宅介護支援事業所,主治医,本人確認書類\r\n\
                架空 ハル,カクウ ハル,1930/04/01,女,東京都架空区2-2,,,,,,,マイナンバーカード\r\n\
                架空 ナツ,カクウ ナツ,1931-07-07,女,東京都架空区3-3,,,,,,,資格確認書\r\n\
                架空 アキ,カクウ アキ,1932-10-10,男,東京都架空区4-4,,,,,,,\r\n";
    let (sjis, _, lossy) = encoding_rs::SHIFT_JIS.encode(good);
    assert!(!lossy);
    let good_csv = tmp.path().join("patients.csv");
    std::fs::write(&good_csv, &sjis).expect("csv");
    // A list with two bad rows (lines 3 and 4): refused whole, each named by its line.
    let bad = "name,kana,birth,sex\n架空 イチ,カクウ イチ,1940-01-01,男\n架空 ニ,カクウ ニ,1940-02-30,女\n架空 サン,カクウ サン,1940-03-03,?\n";
    let bad_csv = tmp.path().join("bad.csv");
    std::fs::write(&bad_csv, bad).expect("csv");
    let v = refused(&office, &["patient", "import", "--csv", bad_csv.to_str().expect("p")], "csv_invalid");
    let msg = v["message"].as_str().expect("m");
    assert!(msg.contains("3行目") && msg.contains("4行目") && !msg.contains("2行目"), "{v}");
    assert_eq!(ids(&ok(&office, &["patient", "list"]), "patients"), vec![p1.clone()], "nothing half-imported");
    let v = ok(&office, &["patient", "import", "--csv", good_csv.to_str().expect("p")]);
    assert_eq!(v["imported"], 3, "{v}");
    let list = ok(&office, &["patient", "list"]);
    let names: Vec<&str> = list["patients"].as_array().expect("p").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["架空 アキ", "架空 トメ", "架空 ナツ", "架空 ハル"], "by kana: {list}");
    let aki = list["patients"].as_array().expect("p").iter().find(|p| p["name"] == "架空 アキ").expect("aki")["id"]
        .as_str()
        .expect("id")
        .to_string();

    // An edit is kept with its before and after; the rest stays.
    ok(&office, &["patient", "edit", "--id", &p1, "--phone", "03-3333-4444"]);
    let shown = ok(&office, &["patient", "show", "--id", &p1]);
    assert_eq!(shown["patient"]["careOffice"], "架空ケアプランセンター", "{shown}");
    assert_eq!(shown["patient"]["idDocument"], "qualificationCertificate", "{shown}");
    let latest = &shown["history"][0];
    let phone = latest["fields"].as_array().expect("f").iter().find(|f| f["labelJa"] == "電話").expect("phone change");
    assert_eq!((phone["before"].as_str(), phone["after"].as_str()), (Some("03-1111-2222"), Some("03-3333-4444")));
    assert_eq!(latest["fields"].as_array().expect("f").len(), 1, "only the phone changed: {shown}");
    assert_eq!(shown["history"].as_array().expect("h").len(), 2, "registration and edit: {shown}");

    // The end of care keeps the patient, marked; no visit can be planned for them until resumed.
    ok(&office, &["patient", "end", "--id", &aki, "--reason", "hospitalised", "--date", "2026-12-01"]);
    let list = ok(&office, &["patient", "list"]);
    let a = list["patients"].as_array().expect("p").iter().find(|p| p["id"] == aki.as_str()).expect("kept").clone();
    assert_eq!(a["care_ended"], "hospitalised", "{list}");
    let plan_aki = [
        "visit",
        "add",
        "--patient",
        &aki,
        "--staff",
        &nurse,
        "--date",
        "2027-01-05",
        "--start",
        "10:00",
        "--end",
        "10:30",
        "--kind",
        "訪問看護",
    ];
    refused(&office, &plan_aki, "invalid_input");

    // 毎週火・金 10:00–10:30 through January 2027: 9 visits.
    let v = ok(
        &office,
        &[
            "visit",
            "add",
            "--patient",
            &p1,
            "--staff",
            &nurse,
            "--date",
            "2027-01-01",
            "--start",
            "10:00",
            "--end",
            "10:30",
            "--kind",
            "訪問看護",
            "--repeat",
            "weekly:tue,fri",
            "--until",
            "2027-01-31",
        ],
    );
    let series = v["visits"].as_array().expect("visits").clone();
    assert_eq!(series.len(), 9, "{v}");
    assert!(v["series"].is_string(), "{v}");
    // Office staff are not visiting staff.
    refused(
        &office,
        &[
            "visit",
            "add",
            "--patient",
            &p1,
            "--staff",
            &clerk,
            "--date",
            "2027-01-04",
            "--start",
            "09:00",
            "--end",
            "09:30",
            "--kind",
            "訪問診療",
        ],
        "invalid_input",
    );
    refused(
        &office,
        &[
            "visit",
            "add",
            "--patient",
            &p1,
            "--staff",
            &doctor,
            "--date",
            "2027-01-04",
            "--start",
            "09:30",
            "--end",
            "09:00",
            "--kind",
            "訪問診療",
        ],
        "invalid_input",
    );
    let by_nurse = ok(&office, &["visit", "list", "--month", "2027-01", "--staff", &nurse]);
    assert_eq!(by_nurse["visits"].as_array().expect("v").len(), 9);
    let day = ok(&office, &["visit", "list", "--date", "2027-01-05"]);
    let first = &day["visits"][0];
    assert_eq!(
        (first["start"].as_str(), first["end"].as_str(), first["kind"].as_str()),
        (Some("10:00"), Some("10:30"), Some("訪問看護")),
        "{day}"
    );

    // Reassign one to the doctor, cancel another with its reason, move a third to 14:00.
    let (a1, a2, a3) =
        (series[0].as_str().expect("id"), series[1].as_str().expect("id"), series[2].as_str().expect("id"));
    ok(&office, &["visit", "reassign", "--id", a1, "--staff", &doctor]);
    ok(&office, &["visit", "cancel", "--id", a2, "--reason", "入院のため"]);
    ok(&office, &["visit", "edit", "--id", a3, "--start", "14:00", "--end", "14:30"]);
    let by_nurse = ok(&office, &["visit", "list", "--month", "2027-01", "--staff", &nurse]);
    assert_eq!(by_nurse["visits"].as_array().expect("v").len(), 8, "reassigned away: {by_nurse}");
    let by_doctor = ok(&office, &["visit", "list", "--month", "2027-01", "--staff", &doctor]);
    assert_eq!(ids(&by_doctor, "visits"), vec![a1.to_string()]);
    let all = ok(&office, &["visit", "list", "--month", "2027-01", "--patient", &p1]);
    let find = |id: &str| all["visits"].as_array().expect("v").iter().find(|v| v["id"] == id).cloned().expect("kept");
    assert_eq!(find(a2)["status"], "cancelled", "cancelled visits stay listed");
    assert_eq!(find(a3)["start"], "14:00");

    // A member tablet receives patients and the plan, and may not change them.
    let code = ok(&office, &["code", "create", "--role", "member"])["code"].as_str().expect("c").to_string();
    ok(&tablet, &["enroll", "--relay", &url, "--code", &code, "--label", "タブレット1"]);
    ok(&tablet, &["sync"]);
    assert_eq!(ok(&tablet, &["patient", "list"])["patients"].as_array().expect("p").len(), 4);
    let seen = ok(&tablet, &["visit", "list", "--date", "2027-01-05", "--staff", &nurse]);
    assert_eq!(seen["visits"][0]["start"], "10:00", "{seen}");
    let seen = ok(&tablet, &["visit", "list", "--month", "2027-01", "--staff", &doctor]);
    assert_eq!(ids(&seen, "visits"), vec![a1.to_string()], "the reassignment arrived: {seen}");
    refused(
        &tablet,
        &["patient", "add", "--name", "侵入 者", "--kana", "シンニュウ シャ", "--birth", "1950-01-01", "--sex", "male"],
        "not_admin",
    );
    refused(&tablet, &["visit", "cancel", "--id", a1, "--reason", "x"], "not_admin");

    // The access history says what happened to the patient, in Japanese.
    let audit = ok(&office, &["audit", "list", "--patient", &p1]);
    let details: Vec<&str> =
        audit["rows"].as_array().expect("rows").iter().filter_map(|r| r["detailJa"].as_str()).collect();
    assert!(details.contains(&"患者の登録") && details.contains(&"患者情報の変更"), "{audit}");
}

/// The access history leaves the tablet: a chart viewed on a member device reaches the admin
/// device's clinic-wide history with the staff and patient names, and stays there after the
/// tablet is revoked and wiped; it exports as CSV.
#[test]
fn a_tablets_access_history_reaches_the_back_office_and_outlives_its_wipe() {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let founded = create_clinic_json(&db, "さくら在宅クリニック").expect("create-clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let url = relay.base();
    let (office, tablet) = (tmp.path().join("office"), tmp.path().join("tablet"));
    ok(&office, &["enroll", "--relay", &url, "--code", founded["code"].as_str().expect("code")]);
    ok(&office, &["clinic", "set", "--name", "さくら在宅クリニック", "--institution", "3410712362"]);
    let p = ok(
        &office,
        &["patient", "add", "--name", "架空 ユキ", "--kana", "カクウ ユキ", "--birth", "1935-01-15", "--sex", "female"],
    );
    let p = p["id"].as_str().expect("id").to_string();
    let code = ok(&office, &["code", "create", "--role", "member"])["code"].as_str().expect("c").to_string();
    let tab = ok(&tablet, &["enroll", "--relay", &url, "--code", &code, "--label", "タブレット1"]);
    let tab_id = tab["device"].as_str().expect("device").to_string();
    ok(&tablet, &["sync"]);
    // A person on the tablet opens the patient's details (a view, audited there).
    ok(&tablet, &["patient", "show", "--id", &p]);
    ok(&tablet, &["sync"]);
    ok(&office, &["sync"]);
    let from_tablet = |v: &Value| -> Vec<Value> {
        v["rows"].as_array().expect("rows").iter().filter(|r| r["device"] == tab_id.as_str()).cloned().collect()
    };
    let audit = ok(&office, &["audit", "list", "--patient", &p]);
    let rows = from_tablet(&audit);
    let view = rows
        .iter()
        .find(|r| r["detail"] == "open chart")
        .unwrap_or_else(|| panic!("the tablet's view arrived: {audit}"));
    assert_eq!(
        (view["patientName"].as_str(), view["detailJa"].as_str()),
        (Some("架空 ユキ"), Some("カルテの閲覧")),
        "{view}"
    );
    // Control: the filter is real (another patient's history holds none of it).
    let other = ok(
        &office,
        &[
            "patient",
            "add",
            "--name",
            "架空 ミゾレ",
            "--kana",
            "カクウ ミゾレ",
            "--birth",
            "1935-02-15",
            "--sex",
            "female",
        ],
    );
    let none = ok(&office, &["audit", "list", "--patient", other["id"].as_str().expect("id")]);
    assert!(from_tablet(&none).is_empty(), "{none}");

    // Revoked: the tablet wipes itself; its history stays at the back office.
    let revoked = ok(&office, &["device", "list"]);
    let tab_hex =
        revoked["devices"].as_array().expect("d").iter().find(|d| d["label"] == "タブレット1").expect("listed")["id"]
            .as_str()
            .expect("id")
            .to_string();
    ok(&office, &["device", "revoke", "--id", &tab_hex]);
    refused(&tablet, &["sync"], "revoked");
    let after = ok(&office, &["audit", "list", "--patient", &p]);
    assert!(from_tablet(&after).iter().any(|r| r["detail"] == "open chart"), "kept after the wipe: {after}");
    // CSV for the office: a header in Japanese and the tablet's row with the patient's name.
    let out = tmp.path().join("audit.csv");
    let v = ok(&office, &["audit", "export", "--csv", out.to_str().expect("p"), "--patient", &p]);
    let text = std::fs::read_to_string(&out).expect("csv");
    assert_eq!(v["bytes"].as_u64(), Some(text.len() as u64));
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(rdr.headers().expect("header").get(0), Some("日時"));
    let records: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
    assert!(records.iter().any(|r| r.get(2) == Some("架空 ユキ") && r.get(6) == Some(tab_id.as_str())), "{text}");
}
