use super::*;
use chrono::{NaiveTime, TimeZone};
use houmon_keys::FileFallback;

pub fn actor() -> Actor {
    Actor { staff: StaffId::new(), device: DeviceId::new() }
}

fn body(s: &str) -> SoapNote {
    SoapNote { subjective: s.into(), objective: "O".into(), assessment: "A".into(), plan: "P".into() }
}

fn fixed_clock(store: &mut Store) {
    store.set_clock(|| Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap());
}

fn demo(name: &str) -> Demographics {
    Demographics {
        name: name.into(),
        name_kana: "シケン".into(),
        birth_date: NaiveDate::from_ymd_opt(1940, 4, 1),
        sex: "2".into(),
        address: "東京都".into(),
    }
}

#[test]
fn everything_acknowledged_is_there_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = actor();
    let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let (p, visit, note) = {
        let mut s = Store::open(dir.path(), &FileFallback).unwrap();
        fixed_clock(&mut s);
        assert_eq!(s.key_protection(), &KeyProtection::FileFallback);
        s.init_clinic(&a, ClinicId::new(), "試験クリニック", "1312345678").unwrap();
        let p = s.register_patient(&a, &demo("試験 花子")).unwrap();
        let visit = VisitId::new();
        s.plan_visit(
            &a,
            &RosterVisit {
                id: visit,
                date: today,
                start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                end: NaiveTime::from_hms_opt(10, 30, 0).unwrap(),
                patient: p,
                staff: vec![a.staff],
                kind: VisitKind::HomeNursing,
                status: VisitStatus::Planned,
                cancel_reason: String::new(),
                series: None,
            },
        )
        .unwrap();
        s.start_visit(&a, p, visit, VisitKind::HomeNursing).unwrap();
        s.record_vitals(&a, p, visit, &Vitals { pulse: Some(70), ..Default::default() }).unwrap();
        let note = s.save_note(&a, p, visit, None, &body("下書き")).unwrap();
        s.sign_note(&a, p, note).unwrap();
        (p, visit, note)
    };
    let mut s = Store::open(dir.path(), &FileFallback).unwrap();
    assert_eq!(s.schema_version().unwrap(), schema::CURRENT_VERSION);
    let list = s.patient_list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "試験 花子");
    let today_rows = s.todays_roster(a.staff, today).unwrap();
    assert_eq!(today_rows.len(), 1);
    assert_eq!(today_rows[0].patient_name, "試験 花子");
    assert_eq!(today_rows[0].status, VisitStatus::InProgress);
    assert!(s.todays_roster(StaffId::new(), today).unwrap().is_empty());
    let chart = s.open_chart(&a, p).unwrap();
    assert_eq!(chart.visits[0].id, visit);
    assert_eq!(chart.visits[0].vitals.pulse, Some(70));
    assert_eq!(chart.note(note).unwrap().status, NoteStatus::Signed);
    // Signed stays signed through the store too.
    assert!(matches!(s.save_note(&a, p, visit, Some(note), &body("x")), Err(CoreError::NoteSigned)));
    s.check_integrity().unwrap();
    let v = s.verify_audit().unwrap();
    assert!(v.ok(), "{v:?}");
    assert!(s.recent_audit(50).unwrap().iter().any(|e| e.action == "view"));
}

#[test]
fn failed_use_case_changes_nothing_and_store_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let a = actor();
    let mut s = Store::open(dir.path(), &FileFallback).unwrap();
    let p = s.register_patient(&a, &demo("A")).unwrap();
    let v = VisitId::new();
    s.start_visit(&a, p, v, VisitKind::HomeMedical).unwrap();
    let before = s.recent_audit(100).unwrap().len();
    let err = s.record_vitals(&a, p, v, &Vitals { pulse: Some(900), ..Default::default() });
    assert!(err.is_err());
    assert!(matches!(s.save_note(&a, PatientId::new(), v, None, &body("x")), Err(CoreError::NotFound { .. })));
    assert_eq!(s.recent_audit(100).unwrap().len(), before, "nothing recorded for a refused edit");
    s.save_note(&a, p, v, None, &body("ok")).unwrap();
}

#[test]
fn wrong_key_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(dir.path(), &FileFallback).unwrap();
        s.register_patient(&actor(), &demo("A")).unwrap();
    }
    // Replace the wrapped key with another random key.
    let path = dir.path().join(houmon_keys::KEY_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["wrapped_hex"] = hex::encode(houmon_keys::DataKey::random().unwrap().as_bytes()).into();
    std::fs::write(&path, v.to_string()).unwrap();
    let err = Store::open(dir.path(), &FileFallback).unwrap_err();
    assert!(matches!(err, CoreError::WrongKey), "{err:?}");
    assert!(err.user_message().ja.contains("管理者"));
}

#[test]
fn increments_are_compacted_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let a = actor();
    let opts = StoreOptions { compaction_min_bytes: 4 * 1024, cached_docs: 2, ..StoreOptions::default() };
    let mut notes = Vec::new();
    let p;
    {
        let mut s = Store::open_with(dir.path(), &FileFallback, opts.clone()).unwrap();
        p = s.register_patient(&a, &demo("A")).unwrap();
        let v = VisitId::new();
        s.start_visit(&a, p, v, VisitKind::HomeNursing).unwrap();
        for i in 0..60 {
            let n = s.save_note(&a, p, v, None, &body(&format!("note {i} {}", "x".repeat(300)))).unwrap();
            notes.push(n);
            if i % 7 == 0 {
                // Evict the chart so the next save reloads it from disk: the load-cursor
                // pitfall would show up here as duplicated history.
                s.clear_cache();
            }
        }
        let (rows, snap): (i64, i64) = s
            .conn
            .query_row(
                "SELECT (SELECT count(*) FROM changes), (SELECT snapshot_bytes FROM documents WHERE doc_id = ?1)",
                [chart_doc_id(p)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(snap > 0, "compacted into a snapshot");
        assert!(rows < 60, "increments were folded into the snapshot ({rows} rows left)");
        // Each increment row holds only its own change, never the whole history.
        let max_row: i64 =
            s.conn.query_row("SELECT coalesce(max(length(bytes)), 0) FROM changes", [], |r| r.get(0)).unwrap();
        assert!(max_row < 2_000, "largest increment {max_row} bytes");
    }
    let mut s = Store::open_with(dir.path(), &FileFallback, opts).unwrap();
    let chart = s.open_chart(&a, p).unwrap();
    for n in &notes {
        assert!(chart.note(*n).is_some());
    }
    assert_eq!(chart.notes.len(), 60);
}

#[test]
fn migrates_a_version_1_store() {
    let dir = tempfile::tempdir().unwrap();
    let p = PatientId::new();
    {
        let (mut conn, _) = open_encrypted(dir.path(), &FileFallback).unwrap();
        schema::migrate_to(&mut conn, 1).unwrap();
        assert_eq!(schema::version(&conn).unwrap(), 1);
        let mut chart = ChartDoc::create(p).unwrap();
        chart.set_demographics(&demo("旧版 太郎"), Utc::now()).unwrap();
        let snap = chart.automerge().save();
        conn.execute(
            "INSERT INTO documents(doc_id, kind, snapshot, snapshot_bytes) VALUES (?1, 'chart', ?2, ?3)",
            params![chart_doc_id(p), snap, snap.len() as i64],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO patients(patient_id, name, kana) VALUES (?1, '旧版 太郎', 'キュウハン')",
            [p.to_string()],
        )
        .unwrap();
    }
    let a = actor();
    let mut s = Store::open(dir.path(), &FileFallback).unwrap();
    assert_eq!(s.schema_version().unwrap(), schema::CURRENT_VERSION);
    assert_eq!(s.patient_list().unwrap()[0].name, "旧版 太郎");
    assert_eq!(s.open_chart(&a, p).unwrap().demographics.name, "旧版 太郎");
    assert!(s.verify_audit().unwrap().ok());
}

#[test]
fn audit_verify_detects_changed_removed_and_truncated_entries() {
    let dir = tempfile::tempdir().unwrap();
    let a = actor();
    let mut s = Store::open(dir.path(), &FileFallback).unwrap();
    let p = s.register_patient(&a, &demo("A")).unwrap();
    for _ in 0..5 {
        s.open_chart(&a, p).unwrap();
    }
    let v = s.verify_audit().unwrap();
    assert!(v.ok());
    assert_eq!(v.entries, 6);
    // Append-only even through SQL.
    let c = &mut s.conn;
    assert!(c.execute("UPDATE audit_log SET action = 'edit' WHERE seq = 2", []).is_err());
    assert!(c.execute("DELETE FROM audit_log WHERE seq = 2", []).is_err());
    // An attacker with the key drops the triggers and edits anyway.
    c.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;").unwrap();
    c.execute("UPDATE audit_log SET target = 'chart:other' WHERE seq = 3", []).unwrap();
    let v = s.verify_audit().unwrap();
    assert_eq!(v.problems, vec![audit::AuditProblem::Changed { seq: 3 }]);
    s.conn.execute("DELETE FROM audit_log WHERE seq = 4", []).unwrap();
    let v = s.verify_audit().unwrap();
    assert!(v.problems.contains(&audit::AuditProblem::Removed { seq: 5 }), "{v:?}");
    s.conn.execute("DELETE FROM audit_log WHERE seq = 6", []).unwrap();
    let v = s.verify_audit().unwrap();
    assert!(v.problems.contains(&audit::AuditProblem::Truncated { expected_last: 6, found_last: 5 }), "{v:?}");
}

#[test]
fn two_devices_sync_through_the_seam_and_conflicts_surface() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (actor(), actor());
    let mut sa = Store::open(da.path(), &FileFallback).unwrap();
    let mut sb = Store::open(db.path(), &FileFallback).unwrap();
    let p = sa.register_patient(&a, &demo("A")).unwrap();
    let v = VisitId::new();
    sa.start_visit(&a, p, v, VisitKind::HomeNursing).unwrap();
    let id = chart_doc_id(p);
    let all = sa.changes_since(&id, &[]).unwrap();
    sb.apply_remote(&b, &id, DocKind::Chart, &all).unwrap();
    assert_eq!(sb.patient_list().unwrap()[0].name, "A", "projection refreshed");
    let (ha, hb) = (sa.doc_heads(&id).unwrap(), sb.doc_heads(&id).unwrap());
    assert_eq!(ha, hb);
    sa.record_vitals(&a, p, v, &Vitals { spo2: Some(95), ..Default::default() }).unwrap();
    sb.record_vitals(&b, p, v, &Vitals { spo2: Some(98), ..Default::default() }).unwrap();
    let to_b = sa.changes_since(&id, &hb).unwrap();
    let to_a = sb.changes_since(&id, &ha).unwrap();
    sa.apply_remote(&a, &id, DocKind::Chart, &to_a).unwrap();
    sb.apply_remote(&b, &id, DocKind::Chart, &to_b).unwrap();
    // Replays are harmless.
    sb.apply_remote(&b, &id, DocKind::Chart, &to_b).unwrap();
    let ca = sa.open_chart(&a, p).unwrap();
    let cb = sb.open_chart(&b, p).unwrap();
    assert_eq!(ca.visits, cb.visits);
    assert_eq!(ca.conflicts.len(), 1);
    assert_eq!(ca.conflicts[0].path, format!("visits/{v}/vitals/spo2"));
    drop(sb);
    let mut sb = Store::open(db.path(), &FileFallback).unwrap();
    assert_eq!(sb.open_chart(&b, p).unwrap().conflicts.len(), 1, "conflict persisted");
}

#[test]
fn export_is_encrypted_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let a = actor();
    let mut s = Store::open(dir.path(), &FileFallback).unwrap();
    let p = s.register_patient(&a, &demo("書出 太郎")).unwrap();
    let out = dir.path().join("export.houmon");
    s.export_chart(&a, p, &out, "a long export passphrase").unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let plain = crate::export::open_with_passphrase(&bytes, "a long export passphrase").unwrap();
    let chart: Chart = serde_json::from_slice(&plain).unwrap();
    assert_eq!(chart.demographics.name, "書出 太郎");
    assert!(s.recent_audit(1).unwrap()[0].action == "export");
}

#[test]
fn tampered_database_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let a = actor();
    {
        let mut s = Store::open(dir.path(), &FileFallback).unwrap();
        let p = s.register_patient(&a, &demo("改ざん検知")).unwrap();
        let v = VisitId::new();
        s.start_visit(&a, p, v, VisitKind::HomeNursing).unwrap();
        for i in 0..30 {
            s.save_note(&a, p, v, None, &body(&format!("{i} {}", "x".repeat(1000)))).unwrap();
        }
    }
    // Closing checkpoints the WAL into the database file; flip one byte inside page 3.
    let db = dir.path().join(DB_FILE);
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 4096 * 4);
    bytes[4096 * 2 + 100] ^= 0x01;
    std::fs::write(&db, &bytes).unwrap();
    let detected = match Store::open(dir.path(), &FileFallback) {
        Err(_) => true,
        Ok(mut s) => s.check_integrity().is_err(),
    };
    assert!(detected, "a flipped byte must not go unnoticed");
}

#[test]
fn saves_leave_compaction_and_checkpoints_to_the_idle_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let a = actor();
    let opts = StoreOptions { compaction_min_bytes: 4 * 1024, wal_checkpoint_pages: 8, ..StoreOptions::default() };
    let rows = |s: &Store| -> i64 { s.conn.query_row("SELECT count(*) FROM changes", [], |r| r.get(0)).unwrap() };
    let mut notes = Vec::new();
    let p;
    {
        let mut s = Store::open_with(dir.path(), &FileFallback, opts.clone()).unwrap();
        p = s.register_patient(&a, &demo("A")).unwrap();
        let v = VisitId::new();
        s.start_visit(&a, p, v, VisitKind::HomeNursing).unwrap();
        // Past the threshold but below the hard limit: the saves only append.
        let mut i = 0;
        while !s.maintenance_due() {
            notes.push(s.save_note(&a, p, v, None, &body(&format!("note {i} {}", "x".repeat(300)))).unwrap());
            i += 1;
            assert!(i < 100, "the threshold was never reached");
        }
        let before = rows(&s);
        assert_eq!(before, i + 2, "every save is still its own increment");
        let done = s.idle_maintenance().unwrap();
        assert_eq!(done.compacted, 1);
        assert!(done.checkpointed_pages > 0, "{done:?}");
        assert_eq!(rows(&s), 0, "the increments were folded into the snapshot");
        assert!(!s.maintenance_due());
        // Nothing more to do until new saves arrive.
        assert_eq!(s.idle_maintenance().unwrap(), Maintenance::default());
        notes.push(s.save_note(&a, p, v, None, &body("after compaction")).unwrap());
        // Without any maintenance, the hard limit still bounds the increments.
        for i in 0..200 {
            notes.push(s.save_note(&a, p, v, None, &body(&format!("late {i} {}", "y".repeat(300)))).unwrap());
        }
        let (incr, snapshot): (i64, i64) = s
            .conn
            .query_row(
                "SELECT (SELECT coalesce(sum(length(bytes)), 0) FROM changes), max(snapshot_bytes) FROM documents",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let limit = snapshot.max(opts.compaction_min_bytes) * opts.compaction_hard_factor;
        assert!(incr <= limit, "{incr} bytes of increments, limit {limit}");
    }
    let mut s = Store::open_with(dir.path(), &FileFallback, opts).unwrap();
    let chart = s.open_chart(&a, p).unwrap();
    assert_eq!(chart.notes.len(), notes.len());
    for n in &notes {
        assert!(chart.note(*n).is_some());
    }
    s.check_integrity().unwrap();
}
