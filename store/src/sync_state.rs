//! Device-local state that never syncs: the sync client's identity, offline queue, sent heads
//! and cursor; small key-value records (gateway state); and the offline-data TTL purge.
//!
//! Kept in the same encrypted database as the documents so that the queue moves in the same
//! transaction as the heads it covers, and nothing here is ever written in the clear. These
//! are the only ways sync and policy touch the database (there is no raw connection).

use super::Store;
use super::audit::{self, AuditAction};
use chrono::{DateTime, Utc};
use houmon_model::Actor;
use houmon_model::error::Result;
use rusqlite::{OptionalExtension, params};
use zeroize::Zeroize;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sync_device(
  id INTEGER PRIMARY KEY CHECK (id = 1), relay TEXT NOT NULL, device BLOB NOT NULL, clinic BLOB NOT NULL,
  role TEXT NOT NULL, public_key BLOB NOT NULL, content_key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sync_docs(
  doc_id TEXT PRIMARY KEY, sent_heads BLOB NOT NULL, since_snapshot_bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sync_outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT, doc BLOB NOT NULL, entry_id BLOB NOT NULL, sig BLOB NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sync_set_aside(
  id INTEGER PRIMARY KEY, doc BLOB NOT NULL, entry_id BLOB NOT NULL, sig BLOB NOT NULL, body BLOB NOT NULL,
  code TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS device_local(key TEXT PRIMARY KEY, value BLOB NOT NULL);
";

/// The sync identity saved at enrollment. The private signing key is not here: it is the
/// lifecycle's keystore-wrapped device key; `public_key` lets a mismatch be detected.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncIdentityRecord {
    pub relay: String,
    pub device: [u8; 16],
    pub clinic: [u8; 16],
    pub role: String,
    pub public_key: [u8; 32],
    pub content_key: [u8; 32],
}

impl std::fmt::Debug for SyncIdentityRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncIdentityRecord")
            .field("relay", &self.relay)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Drop for SyncIdentityRecord {
    fn drop(&mut self) {
        self.content_key.zeroize();
    }
}

/// A sealed, signed entry waiting in the offline queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEntry {
    pub doc: [u8; 16],
    pub entry_id: [u8; 16],
    pub signature: [u8; 64],
    pub body: Vec<u8>,
}

/// What a TTL purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeCounts {
    pub charts: usize,
    pub rosters: usize,
}

impl Store {
    /// Create the device-local tables (idempotent; the sync client and gateway call it once).
    pub fn prepare_device_state(&mut self) -> Result<()> {
        self.conn.execute_batch(SCHEMA)?;
        Ok(())
    }

    pub fn sync_identity(&mut self) -> Result<Option<SyncIdentityRecord>> {
        type Row = (String, Vec<u8>, Vec<u8>, String, Vec<u8>, Vec<u8>);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT relay, device, clinic, role, public_key, content_key FROM sync_device WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?;
        let Some((relay, device, clinic, role, pk, mut ck)) = row else { return Ok(None) };
        let out = (|| {
            Some(SyncIdentityRecord {
                relay,
                device: device.try_into().ok()?,
                clinic: clinic.try_into().ok()?,
                role,
                public_key: pk.try_into().ok()?,
                content_key: ck.as_slice().try_into().ok()?,
            })
        })();
        ck.zeroize();
        out.map(Some).ok_or(houmon_model::CoreError::Corrupt { what: "sync identity" })
    }

    pub fn set_sync_identity(&mut self, id: &SyncIdentityRecord) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO sync_device(id, relay, device, clinic, role, public_key, content_key)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![id.relay, &id.device[..], &id.clinic[..], id.role, &id.public_key[..], &id.content_key[..]],
        )?;
        Ok(())
    }

    /// A device-local value (never synced), e.g. `sync.cursor`, `gateway.actor`.
    pub fn local_value(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.conn.query_row("SELECT value FROM device_local WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_local_value(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.conn.execute("INSERT OR REPLACE INTO device_local(key, value) VALUES (?1, ?2)", params![key, value])?;
        Ok(())
    }

    /// The heads of `doc_id` already queued for (or received from) the relay.
    pub fn sync_sent_heads(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row("SELECT sent_heads FROM sync_docs WHERE doc_id = ?1", [doc_id], |r| r.get(0))
            .optional()?)
    }

    /// Record heads received from the relay as already known there (nothing to upload).
    pub fn set_sync_sent_heads(&mut self, doc_id: &str, heads: &[u8]) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sync_docs(doc_id, sent_heads) VALUES (?1, ?2)
             ON CONFLICT(doc_id) DO UPDATE SET sent_heads = excluded.sent_heads",
            params![doc_id, heads],
        )?;
        Ok(())
    }

    /// Queue an entry and move the document's sent heads in one transaction, so a crash
    /// never loses a change nor queues it twice.
    pub fn queue_sync_entry(&mut self, doc_id: &str, heads: &[u8], entry: &QueuedEntry) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO sync_outbox(doc, entry_id, sig, body) VALUES (?1, ?2, ?3, ?4)",
            params![&entry.doc[..], &entry.entry_id[..], &entry.signature[..], &entry.body],
        )?;
        tx.execute(
            "INSERT INTO sync_docs(doc_id, sent_heads, since_snapshot_bytes) VALUES (?1, ?2, ?3)
             ON CONFLICT(doc_id) DO UPDATE SET sent_heads = excluded.sent_heads,
               since_snapshot_bytes = since_snapshot_bytes + excluded.since_snapshot_bytes",
            params![doc_id, heads, entry.body.len() as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The oldest queued entries: at most `max` of them and about `max_bytes` (at least one).
    pub fn sync_outbox_batch(&self, max: usize, max_bytes: usize) -> Result<Vec<(i64, QueuedEntry)>> {
        let mut st = self.conn.prepare("SELECT id, doc, entry_id, sig, body FROM sync_outbox ORDER BY id LIMIT ?1")?;
        let rows = st.query_map([max as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get(4)?,
            ))
        })?;
        let mut out = Vec::new();
        let mut bytes = 0;
        for row in rows {
            let (id, doc, eid, sig, body): (i64, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) = row?;
            if !out.is_empty() && bytes + body.len() > max_bytes {
                break;
            }
            bytes += body.len();
            let (Ok(doc), Ok(entry_id), Ok(signature)) =
                (<[u8; 16]>::try_from(doc), <[u8; 16]>::try_from(eid), <[u8; 64]>::try_from(sig))
            else {
                continue;
            };
            out.push((id, QueuedEntry { doc, entry_id, signature, body }));
        }
        Ok(out)
    }

    /// The relay acknowledged every queued entry up to `last_id` (durably): drop them.
    pub fn sync_outbox_ack(&mut self, last_id: i64) -> Result<()> {
        self.conn.execute("DELETE FROM sync_outbox WHERE id <= ?1", [last_id])?;
        Ok(())
    }

    /// The relay refused queued entry `id` for good (too large): move it out of the queue so it
    /// blocks nothing behind it. Kept, never deleted: the change is also in the local document,
    /// and support can see which entry and why (`code`, the relay's error code).
    pub fn sync_outbox_set_aside(&mut self, id: i64, code: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO sync_set_aside(id, doc, entry_id, sig, body, code)
             SELECT id, doc, entry_id, sig, body, ?2 FROM sync_outbox WHERE id = ?1",
            params![id, code],
        )?;
        tx.execute("DELETE FROM sync_outbox WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// Entries the relay refused for good (set aside): shown to the user as unsent.
    pub fn sync_set_aside_len(&self) -> Result<usize> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM sync_set_aside", [], |r| r.get::<_, i64>(0))? as usize)
    }

    /// Entries waiting for the relay (the offline queue).
    /// Entries waiting for the relay that carry records people wrote: the device's own access
    /// history (its relay id noted as `sync.audit_doc`) travels too but is not counted, so
    /// 未送信 says how many of the user's changes are still on the device only.
    pub fn sync_outbox_len(&self) -> Result<usize> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM sync_outbox
             WHERE doc IS NOT (SELECT value FROM device_local WHERE key = 'sync.audit_doc')",
            [],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// Documents whose entries since their last snapshot exceed `min_bytes`.
    pub fn sync_docs_due_snapshot(&self, min_bytes: i64) -> Result<Vec<String>> {
        let mut st = self.conn.prepare("SELECT doc_id FROM sync_docs WHERE since_snapshot_bytes > ?1")?;
        let v = st.query_map([min_bytes], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    pub fn sync_snapshot_uploaded(&mut self, doc_id: &str) -> Result<()> {
        self.conn.execute("UPDATE sync_docs SET since_snapshot_bytes = 0 WHERE doc_id = ?1", [doc_id])?;
        Ok(())
    }

    /// The offline-data TTL purge: delete every chart and roster month (documents, changes,
    /// projections) in one audited transaction. The clinic document stays. The sync cursor and
    /// the purged documents' sent heads are reset, so the next sync fetches them again; the
    /// offline queue stays (sealed entries, sent at the next sync: a note written offline is
    /// never lost). SQLCipher's `secure_delete` overwrites the freed pages; the WAL is
    /// checkpointed so the old pages leave it too.
    /// Drop a chart this device no longer needs (部分同期: its patient left the window), only if
    /// nothing written here is still on its way: no queued or set-aside entry for its relay id
    /// `opaque` (the caller also checked that its heads were all queued). Returns whether it
    /// was dropped. It comes back from the relay, from its start, if the patient returns.
    /// Whether a person on this device opened or changed `doc_id` since `since` (its access
    /// history says so): such a chart stays on the device even outside the plan.
    pub fn chart_used_here_since(&self, doc_id: &str, since: DateTime<Utc>) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM audit_log WHERE target = ?1 AND at >= ?2 AND detail <> 'evict chart')",
            params![doc_id, since.timestamp_millis()],
            |r| r.get::<_, bool>(0),
        )?)
    }

    pub fn evict_chart(&mut self, actor: &Actor, doc_id: &str, opaque: &[u8; 16], now: DateTime<Utc>) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let waiting: i64 = tx.query_row(
            "SELECT (SELECT COUNT(*) FROM sync_outbox WHERE doc = ?1) + (SELECT COUNT(*) FROM sync_set_aside WHERE doc = ?1)",
            [&opaque[..]],
            |r| r.get(0),
        )?;
        if waiting > 0 {
            return Ok(false);
        }
        tx.execute("DELETE FROM changes WHERE doc_id = ?1", [doc_id])?;
        tx.execute("DELETE FROM sync_docs WHERE doc_id = ?1", [doc_id])?;
        tx.execute("DELETE FROM documents WHERE doc_id = ?1", [doc_id])?;
        if let Some(p) = doc_id.strip_prefix("chart:") {
            tx.execute("DELETE FROM patients WHERE patient_id = ?1", [p])?;
        }
        audit::append(&tx, actor, AuditAction::Edit, doc_id, "evict chart", now)?;
        tx.commit()?;
        self.cache.remove(doc_id);
        self.lru.retain(|k| k != doc_id);
        Ok(true)
    }

    pub fn purge_patient_data(&mut self, actor: &Actor, now: DateTime<Utc>) -> Result<PurgeCounts> {
        self.clear_cache();
        self.conn.execute_batch(SCHEMA)?;
        let tx = self.conn.transaction()?;
        let count = |kind: &str| -> rusqlite::Result<usize> {
            tx.query_row("SELECT count(*) FROM documents WHERE kind = ?1", [kind], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
        };
        let report = PurgeCounts { charts: count("chart")?, rosters: count("roster")? };
        if report.charts + report.rosters > 0 {
            tx.execute_batch(
                "DELETE FROM changes WHERE doc_id IN (SELECT doc_id FROM documents WHERE kind IN ('chart', 'roster'));
                 DELETE FROM sync_docs WHERE doc_id IN (SELECT doc_id FROM documents WHERE kind IN ('chart', 'roster'));
                 DELETE FROM documents WHERE kind IN ('chart', 'roster');
                 DELETE FROM patients;
                 DELETE FROM roster;
                 DELETE FROM roster_staff;
                 DELETE FROM device_local WHERE key IN ('sync.cursor', 'sync.suspect');",
            )?;
            let detail = format!("ttl purge: {} charts, {} roster months", report.charts, report.rosters);
            audit::append(&tx, actor, AuditAction::Edit, "device", &detail, now)?;
        }
        tx.commit()?;
        if report.charts + report.rosters > 0 {
            self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(report)
    }
}
