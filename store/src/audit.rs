//! The audit log (ARCHITECTURE.md, *Audit*): hash-chained and append-only. Every view, edit,
//! export, consent and qualification check appends an entry in the same transaction as the
//! change it records.
//! Entries hold ids and action names only, never patient names or note text.

use chrono::{DateTime, Utc};
use houmon_model::Actor;
use houmon_model::error::Result;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    /// 閲覧
    View,
    /// 編集 (note saved, vitals, visit start/end, items, demographics, roster)
    Edit,
    /// 署名
    Sign,
    /// 訂正
    Correct,
    /// 書き出し
    Export,
    /// 同意
    Consent,
    /// 資格確認 (request or result)
    QualificationCheck,
    /// Store opened (login/session start)
    Open,
}

impl AuditAction {
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::View => "view",
            AuditAction::Edit => "edit",
            AuditAction::Sign => "sign",
            AuditAction::Correct => "correct",
            AuditAction::Export => "export",
            AuditAction::Consent => "consent",
            AuditAction::QualificationCheck => "qualification",
            AuditAction::Open => "open",
        }
    }
}

/// One entry as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub staff: String,
    pub device: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub hash_hex: String,
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditProblem {
    /// The entry's contents no longer match its hash.
    Changed { seq: i64 },
    /// Entries before `seq` are missing (gap in the chain).
    Removed { seq: i64 },
    /// The newest entries were cut off: the chain ends before the recorded head.
    Truncated { expected_last: i64, found_last: i64 },
}

/// Result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    pub entries: i64,
    pub problems: Vec<AuditProblem>,
}

impl AuditVerification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

const GENESIS: [u8; 32] = [0u8; 32];

#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &[u8],
    seq: i64,
    at: i64,
    staff: &str,
    device: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(prev);
    ctx.update(&seq.to_be_bytes());
    ctx.update(&at.to_be_bytes());
    for s in [staff, device, action, target, detail] {
        ctx.update(&(s.len() as u64).to_be_bytes());
        ctx.update(s.as_bytes());
    }
    ctx.finish().as_ref().to_vec()
}

/// Append one entry. Call inside the transaction of the change it records.
pub fn append(
    conn: &Connection,
    actor: &Actor,
    action: AuditAction,
    target: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    // Cached statements: every save and every chart view appends here.
    let last: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_vec()),
    };
    let at = at.timestamp_millis();
    let staff = actor.staff.to_string();
    let device = actor.device.to_string();
    let hash = entry_hash(&prev, seq, at, &staff, &device, action.code(), target, detail);
    conn.prepare_cached(
        "INSERT INTO audit_log(seq, at, staff, device, action, target, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![seq, at, staff, device, action.code(), target, detail, prev, hash])?;
    // The head anchor lets verify notice entries cut off the end.
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES ('audit_head', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![format!("{seq}:{}", hex::encode(&hash))])?;
    Ok(())
}

/// Recompute the chain and report every changed or removed entry.
pub fn verify(conn: &Connection) -> Result<AuditVerification> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, staff, device, action, target, detail, prev_hash, hash
         FROM audit_log ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut problems = Vec::new();
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_vec();
    let mut entries = 0;
    let mut last_seq = 0;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let at: i64 = r.get(1)?;
        let (staff, device, action, target, detail): (String, String, String, String, String) =
            (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?);
        let stored_prev: Vec<u8> = r.get(7)?;
        let hash: Vec<u8> = r.get(8)?;
        entries += 1;
        if seq != expected_seq || stored_prev != prev {
            problems.push(AuditProblem::Removed { seq });
        }
        let recomputed = entry_hash(&stored_prev, seq, at, &staff, &device, &action, &target, &detail);
        if recomputed != hash {
            problems.push(AuditProblem::Changed { seq });
        }
        prev = hash;
        expected_seq = seq + 1;
        last_seq = seq;
    }
    let head: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'audit_head'", [], |r| r.get(0)).optional()?;
    if let Some(head) = head {
        let (s, h) = head.split_once(':').unwrap_or(("0", ""));
        let head_seq: i64 = s.parse().unwrap_or(0);
        if head_seq != last_seq || h != hex::encode(&prev) {
            problems.push(AuditProblem::Truncated { expected_last: head_seq, found_last: last_seq });
        }
    }
    Ok(AuditVerification { entries, problems })
}

/// The newest `limit` entries, newest first (for the back office review screen).
pub fn recent(conn: &Connection, limit: i64) -> Result<Vec<AuditEntry>> {
    entries(
        conn,
        "SELECT seq, at, staff, device, action, target, detail, hash FROM audit_log ORDER BY seq DESC LIMIT ?2",
        0,
        limit,
    )
}

/// Entries after `seq`, oldest first, at most `limit` (publishing them to the back office).
pub fn since(conn: &Connection, seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
    entries(
        conn,
        "SELECT seq, at, staff, device, action, target, detail, hash FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        seq,
        limit,
    )
}

/// Run a query over `audit_log` whose columns are `seq, at, staff, device, action, target,
/// detail, hash` and whose parameters are `?1` (a seq) and `?2` (a limit).
fn entries(conn: &Connection, sql: &str, seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![seq, limit], |r| {
        Ok(AuditEntry {
            seq: r.get(0)?,
            at: DateTime::from_timestamp_millis(r.get(1)?).unwrap_or_default(),
            staff: r.get(2)?,
            device: r.get(3)?,
            action: r.get(4)?,
            target: r.get(5)?,
            detail: r.get(6)?,
            hash_hex: hex::encode(r.get::<_, Vec<u8>>(7)?),
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
