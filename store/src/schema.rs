//! Schema migrations, from version 1 on. The version lives in `PRAGMA user_version`; each
//! migration runs in one transaction, so a crash mid-migration leaves the previous version.

use houmon_model::error::{CoreError, Result};
use rusqlite::Connection;

/// Migration `i` takes the schema from version `i` to `i + 1` (index 0 creates version 1).
const MIGRATIONS: &[&str] = &[
    // Version 1: documents, incremental changes, projections.
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE documents(
        doc_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        snapshot BLOB,
        snapshot_bytes INTEGER NOT NULL DEFAULT 0,
        incremental_bytes INTEGER NOT NULL DEFAULT 0);
     CREATE TABLE changes(
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL,
        bytes BLOB NOT NULL);
     CREATE INDEX changes_by_doc ON changes(doc_id, seq);
     CREATE TABLE patients(
        patient_id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        kana TEXT NOT NULL DEFAULT '',
        birth TEXT,
        last_visit INTEGER);
     CREATE TABLE roster(
        visit_id TEXT PRIMARY KEY,
        month TEXT NOT NULL,
        date TEXT NOT NULL,
        start TEXT NOT NULL,
        end TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL);
     CREATE TABLE roster_staff(
        staff_id TEXT NOT NULL,
        visit_id TEXT NOT NULL,
        PRIMARY KEY(staff_id, visit_id)) WITHOUT ROWID;",
    // Version 2: hash-chained append-only audit log, encrypted diagnostics log, date index.
    "CREATE TABLE audit_log(
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        staff TEXT NOT NULL,
        device TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash BLOB NOT NULL,
        hash BLOB NOT NULL);
     CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
     CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
     CREATE TABLE app_log(
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL);
     CREATE INDEX roster_by_date ON roster(date);",
    // Version 3: staff PINs chosen on this device, and their lock-out (`staff_pin`).
    "CREATE TABLE staff_sign_in(
        staff TEXT PRIMARY KEY,
        setup_id TEXT NOT NULL,
        verifier TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER NOT NULL DEFAULT 0);",
    // Version 4: the end of care in the patient list (終了した患者).
    "ALTER TABLE patients ADD COLUMN care_end TEXT;",
    // Version 5: the other devices' access histories, as received (the back office's 監査ログ).
    "CREATE TABLE clinic_audit(
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        staff TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY(device, seq)) WITHOUT ROWID;
     CREATE INDEX clinic_audit_by_time ON clinic_audit(at);",
];

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Bring the schema up to `target` (normally [`CURRENT_VERSION`]).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let found = version(conn)?;
    if found > CURRENT_VERSION {
        return Err(CoreError::SchemaTooNew { found });
    }
    for v in found..target {
        let tx = conn.transaction()?;
        tx.execute_batch(MIGRATIONS[v as usize])?;
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
    }
    Ok(())
}
