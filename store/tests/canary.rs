//! Canary scan (security target S1): plant unique strings in patient names, notes, items,
//! correction reasons, diagnostics and an export, then prove that none of them appears in any
//! file the store writes — database, WAL, shm, key file, export, temp files — while the store
//! is open and after it is closed.

use houmon_keys::FileFallback;
use houmon_model::*;
use houmon_store::Store;
use std::path::Path;

const CANARIES: [&str; 6] =
    ["CANARYNAMEqz7", "カナリヤ花子", "CANARYNOTEx91", "CANARYITEMv3", "CANARYREASONk2", "CANARYLOGw8"];

/// Every file under `dir` (recursively) with the canaries it contains.
fn scan(dir: &Path) -> Vec<(String, &'static str)> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            for c in CANARIES {
                if bytes.windows(c.len()).any(|w| w == c.as_bytes()) {
                    hits.push((p.display().to_string(), c));
                }
            }
        }
    }
    hits
}

fn file_count(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn no_canary_in_any_file_the_store_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let a = Actor { staff: StaffId::new(), device: DeviceId::new() };
    let mut s = Store::open(&store_dir, &FileFallback).unwrap();
    let p = s
        .register_patient(
            &a,
            &Demographics {
                name: format!("{} {}", CANARIES[0], CANARIES[1]),
                name_kana: CANARIES[1].into(),
                address: CANARIES[0].into(),
                ..Default::default()
            },
        )
        .unwrap();
    let v = VisitId::new();
    s.start_visit(&a, p, v, VisitKind::HomeNursing).unwrap();
    let mut last = None;
    for i in 0..40 {
        let body = SoapNote {
            subjective: format!("{} 経過 {i} {}", CANARIES[2], "あ".repeat(400)),
            objective: CANARIES[1].into(),
            assessment: CANARIES[2].into(),
            plan: CANARIES[0].into(),
        };
        last = Some(s.save_note(&a, p, v, None, &body).unwrap());
    }
    let note = last.unwrap();
    s.sign_note(&a, p, note).unwrap();
    s.correct_note(&a, p, note, &SoapNote { subjective: CANARIES[2].into(), ..Default::default() }, CANARIES[4])
        .unwrap();
    s.add_clinical_item(&a, p, v, ClinicalList::Allergies, CANARIES[3], "").unwrap();
    s.log_diagnostic("info", &format!("test log with {}", CANARIES[5])).unwrap();
    s.export_chart(&a, p, &store_dir.join("export.houmon"), "canary export passphrase").unwrap();
    // Read back so the values demonstrably went in.
    let chart = s.open_chart(&a, p).unwrap();
    assert!(chart.demographics.name.contains(CANARIES[0]));
    assert!(chart.visits[0].items[0].label == CANARIES[3]);

    assert!(file_count(&store_dir) >= 4, "db, wal, shm, key, export expected");
    let header = std::fs::read(store_dir.join(houmon_store::DB_FILE)).unwrap();
    assert!(!header.starts_with(b"SQLite format 3"), "database must not be plain SQLite");
    let hits = scan(dir.path());
    assert!(hits.is_empty(), "canaries on disk while open: {hits:?}");
    drop(s);
    let hits = scan(dir.path());
    assert!(hits.is_empty(), "canaries on disk after close: {hits:?}");
    // The store reopens with the data intact.
    let mut s = Store::open(&store_dir, &FileFallback).unwrap();
    assert!(s.open_chart(&a, p).unwrap().notes.len() == 41);
    drop(s);
    assert!(scan(dir.path()).is_empty());
}

#[test]
fn the_scanner_finds_a_planted_canary() {
    // Proves the scan above can fail: a plaintext file with a canary is caught.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain.txt"), format!("x{}y", CANARIES[1])).unwrap();
    assert_eq!(scan(dir.path()).len(), 1);
}
