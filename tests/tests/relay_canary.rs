//! The relay-database canary can fail. Entries are compressed before they are encrypted, so a
//! scan of the database's raw bytes would find nothing even with encryption removed. This test
//! plants a canary in exactly the form an entry has before encryption (`seal::pack`) and shows
//! that the raw scan misses it while `relay_db_bytes` (which the canary tests use) finds it;
//! then the same plaintext sealed, as every device writes it, is found by neither.

use houmon_sync::seal::{ContentKey, pack};
use houmon_sync_proto::*;
use houmon_tests::bench_sync::{RawDevice, RelayProc, count, create_clinic, relay_db_bytes, relay_db_files};

const CANARY: &str = "カナリア 訪問花子 CANARY-7f3a";

fn plaintext() -> Vec<u8> {
    // Repetitive like a real note, so compression really changes the bytes.
    format!("S: {CANARY} 夜間の咳は減った。 O: 体温36.5℃ {CANARY} ").repeat(20).into_bytes()
}

fn relay_with(body: Vec<u8>) -> (tempfile::TempDir, RelayProc, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let code = create_clinic(&db, "c").expect("clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let dev = RawDevice::enroll(relay.http(), &code).expect("enroll");
    let entry = dev.entry(DocId([3; 16]), body);
    let r: AppendResponse = dev.http.post(&dev, PATH_APPEND, &AppendRequest { entries: vec![entry] }).expect("append");
    assert_eq!(r.results.len(), 1);
    (tmp, relay, db)
}

#[test]
fn the_relay_canary_scan_sees_compressed_plaintext_and_nothing_of_a_sealed_entry() {
    let needle = CANARY.as_bytes();
    // Control: compressed and padded, not encrypted.
    let (_t, _relay, db) = relay_with(pack(&plaintext()).expect("pack"));
    assert_eq!(count(&relay_db_files(&db), needle), 0, "compression alone hides the canary from a raw scan");
    assert!(count(&relay_db_bytes(&db), needle) >= 20, "the canary scan must find compressed-only plaintext");

    // The real form: the same plaintext sealed with a clinic content key.
    let key = ContentKey::random().expect("key");
    let sealed = key.seal(&ClinicId([1; 16]), &DocId([3; 16]), &plaintext()).expect("seal");
    let (_t, _relay, db) = relay_with(sealed);
    let bytes = relay_db_bytes(&db);
    assert!(bytes.len() > 4096, "the database was read");
    assert_eq!(count(&bytes, needle), 0, "a sealed entry shows nothing, raw or inflated");
}
