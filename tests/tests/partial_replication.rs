//! Partial replication (部分同期) through what users have: the office sets up a clinic of 1,000
//! patients with `houmon-clinic` against the real relay binary; the tablet is the app's own
//! managed device (policy file, enrollment code, sync runner, the lock screen's use cases). A
//! nurse with 5 patients this fortnight holds 5 charts, not 1,000, and a visit reassigned to her
//! brings its chart at the next sync; a patient handed away leaves the tablet, unless someone
//! worked on that chart there this week. Control: the office (admin device) holds them all.

use houmon_policy::{LinuxPolicyDir, PolicySource};
use houmon_tablet::device::{Mode, ServiceCell};
use houmon_tablet::service::{CardSource, ServiceOptions};
use houmon_tests::bench_sync::{RelayProc, clinic_bin, create_clinic_json};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::{Condvar, Mutex};

fn ok(data: &Path, args: &[&str]) -> Value {
    let out = Command::new(clinic_bin())
        .arg("--data")
        .arg(data)
        .arg("--key-file-fallback")
        .args(args)
        .output()
        .expect("run houmon-clinic");
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert!(out.status.success() && v.get("error").is_none(), "{args:?}: {v}");
    v
}

fn charts(cell: &ServiceCell) -> usize {
    let mut g = houmon_model::lock(cell);
    let svc = g.as_mut().expect("service").as_mut().expect("open");
    let ids = svc.store_mut().document_ids().expect("ids");
    ids.iter().filter(|(id, _)| id.starts_with("chart:")).count()
}

#[test]
fn a_tablet_holds_its_nurses_charts_and_a_reassignment_brings_one_more() {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let founded = create_clinic_json(&db, "架空在宅クリニック").expect("clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let url = relay.base();
    let office = tmp.path().join("office");
    ok(&office, &["enroll", "--relay", &url, "--code", founded["code"].as_str().expect("code")]);
    ok(&office, &["clinic", "set", "--name", "架空在宅クリニック", "--institution", "3410712362"]);
    let nurse = ok(&office, &["staff", "add", "--name", "訪問 花子", "--kana", "ホウモン ハナコ", "--role", "nurse"]);
    let (nurse_id, setup) =
        (nurse["id"].as_str().expect("id").to_string(), nurse["setup"]["code"].as_str().expect("code").to_string());
    let other = ok(&office, &["staff", "add", "--name", "訪問 次郎", "--kana", "ホウモン ジロウ", "--role", "nurse"]);
    let other_id = other["id"].as_str().expect("id").to_string();

    // 1,000 patients from the office's list.
    let mut csv = String::from("name,kana,birth,sex\n");
    for i in 0..1000 {
        csv.push_str(&format!(
            "架空 患者{i},カクウ カンジャ,19{:02}-04-01,{}\n",
            20 + i % 40,
            if i % 2 == 0 { "女" } else { "男" }
        ));
    }
    let file = tmp.path().join("patients.csv");
    std::fs::write(&file, csv).expect("csv");
    assert_eq!(ok(&office, &["patient", "import", "--csv", file.to_str().expect("p")])["imported"], 1000);
    let list = ok(&office, &["patient", "list"]);
    let ids: Vec<String> =
        list["patients"].as_array().expect("p").iter().map(|p| p["id"].as_str().expect("id").to_string()).collect();

    // This fortnight: 5 patients for the nurse (two visits for one of them), 10 for the other,
    // and one of the nurse's patients again far outside the window.
    let today = houmon_model::jst_date(&chrono::Utc::now());
    let day = |d: i64| (today + chrono::Duration::days(d)).to_string();
    let plan = |patient: &str, staff: &str, date: &str| {
        let v = ok(
            &office,
            &[
                "visit",
                "add",
                "--patient",
                patient,
                "--staff",
                staff,
                "--date",
                date,
                "--start",
                "10:00",
                "--end",
                "10:30",
                "--kind",
                "訪問看護",
            ],
        );
        v["visits"][0].as_str().expect("visit").to_string()
    };
    for (i, p) in ids[..5].iter().enumerate() {
        plan(p, &nurse_id, &day(i as i64 * 2));
    }
    plan(&ids[0], &nurse_id, &day(3));
    let mut others = Vec::new();
    for p in &ids[5..15] {
        others.push(plan(p, &other_id, &day(1)));
    }
    plan(&ids[20], &nurse_id, &day(60));

    // The tablet: enrolled by its managed policy, then the nurse chooses her PIN on it.
    let code = ok(&office, &["code", "create", "--role", "member"])["code"].as_str().expect("code").to_string();
    let policies = tmp.path().join("policies");
    std::fs::create_dir_all(policies.join("managed")).expect("dir");
    std::fs::write(
        policies.join("managed/houmon.json"),
        json!({"relayUrl": url, "trainingMode": "off", "enrollmentCode": code}).to_string(),
    )
    .expect("policy");
    let opts =
        ServiceOptions { data_dir: tmp.path().join("app"), card: CardSource::TrainingOnly, ..Default::default() };
    let sources: Vec<Box<dyn PolicySource>> = vec![Box::new(LinuxPolicyDir::new(&policies))];
    let Mode::Managed(dev) = Mode::decide(&opts, sources).expect("decide") else { panic!("a managed device") };
    let (cell, ready): (ServiceCell, Condvar) = (Mutex::new(None), Condvar::new());
    dev.step(&cell, &ready);
    dev.step(&cell, &ready);
    assert_eq!(charts(&cell), 0, "nobody uses the tablet yet: the clinic and the plan only");
    {
        let mut g = houmon_model::lock(&cell);
        let svc = g.as_mut().expect("service").as_mut().expect("open");
        svc.refresh_after_sync();
        svc.choose_staff_pin(&nurse_id, setup, "482913".into()).expect("PIN chosen");
    }
    dev.step(&cell, &ready);
    assert_eq!(charts(&cell), 5, "the nurse's five patients this fortnight, not 1,000");
    let today_rows = {
        let mut g = houmon_model::lock(&cell);
        g.as_mut().expect("s").as_mut().expect("open").todays_visits().expect("today")
    };
    assert!(today_rows.iter().all(|r| r.patient_name.starts_with("架空 患者")), "names from the synced charts");

    // A visit of the other nurse is handed to her: its chart arrives at the next sync.
    ok(&office, &["visit", "reassign", "--id", &others[0], "--staff", &nurse_id]);
    dev.step(&cell, &ready);
    assert_eq!(charts(&cell), 6, "the reassigned visit's chart came over");

    // A patient handed to the other nurse leaves the tablet at the next sync.
    let visit_of = |p: &str, d: i64| {
        let v = ok(&office, &["visit", "list", "--month", &day(d)[..7], "--patient", p]);
        v["visits"][0]["id"].as_str().expect("visit").to_string()
    };
    let gone = visit_of(&ids[3], 6);
    ok(&office, &["visit", "reassign", "--id", &gone, "--staff", &other_id]);
    dev.step(&cell, &ready);
    assert_eq!(charts(&cell), 5, "the chart left the tablet");
    // One she worked on here stays (she may still need it), and what she wrote reached the
    // office before anything else happened to it.
    let kept = ids[4].clone();
    {
        let mut g = houmon_model::lock(&cell);
        let svc = g.as_mut().expect("s").as_mut().expect("open");
        let mut p = svc.patient_detail(&kept).expect("detail").patient;
        p.phone = "03-9999-0000".into();
        svc.save_patient(&p).expect("edited on the tablet");
    }
    ok(&office, &["visit", "reassign", "--id", &visit_of(&kept, 8), "--staff", &other_id]);
    dev.step(&cell, &ready);
    assert_eq!(charts(&cell), 5, "a chart used on this tablet this week stays");
    ok(&office, &["sync"]);
    let shown = ok(&office, &["patient", "show", "--id", &kept]);
    assert_eq!(shown["patient"]["phone"], "03-9999-0000", "the tablet's edit arrived: {shown}");

    // Control: the admin device holds every chart (the rule is the tablet's, not the relay's).
    let office_count = ok(&office, &["patient", "list"])["patients"].as_array().map(Vec::len);
    assert_eq!(office_count, Some(1000));
}
