//! The sync client (decisions 8 and 9). Local documents go to the blind relay as entries:
//! Automerge changes → compressed → padded → AEAD with the clinic content key → signed with
//! the device's Ed25519 key. Received entries are verified, decrypted and merged through the
//! store. Sync state (identity, cursor, offline queue) lives in the encrypted store database,
//! so the queue survives restarts and nothing is written in the clear.
//!
//! Gaps and withheld entries: each entry carries its author's heads for the document. After a
//! catch-up every announced head must be in the local document; if not, the document is
//! fetched again from the start, and a still-missing head is reported as withheld.
//!
//! Must never: send plaintext or a real document id to the relay, keep the content key or
//! the private key outside the encrypted store, or drop a local change before the relay has
//! acknowledged it.

pub mod gateway;
pub mod seal;

use crate::CoreError;
use crate::model::Actor;
use crate::store::{DocKind, Store};
use automerge::{AutoCommit, ChangeHash};
use houmon_sync_proto::http::{HttpError, RelayHttp, RequestSigner};
use houmon_sync_proto::*;
use rand::Rng;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use rusqlite::{OptionalExtension, params};
use seal::ContentKey;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use zeroize::Zeroize;

/// Sync failures, each with a Japanese message saying what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("同期サーバー: {0}")]
    Relay(HttpError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("暗号処理に失敗しました")]
    Crypto,
    #[error("改ざんされたか壊れた同期データを受け取りました")]
    Tampered,
    #[error("この端末はまだ登録されていません")]
    NotEnrolled,
    #[error("登録コードの形式が正しくありません")]
    BadCode,
}

impl From<rusqlite::Error> for SyncError {
    fn from(e: rusqlite::Error) -> Self {
        SyncError::Core(CoreError::from(e))
    }
}

impl From<HttpError> for SyncError {
    fn from(e: HttpError) -> Self {
        SyncError::Relay(e)
    }
}

impl SyncError {
    /// (Japanese, English) for the UI.
    pub fn user_message(&self) -> (String, String) {
        match self {
            SyncError::Relay(HttpError::Relay { body, .. }) => (body.message.clone(), body.message_en.clone()),
            SyncError::Relay(_) => (
                "同期サーバーに接続できません。記録は端末に保存されており、接続が戻ると自動で送信されます。".into(),
                "Cannot reach the sync server. Records are saved on this device and will be sent when the connection returns.".into(),
            ),
            SyncError::Core(e) => {
                let m = e.user_message();
                (m.ja.into(), m.en.into())
            }
            SyncError::Crypto => (
                "暗号処理に失敗しました。アプリを再起動してください。".into(),
                "A cryptographic operation failed. Restart the app.".into(),
            ),
            SyncError::Tampered => (
                "壊れた同期データを受け取ったため、取り込みませんでした。管理者に連絡してください。".into(),
                "Corrupted sync data was received and not applied. Contact your administrator.".into(),
            ),
            SyncError::NotEnrolled => (
                "この端末は未登録です。管理者から登録コードを受け取り、登録してください。".into(),
                "This device is not enrolled. Get an enrollment code from your administrator.".into(),
            ),
            SyncError::BadCode => (
                "登録コードの形式が正しくありません。ハイフンを含めて26文字を入力してください。".into(),
                "The enrollment code is malformed. Enter all 26 characters.".into(),
            ),
        }
    }

    /// Try again later (offline, relay busy or restarting)?
    pub fn retryable(&self) -> bool {
        matches!(self, SyncError::Relay(e) if e.retryable())
    }
}

pub type SyncResult<T> = std::result::Result<T, SyncError>;

/// What one sync round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub uploaded: usize,
    pub received: usize,
    pub applied_docs: usize,
    pub round_trips: usize,
    /// Entries refused: bad signature, unknown author, failed decryption.
    pub rejected: usize,
    /// Documents where a gap was found and filled by fetching the document again.
    pub gaps_repaired: Vec<String>,
    /// Documents whose announced heads are still missing: the relay withholds entries.
    pub withheld: Vec<String>,
    pub snapshots_uploaded: usize,
    pub cursor: u64,
}

/// Plaintext inside an entry (never leaves the device unencrypted).
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    doc_id: String,
    /// Author's heads after these changes.
    heads: Vec<[u8; 32]>,
    /// Automerge change bytes, or a whole document for a snapshot.
    changes: Vec<u8>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sync_identity(
  id INTEGER PRIMARY KEY CHECK (id = 1), relay TEXT NOT NULL, device BLOB NOT NULL, clinic BLOB NOT NULL,
  role TEXT NOT NULL, pkcs8 BLOB NOT NULL, content_key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sync_docs(
  doc_id TEXT PRIMARY KEY, sent_heads BLOB NOT NULL, since_snapshot_bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sync_outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT, doc BLOB NOT NULL, entry_id BLOB NOT NULL, sig BLOB NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sync_kv(key TEXT PRIMARY KEY, value BLOB NOT NULL);
";

/// Upload a snapshot once this many entry bytes accumulated for a document since the last.
pub const SNAPSHOT_AFTER_BYTES: i64 = 256 * 1024;
/// Most entries and bytes per append request.
const APPEND_BATCH: usize = 500;
const APPEND_BYTES: usize = 4 << 20;

fn kind_of(doc_id: &str) -> Option<DocKind> {
    if doc_id.starts_with("chart:") {
        Some(DocKind::Chart)
    } else if doc_id.starts_with("roster:") {
        Some(DocKind::Roster)
    } else if doc_id == crate::store::CLINIC_DOC_ID {
        Some(DocKind::Clinic)
    } else {
        None
    }
}

fn heads_bytes(h: &[ChangeHash]) -> Vec<u8> {
    let mut v: Vec<[u8; 32]> = h.iter().map(|c| c.0).collect();
    v.sort();
    v.concat()
}

fn heads_from(b: &[u8]) -> Vec<ChangeHash> {
    b.chunks_exact(32)
        .map(|c| {
            let mut a = [0u8; 32];
            a.copy_from_slice(c);
            ChangeHash(a)
        })
        .collect()
}

struct DeviceKey(Ed25519KeyPair, DeviceId);

impl RequestSigner for DeviceKey {
    fn device(&self) -> DeviceId {
        self.1
    }
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let mut o = [0u8; 64];
        o.copy_from_slice(self.0.sign(msg).as_ref());
        o
    }
}

/// Retry delays: exponential with "equal jitter", so a thousand tablets coming back at once
/// do not retry in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap, attempt: 0 }
    }
    /// Next delay: half fixed, half random, of min(cap, base·2^attempt).
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(16)).min(self.cap);
        self.attempt += 1;
        let half = exp / 2;
        half + half.mul_f64(rng.r#gen::<f64>())
    }
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// An enrolled device's sync client.
pub struct SyncClient {
    http: RelayHttp,
    key: DeviceKey,
    clinic: ClinicId,
    role: Role,
    content: ContentKey,
    actor: Actor,
    devices: HashMap<DeviceId, [u8; 32]>,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient").field("device", &self.key.1).field("clinic", &self.clinic).finish()
    }
}

fn ensure_schema(store: &mut Store) -> SyncResult<()> {
    store.raw_connection().execute_batch(SCHEMA)?;
    Ok(())
}

impl SyncClient {
    /// Enroll this device with a one-time code. The first device of a clinic (a code without
    /// a wrapped key) creates the clinic content key; every later device receives it wrapped
    /// under the code.
    pub fn enroll(store: &mut Store, relay: RelayHttp, code: &str, label: &str, actor: Actor) -> SyncResult<Self> {
        ensure_schema(store)?;
        let raw = enrollment::parse_code(code).ok_or(SyncError::BadCode)?;
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| SyncError::Crypto)?;
        let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| SyncError::Crypto)?;
        let code_auth = enrollment::code_auth(&raw);
        let mut pk = [0u8; 32];
        pk.copy_from_slice(kp.public_key().as_ref());
        let mut proof = [0u8; 64];
        proof.copy_from_slice(kp.sign(&enroll_signing_bytes(&code_auth, &pk, label)).as_ref());
        let resp = relay.enroll(&EnrollRequest { code_auth, public_key: pk, label: label.into(), proof })?;
        let mut wrap = enrollment::wrap_key(&raw);
        let content = match &resp.wrapped_content_key {
            Some(w) => ContentKey::unwrap(w, &wrap),
            None => ContentKey::random(),
        };
        wrap.zeroize();
        let content = content?;
        store.raw_connection().execute(
            "INSERT OR REPLACE INTO sync_identity(id, relay, device, clinic, role, pkcs8, content_key) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![relay.base, &resp.device.0[..], &resp.clinic.0[..], resp.role.code(), pkcs8.as_ref(), &content.as_bytes()[..]],
        )?;
        Ok(Self {
            http: relay,
            key: DeviceKey(kp, resp.device),
            clinic: resp.clinic,
            role: resp.role,
            content,
            actor,
            devices: HashMap::new(),
        })
    }

    /// Load the identity saved at enrollment (`None`: not enrolled yet).
    pub fn open(store: &mut Store, relay: Option<RelayHttp>, actor: Actor) -> SyncResult<Option<Self>> {
        ensure_schema(store)?;
        type Row = (String, Vec<u8>, Vec<u8>, String, Vec<u8>, Vec<u8>);
        let row: Option<Row> = store
            .raw_connection()
            .query_row(
                "SELECT relay, device, clinic, role, pkcs8, content_key FROM sync_identity WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?;
        let Some((base, device, clinic, role, mut pkcs8, mut ck)) = row else { return Ok(None) };
        let kp = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| SyncError::Crypto);
        pkcs8.zeroize();
        let mut k = [0u8; 32];
        if ck.len() != 32 || device.len() != 16 || clinic.len() != 16 {
            return Err(SyncError::Crypto);
        }
        k.copy_from_slice(&ck);
        ck.zeroize();
        let mut d = [0u8; 16];
        d.copy_from_slice(&device);
        let mut c = [0u8; 16];
        c.copy_from_slice(&clinic);
        Ok(Some(Self {
            http: relay.unwrap_or_else(|| RelayHttp::new(&base)),
            key: DeviceKey(kp?, DeviceId(d)),
            clinic: ClinicId(c),
            role: Role::parse(&role).unwrap_or(Role::Member),
            content: ContentKey::from_bytes(k),
            actor,
            devices: HashMap::new(),
        }))
    }

    pub fn device(&self) -> DeviceId {
        self.key.1
    }
    pub fn clinic(&self) -> ClinicId {
        self.clinic
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn relay(&self) -> &RelayHttp {
        &self.http
    }
    pub fn content_key(&self) -> &ContentKey {
        &self.content
    }
    /// Point at another relay address (it moved, or a test restarted it on a new port).
    pub fn set_relay(&mut self, relay: RelayHttp) {
        self.http = relay;
    }

    /// An admin device creates a one-time code for a new device (role member or admin).
    /// The clinic content key travels wrapped under the code; the relay cannot unwrap it.
    pub fn create_enrollment_code(&self, role: Role, valid_for_s: u32) -> SyncResult<String> {
        let raw: [u8; 16] = rand::random();
        let mut wrap = enrollment::wrap_key(&raw);
        let wrapped = self.content.wrap(&wrap);
        wrap.zeroize();
        let req = CreateCodeRequest {
            code_auth_hash: enrollment::code_auth_hash(&raw),
            role,
            wrapped_content_key: Some(wrapped?),
            valid_for_s,
        };
        let _: i64 = self.http.post(&self.key, PATH_CODES, &req)?;
        Ok(enrollment::format_code(&raw))
    }

    /// Revoke a device at the relay (admin only). Effective at once.
    pub fn revoke(&self, device: DeviceId) -> SyncResult<()> {
        let _: bool = self.http.post(&self.key, PATH_REVOKE, &RevokeRequest { device })?;
        Ok(())
    }

    /// Which documents this device replicates. `None`: all of the clinic's (back office,
    /// gateway). Persisted.
    pub fn set_subscription(&self, store: &mut Store, docs: Option<&[String]>) -> SyncResult<()> {
        let v = match docs {
            None => b"*".to_vec(),
            Some(d) => d.join("\n").into_bytes(),
        };
        store
            .raw_connection()
            .execute("INSERT OR REPLACE INTO sync_kv(key, value) VALUES ('subscription', ?1)", [v])?;
        Ok(())
    }

    fn subscription(store: &mut Store) -> SyncResult<Option<Vec<String>>> {
        let v: Option<Vec<u8>> = store
            .raw_connection()
            .query_row("SELECT value FROM sync_kv WHERE key = 'subscription'", [], |r| r.get(0))
            .optional()?;
        Ok(match v {
            None => None,
            Some(v) if v == b"*" => None,
            Some(v) => {
                Some(String::from_utf8_lossy(&v).split('\n').filter(|s| !s.is_empty()).map(String::from).collect())
            }
        })
    }

    /// The documents a staff member's device needs (部分同期): the clinic document, the given
    /// roster months, and the charts of the patients planned in them.
    pub fn subscription_for(store: &mut Store, months: &[&str], patients: &[crate::model::PatientId]) -> Vec<String> {
        let mut v = vec![crate::store::CLINIC_DOC_ID.to_string()];
        v.extend(months.iter().map(|m| crate::store::roster_doc_id(m)));
        v.extend(patients.iter().map(|p| crate::store::chart_doc_id(*p)));
        let _ = store;
        v
    }

    pub fn cursor(store: &mut Store) -> SyncResult<u64> {
        let v: Option<i64> = store
            .raw_connection()
            .query_row("SELECT value FROM sync_kv WHERE key = 'cursor'", [], |r| r.get(0))
            .optional()?;
        Ok(v.unwrap_or(0) as u64)
    }

    fn set_cursor(store: &mut Store, c: u64) -> SyncResult<()> {
        store
            .raw_connection()
            .execute("INSERT OR REPLACE INTO sync_kv(key, value) VALUES ('cursor', ?1)", [c as i64])?;
        Ok(())
    }

    /// Entries waiting for the relay (the offline queue).
    pub fn pending(store: &mut Store) -> SyncResult<usize> {
        Ok(store.raw_connection().query_row("SELECT COUNT(*) FROM sync_outbox", [], |r| r.get::<_, i64>(0))? as usize)
    }

    fn sign_entry(&self, doc: &DocId, entry_id: &EntryId, ct: &[u8]) -> [u8; 64] {
        self.key.sign(&entry_signing_bytes(&self.clinic, doc, &self.key.1, entry_id, ct))
    }

    /// Turn every local change not yet queued into a sealed, signed entry in the offline
    /// queue. Works offline; the queue and the "sent" heads move in one transaction.
    pub fn enqueue_local_changes(&self, store: &mut Store) -> SyncResult<usize> {
        let docs = store.document_ids()?;
        let mut n = 0;
        for (doc_id, _) in docs {
            let heads = store.doc_heads(&doc_id)?;
            let sent: Option<Vec<u8>> = store
                .raw_connection()
                .query_row("SELECT sent_heads FROM sync_docs WHERE doc_id = ?1", [&doc_id], |r| r.get(0))
                .optional()?;
            let sent_heads = sent.as_deref().map(heads_from).unwrap_or_default();
            if heads_bytes(&heads) == heads_bytes(&sent_heads) {
                continue;
            }
            let changes = store.changes_since(&doc_id, &sent_heads)?;
            if changes.is_empty() {
                continue;
            }
            let opaque = self.content.opaque_doc_id(&doc_id);
            let payload = Payload { doc_id: doc_id.clone(), heads: heads.iter().map(|h| h.0).collect(), changes };
            let ct = self.content.seal(&self.clinic, &opaque, &encode(&payload))?;
            let entry_id = EntryId(rand::random());
            let sig = self.sign_entry(&opaque, &entry_id, &ct);
            let tx = store.raw_connection().transaction()?;
            tx.execute(
                "INSERT INTO sync_outbox(doc, entry_id, sig, body) VALUES (?1, ?2, ?3, ?4)",
                params![&opaque.0[..], &entry_id.0[..], &sig[..], &ct],
            )?;
            tx.execute(
                "INSERT INTO sync_docs(doc_id, sent_heads, since_snapshot_bytes) VALUES (?1, ?2, ?3)
                 ON CONFLICT(doc_id) DO UPDATE SET sent_heads = excluded.sent_heads,
                   since_snapshot_bytes = since_snapshot_bytes + excluded.since_snapshot_bytes",
                params![&doc_id, heads_bytes(&heads), ct.len() as i64],
            )?;
            tx.commit()?;
            n += 1;
        }
        Ok(n)
    }

    /// Send the offline queue; rows leave it only once the relay acknowledged them (durably).
    pub fn push(&self, store: &mut Store, report: &mut SyncReport) -> SyncResult<()> {
        loop {
            let rows: Vec<(i64, NewEntry)> = {
                let conn = store.raw_connection();
                let mut st =
                    conn.prepare("SELECT id, doc, entry_id, sig, body FROM sync_outbox ORDER BY id LIMIT ?1")?;
                let rows = st.query_map([APPEND_BATCH as i64], |r| {
                    let id: i64 = r.get(0)?;
                    let doc: Vec<u8> = r.get(1)?;
                    let eid: Vec<u8> = r.get(2)?;
                    let sig: Vec<u8> = r.get(3)?;
                    Ok((id, doc, eid, sig, r.get::<_, Vec<u8>>(4)?))
                })?;
                let mut out = Vec::new();
                let mut bytes = 0;
                for row in rows {
                    let (id, doc, eid, sig, body) = row?;
                    if !out.is_empty() && bytes + body.len() > APPEND_BYTES {
                        break;
                    }
                    bytes += body.len();
                    let (Ok(doc), Ok(eid), Ok(sig)) =
                        (<[u8; 16]>::try_from(doc), <[u8; 16]>::try_from(eid), <[u8; 64]>::try_from(sig))
                    else {
                        continue;
                    };
                    out.push((
                        id,
                        NewEntry { doc: DocId(doc), entry_id: EntryId(eid), signature: sig, ciphertext: body },
                    ));
                }
                out
            };
            if rows.is_empty() {
                return Ok(());
            }
            let last = rows.last().map(|r| r.0).unwrap_or(0);
            let n = rows.len();
            let req = AppendRequest { entries: rows.into_iter().map(|r| r.1).collect() };
            report.round_trips += 1;
            let _: AppendResponse = self.http.post(&self.key, PATH_APPEND, &req)?;
            store.raw_connection().execute("DELETE FROM sync_outbox WHERE id <= ?1", [last])?;
            report.uploaded += n;
        }
    }

    fn refresh_devices(&mut self) -> SyncResult<()> {
        let r: DevicesResponse = self.http.get(&self.key, PATH_DEVICES)?;
        self.devices = r.devices.into_iter().map(|d| (d.device, d.public_key)).collect();
        Ok(())
    }

    /// Check an entry's author signature and open it. `None`: refused (counted in the report).
    fn open_entry(&mut self, e: &Entry) -> SyncResult<Option<Payload>> {
        if !self.devices.contains_key(&e.device) {
            self.refresh_devices()?;
        }
        let Some(pk) = self.devices.get(&e.device) else { return Ok(None) };
        let msg = entry_signing_bytes(&self.clinic, &e.doc, &e.device, &e.entry_id, &e.ciphertext);
        if UnparsedPublicKey::new(&ED25519, pk).verify(&msg, &e.signature).is_err() {
            return Ok(None);
        }
        let Ok(plain) = self.content.open(&self.clinic, &e.doc, &e.ciphertext) else { return Ok(None) };
        let Some(p) = decode::<Payload>(&plain) else { return Ok(None) };
        // The relay cannot move an entry to another document: the id is bound by the key.
        if self.content.opaque_doc_id(&p.doc_id) != e.doc || kind_of(&p.doc_id).is_none() {
            return Ok(None);
        }
        Ok(Some(p))
    }

    /// Merge opened payloads: one store transaction per document, then check that every head
    /// an author announced is now present. Returns the documents with missing heads.
    fn apply(&mut self, store: &mut Store, payloads: Vec<Payload>, report: &mut SyncReport) -> SyncResult<Vec<String>> {
        let mut order: Vec<String> = Vec::new();
        let mut by_doc: HashMap<String, (Vec<u8>, HashSet<[u8; 32]>)> = HashMap::new();
        for p in payloads {
            let e = by_doc.entry(p.doc_id.clone()).or_insert_with(|| {
                order.push(p.doc_id.clone());
                (Vec::new(), HashSet::new())
            });
            e.0.extend_from_slice(&p.changes);
            e.1.extend(p.heads);
        }
        let mut missing = Vec::new();
        for doc_id in order {
            let Some((bytes, announced)) = by_doc.remove(&doc_id) else { continue };
            let Some(kind) = kind_of(&doc_id) else { continue };
            let before: Option<Vec<u8>> = store
                .raw_connection()
                .query_row("SELECT sent_heads FROM sync_docs WHERE doc_id = ?1", [&doc_id], |r| r.get(0))
                .optional()?;
            let local_before = match store.doc_heads(&doc_id) {
                Ok(h) => Some(h),
                Err(CoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            store.apply_remote(&self.actor, &doc_id, kind, &bytes)?;
            report.applied_docs += 1;
            let after = store.doc_heads(&doc_id)?;
            // Nothing local was pending for this document: what we now hold came from the
            // relay, so it need not be uploaded again.
            let nothing_pending = match (&before, &local_before) {
                (Some(b), Some(l)) => *b == heads_bytes(l),
                (None, None) => true,
                _ => false,
            };
            if nothing_pending {
                store.raw_connection().execute(
                    "INSERT INTO sync_docs(doc_id, sent_heads) VALUES (?1, ?2)
                     ON CONFLICT(doc_id) DO UPDATE SET sent_heads = excluded.sent_heads",
                    params![&doc_id, heads_bytes(&after)],
                )?;
            }
            let after_set: HashSet<[u8; 32]> = after.iter().map(|h| h.0).collect();
            if announced.iter().all(|h| after_set.contains(h)) {
                continue;
            }
            // Some announced heads are not our heads: they must at least be in the history.
            let all = store.changes_since(&doc_id, &[])?;
            let mut full = AutoCommit::load(&all).map_err(CoreError::from)?;
            if announced.iter().any(|h| full.get_change_by_hash(&ChangeHash(*h)).is_none()) {
                missing.push(doc_id);
            }
        }
        Ok(missing)
    }

    fn pull_once(
        &mut self,
        store: &mut Store,
        req: &PullRequest,
        report: &mut SyncReport,
    ) -> SyncResult<(PullResponse, Vec<String>)> {
        report.round_trips += 1;
        let resp: PullResponse = self.http.post(&self.key, PATH_PULL, req)?;
        let mut payloads = Vec::new();
        for s in &resp.snapshots {
            let e = Entry {
                seq: s.covers_seq,
                doc: s.doc,
                device: s.device,
                entry_id: s.entry_id,
                signature: s.signature,
                ciphertext: s.ciphertext.clone(),
            };
            // Snapshots are signed over their own bytes (binding covers_seq).
            if !self.devices.contains_key(&s.device) {
                self.refresh_devices()?;
            }
            let ok = self.devices.get(&s.device).is_some_and(|pk| {
                let msg =
                    snapshot_signing_bytes(&self.clinic, &s.doc, &s.device, &s.entry_id, s.covers_seq, &s.ciphertext);
                UnparsedPublicKey::new(&ED25519, pk).verify(&msg, &s.signature).is_ok()
            });
            let opened = if ok {
                self.content.open(&self.clinic, &e.doc, &e.ciphertext).ok().and_then(|p| decode::<Payload>(&p))
            } else {
                None
            };
            match opened {
                Some(p) if self.content.opaque_doc_id(&p.doc_id) == s.doc => payloads.push(p),
                _ => report.rejected += 1,
            }
        }
        for e in &resp.entries {
            report.received += 1;
            if e.device == self.key.1 {
                continue;
            }
            match self.open_entry(e)? {
                Some(p) => payloads.push(p),
                None => report.rejected += 1,
            }
        }
        let missing = self.apply(store, payloads, report)?;
        Ok((resp, missing))
    }

    /// Catch up: "everything after my cursor" for my subscription, in as few requests as the
    /// answer size allows (one for a day offline), then repair gaps.
    pub fn pull(&mut self, store: &mut Store, report: &mut SyncReport) -> SyncResult<()> {
        let docs =
            Self::subscription(store)?.map(|d| d.iter().map(|id| self.content.opaque_doc_id(id)).collect::<Vec<_>>());
        let mut cursor = Self::cursor(store)?;
        let mut missing_all: Vec<String> = Vec::new();
        loop {
            let req =
                PullRequest { after: cursor, docs: docs.clone(), max_bytes: 8 << 20, with_snapshots: cursor == 0 };
            let (resp, missing) = self.pull_once(store, &req, report)?;
            missing_all.extend(missing);
            cursor = resp.cursor;
            Self::set_cursor(store, cursor)?;
            if !resp.more {
                break;
            }
        }
        report.cursor = cursor;
        // Documents still missing heads from an earlier round are checked again until the
        // relay hands over what it withheld (the cursor has moved past those entries).
        missing_all.extend(Self::suspects(store)?);
        missing_all.sort();
        missing_all.dedup();
        for doc_id in missing_all {
            // Fetch the whole document again: fills gaps left by lost or reordered entries.
            let req = PullRequest {
                after: 0,
                docs: Some(vec![self.content.opaque_doc_id(&doc_id)]),
                max_bytes: 64 << 20,
                with_snapshots: false,
            };
            let applied = report.applied_docs;
            let (_, still) = self.pull_once(store, &req, report)?;
            if still.contains(&doc_id) || report.applied_docs == applied {
                report.withheld.push(doc_id);
            } else {
                report.gaps_repaired.push(doc_id);
            }
        }
        Self::set_suspects(store, &report.withheld)?;
        Ok(())
    }

    /// Documents whose announced heads were still missing after a refetch (persisted).
    pub fn suspects(store: &mut Store) -> SyncResult<Vec<String>> {
        let v: Option<Vec<u8>> = store
            .raw_connection()
            .query_row("SELECT value FROM sync_kv WHERE key = 'suspect'", [], |r| r.get(0))
            .optional()?;
        Ok(v.map(|v| String::from_utf8_lossy(&v).split('\n').filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default())
    }

    fn set_suspects(store: &mut Store, docs: &[String]) -> SyncResult<()> {
        store.raw_connection().execute(
            "INSERT OR REPLACE INTO sync_kv(key, value) VALUES ('suspect', ?1)",
            [docs.join("\n").into_bytes()],
        )?;
        Ok(())
    }

    /// Upload encrypted snapshots of documents whose entries outgrew [`SNAPSHOT_AFTER_BYTES`],
    /// so new devices download one compressed document instead of the whole log.
    pub fn upload_snapshots(&self, store: &mut Store, report: &mut SyncReport) -> SyncResult<()> {
        if Self::pending(store)? > 0 {
            return Ok(()); // the snapshot must not cover entries the relay has not got
        }
        let cursor = Self::cursor(store)?;
        let sub = Self::subscription(store)?;
        let due: Vec<String> = {
            let conn = store.raw_connection();
            let mut st = conn.prepare("SELECT doc_id FROM sync_docs WHERE since_snapshot_bytes > ?1")?;
            st.query_map([SNAPSHOT_AFTER_BYTES], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?
        };
        for doc_id in due {
            if sub.as_ref().is_some_and(|s| !s.contains(&doc_id)) {
                continue;
            }
            let all = store.changes_since(&doc_id, &[])?;
            let mut full = AutoCommit::load(&all).map_err(CoreError::from)?;
            let heads = full.get_heads();
            let payload =
                Payload { doc_id: doc_id.clone(), heads: heads.iter().map(|h| h.0).collect(), changes: full.save() };
            let opaque = self.content.opaque_doc_id(&doc_id);
            let ct = self.content.seal(&self.clinic, &opaque, &encode(&payload))?;
            let entry_id = EntryId(rand::random());
            let sig =
                self.key.sign(&snapshot_signing_bytes(&self.clinic, &opaque, &self.key.1, &entry_id, cursor, &ct));
            let req = PutSnapshotRequest { doc: opaque, covers_seq: cursor, entry_id, signature: sig, ciphertext: ct };
            report.round_trips += 1;
            let _: bool = self.http.post(&self.key, PATH_SNAPSHOT, &req)?;
            store
                .raw_connection()
                .execute("UPDATE sync_docs SET since_snapshot_bytes = 0 WHERE doc_id = ?1", [&doc_id])?;
            report.snapshots_uploaded += 1;
        }
        Ok(())
    }

    /// One sync round: queue local changes, send the queue, catch up, compact.
    pub fn sync_once(&mut self, store: &mut Store) -> SyncResult<SyncReport> {
        let mut report = SyncReport::default();
        self.enqueue_local_changes(store)?;
        self.push(store, &mut report)?;
        self.pull(store, &mut report)?;
        // Catch-up may have brought changes the queue should not re-send; anything local
        // written meanwhile is queued next round.
        self.upload_snapshots(store, &mut report)?;
        Ok(report)
    }

    /// Sync, retrying retryable failures with backoff and jitter until `deadline` passes.
    pub fn sync_with_retry(
        &mut self,
        store: &mut Store,
        deadline: Duration,
        backoff: &mut Backoff,
    ) -> SyncResult<SyncReport> {
        let start = std::time::Instant::now();
        let mut rng = rand::thread_rng();
        loop {
            match self.sync_once(store) {
                Ok(r) => {
                    backoff.reset();
                    return Ok(r);
                }
                Err(e) if e.retryable() && start.elapsed() < deadline => {
                    std::thread::sleep(backoff.next_delay(&mut rng).min(deadline.saturating_sub(start.elapsed())));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Wait for the relay to push something for this device (WebSocket), then catch up.
    /// Returns after one push or when the connection ends.
    pub fn wait_for_push(&mut self, store: &mut Store) -> SyncResult<Option<SyncReport>> {
        let docs =
            Self::subscription(store)?.map(|d| d.iter().map(|id| self.content.opaque_doc_id(id)).collect::<Vec<_>>());
        let cursor = Self::cursor(store)?;
        let mut sock = self.http.open_push(&self.key, &WsClient::Subscribe { after: cursor, docs })?;
        loop {
            match sock.next_message() {
                Some(WsServer::Entries { entries, .. }) if entries.is_empty() => continue,
                Some(WsServer::Entries { .. }) | Some(WsServer::PullNeeded) => {
                    let mut report = SyncReport::default();
                    self.pull(store, &mut report)?;
                    return Ok(Some(report));
                }
                Some(WsServer::Revoked) => {
                    return Err(SyncError::Relay(HttpError::Relay {
                        status: 403,
                        body: ErrorBody::new(ErrorCode::Revoked, ""),
                    }));
                }
                None => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut rng = rand::thread_rng();
        let d: Vec<Duration> = (0..10).map(|_| b.next_delay(&mut rng)).collect();
        assert!(d[0] >= Duration::from_millis(50) && d[0] <= Duration::from_millis(100));
        assert!(d[9] >= Duration::from_millis(2500) && d[9] <= Duration::from_secs(5));
        let mut b2 = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let same = (0..10).filter(|i| b2.next_delay(&mut rng) == d[*i]).count();
        assert!(same < 10, "jittered");
    }

    #[test]
    fn document_kinds_come_from_ids() {
        assert_eq!(kind_of("chart:x"), Some(DocKind::Chart));
        assert_eq!(kind_of("roster:2026-11"), Some(DocKind::Roster));
        assert_eq!(kind_of("clinic"), Some(DocKind::Clinic));
        assert_eq!(kind_of("other"), None);
    }
}
