//! Relay storage: the trait every backend implements, and the embedded SQLite backend (the
//! default, one relay process). PostgreSQL, for several relay processes, is in [`crate::pg`].
//!
//! Appends go through one writer thread that group-commits whatever is queued in a single
//! transaction (`synchronous=FULL`), then acknowledges: an acknowledged append survives a
//! SIGKILL or power loss, and many small appends cost one fsync.

use houmon_sync_proto::*;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// PostgreSQL's own message and SQLSTATE (the driver's plain `db error` says nothing).
    #[error("PostgreSQL: {}", pg_message(.0))]
    Pg(#[from] postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(#[from] r2d2_postgres::r2d2::Error),
    /// The database could not take the write (connection lost, batch failed); nothing of it
    /// was acknowledged.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database was migrated by a newer relay: this one must not write to it.
    #[error("the database schema is version {found}, this relay knows up to {known}")]
    NewerSchema { found: i64, known: i64 },
    #[error("the relay is shutting down")]
    Closed,
    #[error("replayed request")]
    Replay,
    #[error("too many documents in one request ({0})")]
    TooManyDocs(usize),
    /// A code without the content key for a clinic that already has a device: it would make
    /// the redeeming device create a second content key.
    #[error("the clinic already has devices: codes for further devices must carry the content key")]
    KeylessForFounded,
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} ({})", d.message(), d.code().code()),
        None => e.to_string(),
    }
}

/// Something another relay process did to the shared database (PostgreSQL only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreEvent {
    /// Entries `after+1 ..= up_to` of `clinic` were committed by another process.
    Appended { clinic: ClinicId, after: u64, up_to: u64 },
    /// A device was revoked (by another process or the admin command line).
    Revoked(DeviceId),
    /// The notification channel was lost and re-established: events may have been missed.
    Missed,
}

/// Where a store delivers [`StoreEvent`]s.
pub type EventSink = Arc<dyn Fn(StoreEvent) + Send + Sync>;

/// A device as the relay knows it: public key only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub device: DeviceId,
    pub clinic: ClinicId,
    pub public_key: [u8; 32],
    pub role: Role,
    pub label: String,
    pub revoked: bool,
}

/// Outcome of an enrollment attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrolled {
    Ok(EnrollResponse),
    InvalidCode,
    /// A keyless (founding) code for a clinic that already has a device: refused, the code
    /// stays unspent. Never a second content key.
    KeylessForFounded,
}

/// The relay's storage. Every call is scoped by clinic: nothing here can reach another
/// clinic's rows. Calls block; the server runs them off the async runtime.
pub trait RelayStore: Send + Sync + 'static {
    /// Append entries authored by `device`; durable before returning. `nonce` (the request's)
    /// is recorded in the same transaction so a replayed append is refused even after a
    /// restart. Returns the per-entry results and the entries actually added (for push).
    fn append(
        &self,
        clinic: ClinicId,
        device: DeviceId,
        nonce: Option<([u8; 16], i64)>,
        entries: Vec<NewEntry>,
    ) -> StoreResult<(Vec<Appended>, Vec<Entry>)>;
    /// Entries after a cursor (and optionally snapshots), within a byte budget.
    fn pull(&self, clinic: ClinicId, req: &PullRequest, max_bytes: usize) -> StoreResult<PullResponse>;
    /// Keep the newest snapshot per document. Returns false when an equal or newer one exists.
    fn put_snapshot(&self, clinic: ClinicId, device: DeviceId, s: PutSnapshotRequest) -> StoreResult<bool>;
    fn device(&self, device: DeviceId) -> StoreResult<Option<DeviceRecord>>;
    fn devices(&self, clinic: ClinicId) -> StoreResult<Vec<DeviceInfo>>;
    fn create_clinic(&self, name: &str, now_ms: i64) -> StoreResult<ClinicId>;
    /// Whether any device (revoked or not) ever enrolled in the clinic: it then has a content
    /// key, and every further code must carry it.
    fn has_devices(&self, clinic: ClinicId) -> StoreResult<bool>;
    /// Store a code. A keyless code (`wrapped: None`, a founding code) is refused with
    /// [`StoreError::KeylessForFounded`] once the clinic has a device.
    fn create_code(
        &self,
        clinic: ClinicId,
        code_auth_hash: [u8; 32],
        role: Role,
        wrapped: Option<Vec<u8>>,
        expires_ms: i64,
    ) -> StoreResult<()>;
    /// Consume a one-time code and register the device's public key. A keyless code for a
    /// clinic that has a device is [`Enrolled::KeylessForFounded`] (checked in the same
    /// transaction, so two founding codes cannot both found).
    fn enroll(&self, code_auth_hash: [u8; 32], public_key: [u8; 32], label: &str, now_ms: i64)
    -> StoreResult<Enrolled>;
    /// Revoke a device of `clinic`. False when no such device in that clinic.
    fn revoke(&self, clinic: Option<ClinicId>, device: DeviceId) -> StoreResult<bool>;
    /// Note that `device` caught up at `now_ms` (its last sync, shown in device lists). Written
    /// at most once a minute per device, so a busy device costs no write per pull.
    fn seen(&self, device: DeviceId, now_ms: i64) -> StoreResult<()>;
    /// Nonces of mutating requests seen since `since_ms` (reloaded at start-up).
    fn recent_nonces(&self, since_ms: i64) -> StoreResult<Vec<(DeviceId, [u8; 16], i64)>>;
    /// Cheap liveness check of the database.
    fn healthy(&self) -> bool;
    /// Deliver what other relay processes do to the same database. A store that only one
    /// process can open (SQLite) has nothing to deliver.
    fn listen(&self, _sink: EventSink) -> StoreResult<()> {
        Ok(())
    }
    /// Finish queued writes and stop the writer. Idempotent.
    fn close(&self);
}

/// Schema versions, oldest first; a database records how many it has (`PRAGMA user_version`).
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE IF NOT EXISTS clinics(
  id BLOB PRIMARY KEY, name TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS devices(
  id BLOB PRIMARY KEY, clinic BLOB NOT NULL, public_key BLOB NOT NULL UNIQUE, role TEXT NOT NULL,
  label TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, enrolled_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS devices_clinic ON devices(clinic);
CREATE TABLE IF NOT EXISTS codes(
  hash BLOB PRIMARY KEY, clinic BLOB NOT NULL, role TEXT NOT NULL, wrapped BLOB,
  expires_ms INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS entries(
  clinic BLOB NOT NULL, seq INTEGER NOT NULL, doc BLOB NOT NULL, device BLOB NOT NULL,
  entry_id BLOB NOT NULL, sig BLOB NOT NULL, body BLOB NOT NULL,
  PRIMARY KEY(clinic, seq));
CREATE UNIQUE INDEX IF NOT EXISTS entries_id ON entries(clinic, device, entry_id);
CREATE INDEX IF NOT EXISTS entries_doc ON entries(clinic, doc, seq);
CREATE TABLE IF NOT EXISTS snapshots(
  clinic BLOB NOT NULL, doc BLOB NOT NULL, covers_seq INTEGER NOT NULL, device BLOB NOT NULL,
  entry_id BLOB NOT NULL, sig BLOB NOT NULL, body BLOB NOT NULL, PRIMARY KEY(clinic, doc));
CREATE TABLE IF NOT EXISTS nonces(
  device BLOB NOT NULL, nonce BLOB NOT NULL, time_ms INTEGER NOT NULL, PRIMARY KEY(device, nonce));
CREATE INDEX IF NOT EXISTS nonces_time ON nonces(time_ms);
",
    "
ALTER TABLE devices ADD COLUMN last_seen_ms INTEGER;
",
];

/// Bring the database to [`MIGRATIONS`]' version; refuse one a newer relay migrated.
fn migrate(c: &mut Connection) -> StoreResult<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::NewerSchema { found, known });
    }
    for m in &MIGRATIONS[found as usize..] {
        tx.execute_batch(m)?;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    // An acknowledged append must survive power loss (WAL + NORMAL may roll back).
    c.pragma_update(None, "synchronous", "FULL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    Ok(c)
}

/// An append's answer: per-entry results and the entries actually added (for push).
pub(crate) type AppendResult = StoreResult<(Vec<Appended>, Vec<Entry>)>;

/// One append queued for a backend's writer thread.
pub(crate) struct AppendJob {
    pub clinic: ClinicId,
    pub device: DeviceId,
    pub nonce: Option<([u8; 16], i64)>,
    pub entries: Vec<NewEntry>,
    pub reply: mpsc::SyncSender<AppendResult>,
}

/// A backend's writer thread and its queue: appends queued while the last commit ran are
/// committed together (group commit). Shared by both backends.
pub(crate) struct Writer {
    tx: Mutex<Option<mpsc::Sender<AppendJob>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub fn spawn(run: impl FnOnce(mpsc::Receiver<AppendJob>) + Send + 'static) -> StoreResult<Self> {
        let (tx, rx) = mpsc::channel();
        let t = std::thread::Builder::new()
            .name("relay-writer".into())
            .spawn(move || run(rx))
            .map_err(|_| StoreError::Closed)?;
        Ok(Self { tx: Mutex::new(Some(tx)), thread: Mutex::new(Some(t)) })
    }

    /// Queue an append and wait for its commit.
    pub fn append(
        &self,
        clinic: ClinicId,
        device: DeviceId,
        nonce: Option<([u8; 16], i64)>,
        entries: Vec<NewEntry>,
    ) -> AppendResult {
        let (reply, rx) = mpsc::sync_channel(1);
        {
            let w = self.tx.lock().map_err(|_| StoreError::Closed)?;
            let w = w.as_ref().ok_or(StoreError::Closed)?;
            w.send(AppendJob { clinic, device, nonce, entries, reply }).map_err(|_| StoreError::Closed)?;
        }
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    /// Commit what is queued, then stop the thread. Idempotent.
    pub fn close(&self) {
        if let Ok(mut w) = self.tx.lock() {
            w.take();
        }
        if let Ok(mut t) = self.thread.lock()
            && let Some(t) = t.take()
        {
            let _ = t.join();
        }
    }
}

/// The next group of queued appends (at most `max`); `None` once the queue is closed.
pub(crate) fn next_batch(rx: &mpsc::Receiver<AppendJob>, max: usize) -> Option<Vec<AppendJob>> {
    let mut jobs = vec![rx.recv().ok()?];
    while jobs.len() < max {
        match rx.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
    Some(jobs)
}

/// A pull naming more documents than [`MAX_PULL_DOCS`] is refused (bounded SQL).
pub(crate) fn check_pull_docs(req: &PullRequest) -> StoreResult<()> {
    match &req.docs {
        Some(d) if d.len() > MAX_PULL_DOCS => Err(StoreError::TooManyDocs(d.len())),
        _ => Ok(()),
    }
}

/// SQLite storage (the embedded default).
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    admin: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<Arc<Self>> {
        let mut admin = open_conn(path)?;
        migrate(&mut admin)?;
        let wconn = open_conn(path)?;
        let writer = Writer::spawn(move |rx| writer_loop(wconn, rx))?;
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            writer,
            readers: Mutex::new(Vec::new()),
            admin: Mutex::new(admin),
        }))
    }

    fn with_reader<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let c = self.readers.lock().map_err(|_| StoreError::Closed)?.pop();
        let mut c = match c {
            Some(c) => c,
            None => open_conn(&self.path)?,
        };
        let r = f(&mut c);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < 8
        {
            pool.push(c);
        }
        r
    }

    fn with_admin<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut c = self.admin.lock().map_err(|_| StoreError::Closed)?;
        f(&mut c)
    }
}

pub(crate) fn id16(b: Vec<u8>) -> [u8; 16] {
    let mut o = [0u8; 16];
    if b.len() == 16 {
        o.copy_from_slice(&b);
    }
    o
}
pub(crate) fn sig64(b: Vec<u8>) -> [u8; 64] {
    let mut o = [0u8; 64];
    if b.len() == 64 {
        o.copy_from_slice(&b);
    }
    o
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<AppendJob>) {
    let mut heads: HashMap<ClinicId, u64> = HashMap::new();
    // Group commit: take what queued up while the last fsync ran.
    while let Some(jobs) = next_batch(&rx, 256) {
        let saved_heads = heads.clone();
        let mut outcomes = Vec::with_capacity(jobs.len());
        let res = (|| -> rusqlite::Result<()> {
            let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for job in &jobs {
                let sp = tx.savepoint()?;
                let r = append_job(&sp, &mut heads, job);
                match r {
                    Ok(v) => {
                        sp.commit()?;
                        outcomes.push(Ok(v));
                    }
                    Err(e) => {
                        drop(sp);
                        outcomes.push(Err(e));
                    }
                }
            }
            tx.commit()
        })();
        match res {
            Ok(()) => {
                for (job, out) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(out);
                }
            }
            Err(e) => {
                // Nothing of this batch is acknowledged; the clients retry.
                heads = saved_heads;
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError::Db(clone_err(&e))));
                }
            }
        }
    }
}

fn clone_err(e: &rusqlite::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(e.to_string().into())
}

fn append_job(
    c: &Connection,
    heads: &mut HashMap<ClinicId, u64>,
    job: &AppendJob,
) -> StoreResult<(Vec<Appended>, Vec<Entry>)> {
    if let Some((nonce, time)) = job.nonce {
        let n = c
            .prepare_cached("INSERT OR IGNORE INTO nonces(device, nonce, time_ms) VALUES (?1, ?2, ?3)")?
            .execute(params![&job.device.0[..], &nonce[..], time])?;
        if n == 0 {
            return Err(StoreError::Replay);
        }
    }
    let head = match heads.get(&job.clinic) {
        Some(h) => *h,
        None => {
            let h: Option<i64> = c
                .prepare_cached("SELECT MAX(seq) FROM entries WHERE clinic = ?1")?
                .query_row([&job.clinic.0[..]], |r| r.get(0))?;
            h.unwrap_or(0) as u64
        }
    };
    let mut next = head;
    let mut results = Vec::with_capacity(job.entries.len());
    let mut added = Vec::new();
    for e in &job.entries {
        let existing: Option<i64> = c
            .prepare_cached("SELECT seq FROM entries WHERE clinic = ?1 AND device = ?2 AND entry_id = ?3")?
            .query_row(params![&job.clinic.0[..], &job.device.0[..], &e.entry_id.0[..]], |r| r.get(0))
            .optional()?;
        if let Some(seq) = existing {
            results.push(Appended { entry_id: e.entry_id, seq: seq as u64, duplicate: true });
            continue;
        }
        next += 1;
        c.prepare_cached(
            "INSERT INTO entries(clinic, seq, doc, device, entry_id, sig, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            &job.clinic.0[..],
            next as i64,
            &e.doc.0[..],
            &job.device.0[..],
            &e.entry_id.0[..],
            &e.signature[..],
            &e.ciphertext
        ])?;
        results.push(Appended { entry_id: e.entry_id, seq: next, duplicate: false });
        added.push(Entry {
            seq: next,
            doc: e.doc,
            device: job.device,
            entry_id: e.entry_id,
            signature: e.signature,
            ciphertext: e.ciphertext.clone(),
        });
    }
    heads.insert(job.clinic, next);
    Ok((results, added))
}

fn clinic_has_devices(c: &Connection, clinic: &[u8]) -> rusqlite::Result<bool> {
    Ok(c.query_row("SELECT EXISTS(SELECT 1 FROM devices WHERE clinic = ?1)", [clinic], |r| r.get::<_, i64>(0))? != 0)
}

/// One pull answer being filled within its byte budget; both backends feed it their rows
/// (snapshots first, then entries in `seq` order), so they answer alike.
pub(crate) struct PullPage {
    /// The clinic's last committed seq when the pull began (never below the cursor).
    pub head: u64,
    after: u64,
    docs: Option<HashSet<DocId>>,
    max_bytes: usize,
    used: usize,
    covered: HashMap<DocId, u64>,
    snapshots: Vec<Snapshot>,
    entries: Vec<Entry>,
    more: bool,
}

/// What an item costs in the budget beyond its ciphertext (ids, signature, framing).
const ITEM_OVERHEAD: usize = 128;

impl PullPage {
    pub fn new(req: &PullRequest, head: u64, max_bytes: usize) -> Self {
        Self {
            head: head.max(req.after),
            after: req.after,
            docs: req.docs.as_ref().map(|d| d.iter().copied().collect()),
            max_bytes,
            used: 0,
            covered: HashMap::new(),
            snapshots: Vec::new(),
            entries: Vec::new(),
            more: false,
        }
    }

    fn wanted(&self, doc: &DocId) -> bool {
        self.docs.as_ref().is_none_or(|d| d.contains(doc))
    }

    /// A stored snapshot with `covers_seq > after`: kept if its document is wanted.
    pub fn snapshot(&mut self, s: Snapshot) {
        if self.wanted(&s.doc) && s.covers_seq <= self.head {
            self.used += s.ciphertext.len() + ITEM_OVERHEAD;
            self.covered.insert(s.doc, s.covers_seq);
            self.snapshots.push(s);
        }
    }

    /// The next entry in `seq` order (already filtered to `after < seq <= head`). False when
    /// the budget is spent: stop feeding, the answer says `more`.
    pub fn entry(&mut self, e: Entry) -> bool {
        if !self.wanted(&e.doc) || self.covered.get(&e.doc).is_some_and(|c| e.seq <= *c) {
            return true;
        }
        let cost = e.ciphertext.len() + ITEM_OVERHEAD;
        if !self.entries.is_empty() && self.used + cost > self.max_bytes {
            self.more = true;
            return false;
        }
        self.used += cost;
        self.entries.push(e);
        true
    }

    pub fn finish(self) -> PullResponse {
        let cursor = if self.more { self.entries.last().map_or(self.after, |e| e.seq) } else { self.head };
        PullResponse { entries: self.entries, snapshots: self.snapshots, cursor, more: self.more }
    }
}

/// Most documents one pull may name (bounded SQL).
pub const MAX_PULL_DOCS: usize = 20_000;

impl RelayStore for SqliteStore {
    fn append(
        &self,
        clinic: ClinicId,
        device: DeviceId,
        nonce: Option<([u8; 16], i64)>,
        entries: Vec<NewEntry>,
    ) -> StoreResult<(Vec<Appended>, Vec<Entry>)> {
        self.writer.append(clinic, device, nonce, entries)
    }

    fn pull(&self, clinic: ClinicId, req: &PullRequest, max_bytes: usize) -> StoreResult<PullResponse> {
        check_pull_docs(req)?;
        self.with_reader(|c| {
            let tx = c.transaction()?;
            let head: Option<i64> = tx
                .prepare_cached("SELECT MAX(seq) FROM entries WHERE clinic = ?1")?
                .query_row([&clinic.0[..]], |r| r.get(0))?;
            let mut page = PullPage::new(req, head.unwrap_or(0) as u64, max_bytes);
            if req.with_snapshots {
                let mut st = tx.prepare_cached(
                    "SELECT doc, covers_seq, device, entry_id, sig, body FROM snapshots WHERE clinic = ?1 AND covers_seq > ?2",
                )?;
                let rows = st.query_map(params![&clinic.0[..], req.after as i64], |r| {
                    Ok(Snapshot {
                        doc: DocId(id16(r.get(0)?)),
                        covers_seq: r.get::<_, i64>(1)? as u64,
                        device: DeviceId(id16(r.get(2)?)),
                        entry_id: EntryId(id16(r.get(3)?)),
                        signature: sig64(r.get(4)?),
                        ciphertext: r.get(5)?,
                    })
                })?;
                for s in rows {
                    page.snapshot(s?);
                }
            }
            let mut args: Vec<Box<dyn rusqlite::ToSql>> =
                vec![Box::new(clinic.0.to_vec()), Box::new(req.after as i64), Box::new(page.head as i64)];
            let sql = match &req.docs {
                None => "SELECT seq, doc, device, entry_id, sig, body FROM entries WHERE clinic = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq".to_string(),
                Some(d) => {
                    let ph: Vec<String> = (0..d.len()).map(|i| format!("?{}", i + 4)).collect();
                    args.extend(d.iter().map(|id| Box::new(id.0.to_vec()) as Box<dyn rusqlite::ToSql>));
                    format!(
                        "SELECT seq, doc, device, entry_id, sig, body FROM entries WHERE clinic = ?1 AND seq > ?2 AND seq <= ?3 AND doc IN ({}) ORDER BY seq",
                        if ph.is_empty() { "NULL".to_string() } else { ph.join(",") }
                    )
                }
            };
            let mut st = tx.prepare(&sql)?;
            let mut rows = st.query(rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())))?;
            while let Some(r) = rows.next()? {
                let entry = Entry {
                    seq: r.get::<_, i64>(0)? as u64,
                    doc: DocId(id16(r.get(1)?)),
                    device: DeviceId(id16(r.get(2)?)),
                    entry_id: EntryId(id16(r.get(3)?)),
                    signature: sig64(r.get(4)?),
                    ciphertext: r.get(5)?,
                };
                if !page.entry(entry) {
                    break;
                }
            }
            Ok(page.finish())
        })
    }

    fn put_snapshot(&self, clinic: ClinicId, device: DeviceId, s: PutSnapshotRequest) -> StoreResult<bool> {
        self.with_admin(|c| {
            let n = c.execute(
                "INSERT INTO snapshots(clinic, doc, covers_seq, device, entry_id, sig, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(clinic, doc) DO UPDATE SET covers_seq = excluded.covers_seq, device = excluded.device,
                   entry_id = excluded.entry_id, sig = excluded.sig, body = excluded.body
                 WHERE excluded.covers_seq > snapshots.covers_seq",
                params![&clinic.0[..], &s.doc.0[..], s.covers_seq as i64, &device.0[..], &s.entry_id.0[..], &s.signature[..], &s.ciphertext],
            )?;
            Ok(n > 0)
        })
    }

    fn device(&self, device: DeviceId) -> StoreResult<Option<DeviceRecord>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT clinic, public_key, role, label, revoked FROM devices WHERE id = ?1")?
                .query_row([&device.0[..]], |r| {
                    let pk: Vec<u8> = r.get(1)?;
                    let mut public_key = [0u8; 32];
                    if pk.len() == 32 {
                        public_key.copy_from_slice(&pk);
                    }
                    Ok(DeviceRecord {
                        device,
                        clinic: ClinicId(id16(r.get(0)?)),
                        public_key,
                        role: Role::parse(&r.get::<_, String>(2)?).unwrap_or(Role::Member),
                        label: r.get(3)?,
                        revoked: r.get::<_, i64>(4)? != 0,
                    })
                })
                .optional()?)
        })
    }

    fn devices(&self, clinic: ClinicId) -> StoreResult<Vec<DeviceInfo>> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, public_key, role, label, revoked, last_seen_ms FROM devices WHERE clinic = ?1
                 ORDER BY enrolled_ms, id",
            )?;
            let rows = st.query_map([&clinic.0[..]], |r| {
                let pk: Vec<u8> = r.get(1)?;
                let mut public_key = [0u8; 32];
                if pk.len() == 32 {
                    public_key.copy_from_slice(&pk);
                }
                Ok(DeviceInfo {
                    device: DeviceId(id16(r.get(0)?)),
                    public_key,
                    role: Role::parse(&r.get::<_, String>(2)?).unwrap_or(Role::Member),
                    label: r.get(3)?,
                    revoked: r.get::<_, i64>(4)? != 0,
                    last_seen_ms: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn create_clinic(&self, name: &str, now_ms: i64) -> StoreResult<ClinicId> {
        let id = ClinicId(crate::random16());
        self.with_admin(|c| {
            c.execute(
                "INSERT INTO clinics(id, name, created_ms) VALUES (?1, ?2, ?3)",
                params![&id.0[..], name, now_ms],
            )?;
            Ok(id)
        })
    }

    fn has_devices(&self, clinic: ClinicId) -> StoreResult<bool> {
        self.with_admin(|c| Ok(clinic_has_devices(c, &clinic.0)?))
    }

    fn create_code(
        &self,
        clinic: ClinicId,
        hash: [u8; 32],
        role: Role,
        wrapped: Option<Vec<u8>>,
        expires_ms: i64,
    ) -> StoreResult<()> {
        self.with_admin(|c| {
            if wrapped.is_none() && clinic_has_devices(c, &clinic.0)? {
                return Err(StoreError::KeylessForFounded);
            }
            c.execute(
                "INSERT INTO codes(hash, clinic, role, wrapped, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&hash[..], &clinic.0[..], role.code(), wrapped, expires_ms],
            )?;
            Ok(())
        })
    }

    fn enroll(&self, hash: [u8; 32], public_key: [u8; 32], label: &str, now_ms: i64) -> StoreResult<Enrolled> {
        self.with_admin(|c| {
            // Immediate: a transaction that reads and then writes would otherwise fail at once
            // with BUSY when the writer thread committed in between (busy_timeout does not cover
            // a read lock's upgrade), and the device would see "unreachable" for a good code.
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let row: Option<(Vec<u8>, String, Option<Vec<u8>>)> = tx
                .query_row(
                    "SELECT clinic, role, wrapped FROM codes WHERE hash = ?1 AND used = 0 AND expires_ms > ?2",
                    params![&hash[..], now_ms],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((clinic, role, wrapped)) = row else {
                return Ok(Enrolled::InvalidCode);
            };
            let founding = wrapped.is_none();
            if founding && clinic_has_devices(&tx, &clinic)? {
                return Ok(Enrolled::KeylessForFounded);
            }
            // The founding device holds the only content key: it is the clinic's admin device
            // (only admins issue the codes that carry the key).
            let role = if founding { Role::Admin.code().to_string() } else { role };
            let taken: bool =
                tx.query_row("SELECT COUNT(*) FROM devices WHERE public_key = ?1", [&public_key[..]], |r| {
                    r.get::<_, i64>(0)
                })? > 0;
            if taken {
                return Ok(Enrolled::InvalidCode);
            }
            let device = DeviceId(crate::random16());
            // One-time: the code is spent and its wrapped key dropped from the relay.
            tx.execute("UPDATE codes SET used = 1, wrapped = NULL WHERE hash = ?1", [&hash[..]])?;
            tx.execute(
                "INSERT INTO devices(id, clinic, public_key, role, label, enrolled_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![&device.0[..], &clinic, &public_key[..], role, label, now_ms],
            )?;
            tx.commit()?;
            Ok(Enrolled::Ok(EnrollResponse {
                clinic: ClinicId(id16(clinic)),
                device,
                role: Role::parse(&role).unwrap_or(Role::Member),
                wrapped_content_key: wrapped,
                founding,
            }))
        })
    }

    fn seen(&self, device: DeviceId, now_ms: i64) -> StoreResult<()> {
        self.with_admin(|c| {
            c.prepare_cached(
                "UPDATE devices SET last_seen_ms = ?2 WHERE id = ?1 AND coalesce(last_seen_ms, 0) < ?2 - 60000",
            )?
            .execute(rusqlite::params![&device.0[..], now_ms])?;
            Ok(())
        })
    }

    fn revoke(&self, clinic: Option<ClinicId>, device: DeviceId) -> StoreResult<bool> {
        self.with_admin(|c| {
            let n = match clinic {
                Some(cl) => c.execute(
                    "UPDATE devices SET revoked = 1 WHERE id = ?1 AND clinic = ?2",
                    params![&device.0[..], &cl.0[..]],
                )?,
                None => c.execute("UPDATE devices SET revoked = 1 WHERE id = ?1", params![&device.0[..]])?,
            };
            Ok(n > 0)
        })
    }

    fn recent_nonces(&self, since_ms: i64) -> StoreResult<Vec<(DeviceId, [u8; 16], i64)>> {
        self.with_admin(|c| {
            c.execute("DELETE FROM nonces WHERE time_ms < ?1", [since_ms])?;
            let mut st = c.prepare("SELECT device, nonce, time_ms FROM nonces")?;
            let rows = st.query_map([], |r| Ok((DeviceId(id16(r.get(0)?)), id16(r.get(1)?), r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn healthy(&self) -> bool {
        self.with_reader(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)).is_ok()
    }

    fn close(&self) {
        self.writer.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(n: u8) -> [u8; 32] {
        [n; 32]
    }

    fn enroll(s: &SqliteStore, hash: [u8; 32], pk: u8) -> Enrolled {
        s.enroll(hash, [pk; 32], "t", 1).expect("enroll")
    }

    #[test]
    fn a_founding_code_founds_a_fresh_clinic_once_and_never_a_second_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = SqliteStore::open(&dir.path().join("r.db")).expect("open");
        let clinic = s.create_clinic("c", 0).expect("clinic");
        // Two founding codes issued before anyone enrolled (e.g. the first one was lost).
        s.create_code(clinic, code(1), Role::Admin, None, i64::MAX).expect("founding code");
        s.create_code(clinic, code(2), Role::Admin, None, i64::MAX).expect("second founding code");
        assert!(!s.has_devices(clinic).expect("devices"));
        // Control: on a fresh clinic the founding code works, and says it is founding.
        let Enrolled::Ok(first) = enroll(&s, code(1), 1) else { panic!("founding refused") };
        assert!(first.founding && first.wrapped_content_key.is_none());
        assert_eq!(first.role, Role::Admin);
        // The clinic now has a key: the other keyless code is refused and stays unspent.
        assert_eq!(enroll(&s, code(2), 2), Enrolled::KeylessForFounded);
        assert_eq!(enroll(&s, code(2), 2), Enrolled::KeylessForFounded, "not spent, still refused");
        // No new keyless code either; a code carrying the key is fine and is not founding.
        assert!(matches!(
            s.create_code(clinic, code(3), Role::Member, None, i64::MAX),
            Err(StoreError::KeylessForFounded)
        ));
        s.create_code(clinic, code(4), Role::Member, Some(vec![9; 48]), i64::MAX).expect("keyed code");
        let Enrolled::Ok(second) = enroll(&s, code(4), 4) else { panic!("keyed code refused") };
        assert!(!second.founding && second.wrapped_content_key == Some(vec![9; 48]));
        // A revoked device still means the clinic has a key.
        assert!(s.revoke(Some(clinic), first.device).expect("revoke"));
        assert!(s.revoke(Some(clinic), second.device).expect("revoke"));
        assert!(matches!(
            s.create_code(clinic, code(5), Role::Admin, None, i64::MAX),
            Err(StoreError::KeylessForFounded)
        ));
        // Another clinic is not affected.
        let other = s.create_clinic("d", 0).expect("clinic");
        s.create_code(other, code(6), Role::Member, None, i64::MAX).expect("founding code elsewhere");
        // The founding device is the admin device, whatever role the code named.
        assert!(
            matches!(enroll(&s, code(6), 6), Enrolled::Ok(r) if r.founding && r.clinic == other && r.role == Role::Admin)
        );
        s.close();
    }
}
