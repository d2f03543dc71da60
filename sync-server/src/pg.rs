//! PostgreSQL storage, for several relay processes on one database (a clinic group, a vendor
//! hosting many clinics). Each process is stateless apart from caches; the database orders
//! appends and carries events between processes.
//!
//! - **Order without gaps**: an append locks its clinic's row (`clinics.head`, `FOR UPDATE`),
//!   so appends of one clinic are serialised across processes and seqs are gapless; other
//!   clinics' appends do not wait. Each process group-commits the appends queued meanwhile
//!   in one transaction (one writer connection), as the SQLite backend does.
//! - **Events**: every append and revocation sends a `NOTIFY houmon_relay` inside its
//!   transaction (delivered only on commit). Each process LISTENs on its own connection and
//!   turns notifications into [`StoreEvent`]s; a lost connection reports
//!   [`StoreEvent::Missed`] so every device pulls rather than waits.
//! - **Migrations** are numbered in `houmon_schema`, applied under an advisory lock (two
//!   relays starting together migrate once); a database newer than this relay is refused.
//!
//! Must never: store anything the SQLite backend does not (the relay is blind either way), or
//! run its blocking client on an async runtime thread (the server calls it off the runtime).

use crate::store::*;
use houmon_sync_proto::*;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::r2d2::{Pool, PooledConnection};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The notification channel shared by every relay process on the database.
const CHANNEL: &str = "houmon_relay";
/// Advisory lock key for migrations ("houmon" in ASCII).
const MIGRATION_LOCK: i64 = 0x686f_756d_6f6e;

/// Schema versions, oldest first. Never edit one that shipped; add the next.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE clinics(
  id BYTEA PRIMARY KEY, name TEXT NOT NULL, created_ms BIGINT NOT NULL,
  head BIGINT NOT NULL DEFAULT 0);
CREATE TABLE devices(
  id BYTEA PRIMARY KEY, clinic BYTEA NOT NULL REFERENCES clinics(id), public_key BYTEA NOT NULL UNIQUE,
  role TEXT NOT NULL, label TEXT NOT NULL, revoked BOOLEAN NOT NULL DEFAULT false, enrolled_ms BIGINT NOT NULL);
CREATE INDEX devices_clinic ON devices(clinic);
CREATE TABLE codes(
  hash BYTEA PRIMARY KEY, clinic BYTEA NOT NULL REFERENCES clinics(id), role TEXT NOT NULL, wrapped BYTEA,
  expires_ms BIGINT NOT NULL, used BOOLEAN NOT NULL DEFAULT false);
CREATE TABLE entries(
  clinic BYTEA NOT NULL, seq BIGINT NOT NULL, doc BYTEA NOT NULL, device BYTEA NOT NULL,
  entry_id BYTEA NOT NULL, sig BYTEA NOT NULL, body BYTEA NOT NULL, PRIMARY KEY(clinic, seq));
CREATE UNIQUE INDEX entries_id ON entries(clinic, device, entry_id);
CREATE INDEX entries_doc ON entries(clinic, doc, seq);
CREATE TABLE snapshots(
  clinic BYTEA NOT NULL, doc BYTEA NOT NULL, covers_seq BIGINT NOT NULL, device BYTEA NOT NULL,
  entry_id BYTEA NOT NULL, sig BYTEA NOT NULL, body BYTEA NOT NULL, PRIMARY KEY(clinic, doc));
CREATE TABLE nonces(
  device BYTEA NOT NULL, nonce BYTEA NOT NULL, time_ms BIGINT NOT NULL, PRIMARY KEY(device, nonce));
CREATE INDEX nonces_time ON nonces(time_ms);
",
    "
ALTER TABLE devices ADD COLUMN last_seen_ms BIGINT;
",
];

/// Entries read per query while filling a pull page (bounded memory per round).
const PULL_CHUNK: i64 = 256;

type Conn = PooledConnection<PostgresConnectionManager<NoTls>>;

/// PostgreSQL storage. Cloning the pool is cheap; every call takes a connection for its
/// duration only.
pub struct PgStore {
    url: String,
    pool: Pool<PostgresConnectionManager<NoTls>>,
    /// This process's tag in notifications, so it ignores its own appends (already pushed).
    origin: String,
    stop: Arc<AtomicBool>,
    writer: Writer,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("PgStore").field("origin", &self.origin).finish()
    }
}

fn config(url: &str) -> StoreResult<postgres::Config> {
    let mut c: postgres::Config = url.parse()?;
    c.application_name("houmon-relay").connect_timeout(Duration::from_secs(10));
    Ok(c)
}

impl PgStore {
    /// Connect, migrate, and keep a pool of `max_connections`.
    pub fn open(url: &str, max_connections: u32) -> StoreResult<Arc<Self>> {
        let mut c = config(url)?.connect(NoTls)?;
        migrate(&mut c)?;
        drop(c);
        let pool = Pool::builder()
            .max_size(max_connections)
            .connection_timeout(Duration::from_secs(10))
            .build(PostgresConnectionManager::new(config(url)?, NoTls))?;
        let origin = hex::encode(crate::random16());
        let (u, o) = (url.to_string(), origin.clone());
        let writer = Writer::spawn(move |rx| writer_loop(u, o, rx))?;
        Ok(Arc::new(Self { url: url.to_string(), pool, origin, stop: Arc::new(AtomicBool::new(false)), writer }))
    }

    fn conn(&self) -> StoreResult<Conn> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        Ok(self.pool.get()?)
    }
}

fn migrate(c: &mut Client) -> StoreResult<()> {
    let mut tx = c.transaction()?;
    // Released at commit: two relays starting at once migrate one after the other.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS houmon_schema(version INTEGER NOT NULL)")?;
    let found: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM houmon_schema", &[])?.get(0);
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::NewerSchema { found, known });
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(m)?;
        tx.execute("INSERT INTO houmon_schema(version) VALUES ($1)", &[&(i as i32 + 1)])?;
    }
    tx.commit()?;
    Ok(())
}

fn notify(tx: &mut postgres::Transaction<'_>, payload: &str) -> StoreResult<()> {
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
    Ok(())
}

/// Parse a notification payload (`a:ORIGIN:CLINIC:AFTER:UP_TO` or `r:DEVICE`). Appends of
/// `own` origin are dropped: that process pushed them already.
fn parse_event(payload: &str, own: &str) -> Option<StoreEvent> {
    let mut p = payload.split(':');
    match p.next()? {
        "a" => {
            let origin = p.next()?;
            let clinic = ClinicId::from_hex(p.next()?)?;
            let after = p.next()?.parse().ok()?;
            let up_to = p.next()?.parse().ok()?;
            (origin != own && p.next().is_none()).then_some(StoreEvent::Appended { clinic, after, up_to })
        }
        "r" => {
            let d = DeviceId::from_hex(p.next()?)?;
            p.next().is_none().then_some(StoreEvent::Revoked(d))
        }
        _ => None,
    }
}

fn listen_loop(url: String, origin: String, stop: Arc<AtomicBool>, sink: EventSink) {
    let mut first = true;
    while !stop.load(Ordering::SeqCst) {
        let client = config(&url).and_then(|c| Ok(c.connect(NoTls)?));
        let mut client = match client {
            Ok(mut c) => match c.batch_execute(&format!("LISTEN {CHANNEL}")) {
                Ok(()) => c,
                Err(e) => {
                    eprintln!("houmon-relay: cannot LISTEN on PostgreSQL ({}); retrying", StoreError::from(e));
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            },
            Err(e) => {
                eprintln!("houmon-relay: PostgreSQL notifications unavailable ({e}); retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if !first {
            // Whatever was sent while we were away is lost: every device must pull.
            sink(StoreEvent::Missed);
        }
        first = false;
        while !stop.load(Ordering::SeqCst) {
            let next = client.notifications().timeout_iter(Duration::from_millis(500)).next();
            match next {
                Ok(Some(n)) => {
                    if let Some(ev) = parse_event(n.payload(), &origin) {
                        sink(ev);
                    }
                }
                Ok(None) => {
                    if client.is_closed() {
                        break;
                    }
                }
                Err(e) => {
                    eprintln!("houmon-relay: PostgreSQL notifications lost ({}); reconnecting", StoreError::from(e));
                    break;
                }
            }
        }
    }
}

/// Per-entry results and the entries actually added (for push).
type AppendAnswer = (Vec<Appended>, Vec<Entry>);

/// Most appends committed together (one fsync for all of them).
const GROUP_COMMIT: usize = 128;

/// One writer connection per process: appends queued while the last commit ran go into one
/// transaction (group commit). The clinic rows stay locked until the commit, so without this
/// every append of a busy clinic would wait for the previous one's fsync.
fn writer_loop(url: String, origin: String, rx: std::sync::mpsc::Receiver<AppendJob>) {
    let mut client: Option<Client> = None;
    while let Some(jobs) = next_batch(&rx, GROUP_COMMIT) {
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            client = config(&url).and_then(|c| Ok(c.connect(NoTls)?)).map_err(|e| eprintln!("houmon-relay: {e}")).ok();
        }
        let Some(c) = client.as_mut() else {
            for j in jobs {
                let _ = j.reply.send(Err(StoreError::Unavailable("cannot connect to PostgreSQL".into())));
            }
            continue;
        };
        match append_batch(c, &origin, &jobs) {
            Ok(outcomes) => {
                for (job, out) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(out);
                }
            }
            Err(e) => {
                // Nothing of this batch is acknowledged; the clients retry.
                let msg = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError::Unavailable(msg.clone())));
                }
            }
        }
    }
}

/// One transaction for `jobs`: each in its own savepoint (a replayed request fails alone),
/// clinic rows locked in id order (two processes never wait on each other in a cycle).
fn append_batch(c: &mut Client, origin: &str, jobs: &[AppendJob]) -> StoreResult<Vec<AppendResult>> {
    let mut tx = c.transaction()?;
    let mut clinics: Vec<ClinicId> = jobs.iter().filter(|j| !j.entries.is_empty()).map(|j| j.clinic).collect();
    clinics.sort_by_key(|c| c.0);
    clinics.dedup();
    let mut heads: HashMap<ClinicId, (u64, u64)> = HashMap::new();
    for cl in clinics {
        let h: i64 = tx.query_one("SELECT head FROM clinics WHERE id = $1 FOR UPDATE", &[&&cl.0[..]])?.get(0);
        heads.insert(cl, (h as u64, h as u64));
    }
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut sp = tx.savepoint("job")?;
        let head = heads.get(&job.clinic).map_or(0, |h| h.1);
        match append_job(&mut sp, origin, job, head) {
            Ok((next, out)) => {
                sp.commit()?;
                if let Some(h) = heads.get_mut(&job.clinic) {
                    h.1 = next;
                }
                outcomes.push(Ok(out));
            }
            Err(e) => {
                sp.rollback()?;
                outcomes.push(Err(e));
            }
        }
    }
    for (cl, (from, to)) in heads {
        if to > from {
            tx.execute("UPDATE clinics SET head = $2 WHERE id = $1", &[&&cl.0[..], &(to as i64)])?;
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// One request's entries after `head`; returns the new head and the answer.
fn append_job(
    tx: &mut postgres::Transaction<'_>,
    origin: &str,
    job: &AppendJob,
    head: u64,
) -> StoreResult<(u64, AppendAnswer)> {
    let (clinic, device) = (job.clinic, job.device);
    if let Some((nonce, time)) = job.nonce {
        let n = tx.execute(
            "INSERT INTO nonces(device, nonce, time_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&&device.0[..], &&nonce[..], &time],
        )?;
        if n == 0 {
            return Err(StoreError::Replay);
        }
    }
    if job.entries.is_empty() {
        return Ok((head, (Vec::new(), Vec::new())));
    }
    let ids: Vec<&[u8]> = job.entries.iter().map(|e| &e.entry_id.0[..]).collect();
    let mut known: HashMap<[u8; 16], u64> = tx
        .query(
            "SELECT entry_id, seq FROM entries WHERE clinic = $1 AND device = $2 AND entry_id = ANY($3)",
            &[&&clinic.0[..], &&device.0[..], &ids],
        )?
        .iter()
        .map(|r| (id16(r.get(0)), r.get::<_, i64>(1) as u64))
        .collect();
    let mut next = head;
    let mut results = Vec::with_capacity(job.entries.len());
    let mut added = Vec::new();
    for e in &job.entries {
        if let Some(seq) = known.get(&e.entry_id.0) {
            results.push(Appended { entry_id: e.entry_id, seq: *seq, duplicate: true });
            continue;
        }
        next += 1;
        known.insert(e.entry_id.0, next);
        results.push(Appended { entry_id: e.entry_id, seq: next, duplicate: false });
        added.push(Entry {
            seq: next,
            doc: e.doc,
            device,
            entry_id: e.entry_id,
            signature: e.signature,
            ciphertext: e.ciphertext.clone(),
        });
    }
    if !added.is_empty() {
        let seqs: Vec<i64> = added.iter().map(|e| e.seq as i64).collect();
        let docs: Vec<&[u8]> = added.iter().map(|e| &e.doc.0[..]).collect();
        let eids: Vec<&[u8]> = added.iter().map(|e| &e.entry_id.0[..]).collect();
        let sigs: Vec<&[u8]> = added.iter().map(|e| &e.signature[..]).collect();
        let bodies: Vec<&[u8]> = added.iter().map(|e| &e.ciphertext[..]).collect();
        tx.execute(
            "INSERT INTO entries(clinic, seq, doc, device, entry_id, sig, body)
             SELECT $1, s, d, $2, i, g, b FROM UNNEST($3::BIGINT[], $4::BYTEA[], $5::BYTEA[], $6::BYTEA[], $7::BYTEA[])
               AS t(s, d, i, g, b)",
            &[&&clinic.0[..], &&device.0[..], &seqs, &docs, &eids, &sigs, &bodies],
        )?;
        notify(tx, &format!("a:{origin}:{}:{head}:{next}", clinic.to_hex()))?;
    }
    Ok((next, (results, added)))
}

fn row_entry(r: &postgres::Row) -> Entry {
    Entry {
        seq: r.get::<_, i64>(0) as u64,
        doc: DocId(id16(r.get(1))),
        device: DeviceId(id16(r.get(2))),
        entry_id: EntryId(id16(r.get(3))),
        signature: sig64(r.get(4)),
        ciphertext: r.get(5),
    }
}

fn key32(b: Vec<u8>) -> [u8; 32] {
    let mut o = [0u8; 32];
    if b.len() == 32 {
        o.copy_from_slice(&b);
    }
    o
}

fn has_devices(c: &mut impl postgres::GenericClient, clinic: &[u8]) -> StoreResult<bool> {
    Ok(c.query_one("SELECT EXISTS(SELECT 1 FROM devices WHERE clinic = $1)", &[&clinic])?.get(0))
}

impl RelayStore for PgStore {
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
        let mut c = self.conn()?;
        // One snapshot for the whole answer: head, snapshots and entries agree.
        let mut tx =
            c.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).read_only(true).start()?;
        let head: i64 =
            tx.query_opt("SELECT head FROM clinics WHERE id = $1", &[&&clinic.0[..]])?.map_or(0, |r| r.get(0));
        let mut page = PullPage::new(req, head as u64, max_bytes);
        let after = req.after as i64;
        if req.with_snapshots {
            for r in tx.query(
                "SELECT doc, covers_seq, device, entry_id, sig, body FROM snapshots WHERE clinic = $1 AND covers_seq > $2",
                &[&&clinic.0[..], &after],
            )? {
                page.snapshot(Snapshot {
                    doc: DocId(id16(r.get(0))),
                    covers_seq: r.get::<_, i64>(1) as u64,
                    device: DeviceId(id16(r.get(2))),
                    entry_id: EntryId(id16(r.get(3))),
                    signature: sig64(r.get(4)),
                    ciphertext: r.get(5),
                });
            }
        }
        let docs: Option<Vec<&[u8]>> = req.docs.as_ref().map(|d| d.iter().map(|x| &x.0[..]).collect());
        let top = page.head as i64;
        let mut from = after;
        'fill: loop {
            let rows = tx.query(
                "SELECT seq, doc, device, entry_id, sig, body FROM entries
                 WHERE clinic = $1 AND seq > $2 AND seq <= $3 AND ($4::BYTEA[] IS NULL OR doc = ANY($4))
                 ORDER BY seq LIMIT $5",
                &[&&clinic.0[..], &from, &top, &docs, &PULL_CHUNK],
            )?;
            let full = rows.len() as i64 == PULL_CHUNK;
            for r in &rows {
                let e = row_entry(r);
                from = e.seq as i64;
                if !page.entry(e) {
                    break 'fill;
                }
            }
            if !full {
                break;
            }
        }
        tx.commit()?;
        Ok(page.finish())
    }

    fn put_snapshot(&self, clinic: ClinicId, device: DeviceId, s: PutSnapshotRequest) -> StoreResult<bool> {
        let n = self.conn()?.execute(
            "INSERT INTO snapshots(clinic, doc, covers_seq, device, entry_id, sig, body) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT(clinic, doc) DO UPDATE SET covers_seq = excluded.covers_seq, device = excluded.device,
               entry_id = excluded.entry_id, sig = excluded.sig, body = excluded.body
             WHERE excluded.covers_seq > snapshots.covers_seq",
            &[
                &&clinic.0[..],
                &&s.doc.0[..],
                &(s.covers_seq as i64),
                &&device.0[..],
                &&s.entry_id.0[..],
                &&s.signature[..],
                &s.ciphertext,
            ],
        )?;
        Ok(n > 0)
    }

    fn device(&self, device: DeviceId) -> StoreResult<Option<DeviceRecord>> {
        let row = self.conn()?.query_opt(
            "SELECT clinic, public_key, role, label, revoked FROM devices WHERE id = $1",
            &[&&device.0[..]],
        )?;
        Ok(row.map(|r| DeviceRecord {
            device,
            clinic: ClinicId(id16(r.get(0))),
            public_key: key32(r.get(1)),
            role: Role::parse(r.get(2)).unwrap_or(Role::Member),
            label: r.get(3),
            revoked: r.get(4),
        }))
    }

    fn devices(&self, clinic: ClinicId) -> StoreResult<Vec<DeviceInfo>> {
        let rows = self.conn()?.query(
            "SELECT id, public_key, role, label, revoked, last_seen_ms FROM devices WHERE clinic = $1
             ORDER BY enrolled_ms, id",
            &[&&clinic.0[..]],
        )?;
        Ok(rows
            .iter()
            .map(|r| DeviceInfo {
                device: DeviceId(id16(r.get(0))),
                public_key: key32(r.get(1)),
                role: Role::parse(r.get(2)).unwrap_or(Role::Member),
                label: r.get(3),
                revoked: r.get(4),
                last_seen_ms: r.get(5),
            })
            .collect())
    }

    fn create_clinic(&self, name: &str, now_ms: i64) -> StoreResult<ClinicId> {
        let id = ClinicId(crate::random16());
        self.conn()?
            .execute("INSERT INTO clinics(id, name, created_ms) VALUES ($1, $2, $3)", &[&&id.0[..], &name, &now_ms])?;
        Ok(id)
    }

    fn has_devices(&self, clinic: ClinicId) -> StoreResult<bool> {
        has_devices(&mut *self.conn()?, &clinic.0)
    }

    fn create_code(
        &self,
        clinic: ClinicId,
        hash: [u8; 32],
        role: Role,
        wrapped: Option<Vec<u8>>,
        expires_ms: i64,
    ) -> StoreResult<()> {
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        // Serialised with enrollment on the clinic row: a keyless code cannot slip in as the
        // first device enrolls.
        tx.execute("SELECT 1 FROM clinics WHERE id = $1 FOR UPDATE", &[&&clinic.0[..]])?;
        if wrapped.is_none() && has_devices(&mut tx, &clinic.0)? {
            return Err(StoreError::KeylessForFounded);
        }
        tx.execute(
            "INSERT INTO codes(hash, clinic, role, wrapped, expires_ms) VALUES ($1, $2, $3, $4, $5)",
            &[&&hash[..], &&clinic.0[..], &role.code(), &wrapped, &expires_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn enroll(&self, hash: [u8; 32], public_key: [u8; 32], label: &str, now_ms: i64) -> StoreResult<Enrolled> {
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        let row = tx.query_opt(
            "SELECT clinic, role, wrapped FROM codes WHERE hash = $1 AND NOT used AND expires_ms > $2 FOR UPDATE",
            &[&&hash[..], &now_ms],
        )?;
        let Some(row) = row else {
            return Ok(Enrolled::InvalidCode);
        };
        let (clinic, role, wrapped): (Vec<u8>, String, Option<Vec<u8>>) = (row.get(0), row.get(1), row.get(2));
        // Two founding codes redeemed at once on two relays: the clinic row decides.
        tx.execute("SELECT 1 FROM clinics WHERE id = $1 FOR UPDATE", &[&clinic])?;
        let founding = wrapped.is_none();
        if founding && has_devices(&mut tx, &clinic)? {
            return Ok(Enrolled::KeylessForFounded);
        }
        let role = if founding { Role::Admin } else { Role::parse(&role).unwrap_or(Role::Member) };
        let taken: bool =
            tx.query_one("SELECT EXISTS(SELECT 1 FROM devices WHERE public_key = $1)", &[&&public_key[..]])?.get(0);
        if taken {
            return Ok(Enrolled::InvalidCode);
        }
        let device = DeviceId(crate::random16());
        tx.execute("UPDATE codes SET used = true, wrapped = NULL WHERE hash = $1", &[&&hash[..]])?;
        tx.execute(
            "INSERT INTO devices(id, clinic, public_key, role, label, enrolled_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&&device.0[..], &clinic, &&public_key[..], &role.code(), &label, &now_ms],
        )?;
        tx.commit()?;
        Ok(Enrolled::Ok(EnrollResponse {
            clinic: ClinicId(id16(clinic)),
            device,
            role,
            wrapped_content_key: wrapped,
            founding,
        }))
    }

    fn seen(&self, device: DeviceId, now_ms: i64) -> StoreResult<()> {
        self.conn()?.execute(
            "UPDATE devices SET last_seen_ms = $2::BIGINT WHERE id = $1 AND coalesce(last_seen_ms, 0) < $2::BIGINT - 60000",
            &[&&device.0[..], &now_ms],
        )?;
        Ok(())
    }

    fn revoke(&self, clinic: Option<ClinicId>, device: DeviceId) -> StoreResult<bool> {
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        let n = match clinic {
            Some(cl) => tx.execute(
                "UPDATE devices SET revoked = true WHERE id = $1 AND clinic = $2",
                &[&&device.0[..], &&cl.0[..]],
            )?,
            None => tx.execute("UPDATE devices SET revoked = true WHERE id = $1", &[&&device.0[..]])?,
        };
        if n > 0 {
            // Every process closes the device's sockets and forgets its cached record.
            notify(&mut tx, &format!("r:{}", device.to_hex()))?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn recent_nonces(&self, since_ms: i64) -> StoreResult<Vec<(DeviceId, [u8; 16], i64)>> {
        let mut c = self.conn()?;
        c.execute("DELETE FROM nonces WHERE time_ms < $1", &[&since_ms])?;
        let rows = c.query("SELECT device, nonce, time_ms FROM nonces", &[])?;
        Ok(rows.iter().map(|r| (DeviceId(id16(r.get(0))), id16(r.get(1)), r.get(2))).collect())
    }

    fn healthy(&self) -> bool {
        self.conn().and_then(|mut c| Ok(c.query_one("SELECT 1", &[])?.get::<_, i32>(0) == 1)).unwrap_or(false)
    }

    fn listen(&self, sink: EventSink) -> StoreResult<()> {
        let (url, origin, stop) = (self.url.clone(), self.origin.clone(), self.stop.clone());
        std::thread::Builder::new()
            .name("relay-listen".into())
            .spawn(move || listen_loop(url, origin, stop, sink))
            .map_err(|_| StoreError::Closed)?;
        Ok(())
    }

    fn close(&self) {
        // Queued appends are committed (and answered) before the writer stops.
        self.writer.close();
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_parse_and_own_appends_are_dropped() {
        let c = ClinicId([7; 16]);
        let d = DeviceId([9; 16]);
        let a = format!("a:other:{}:4:9", c.to_hex());
        assert_eq!(parse_event(&a, "me"), Some(StoreEvent::Appended { clinic: c, after: 4, up_to: 9 }));
        assert_eq!(parse_event(&a, "other"), None, "its own append is already pushed");
        assert_eq!(parse_event(&format!("r:{}", d.to_hex()), "me"), Some(StoreEvent::Revoked(d)));
        for bad in ["", "x:1", "a:o:zz:1:2", "a:o:00:1", &format!("r:{}:extra", d.to_hex()), &format!("{a}:5")] {
            assert_eq!(parse_event(bad, "me"), None, "{bad:?}");
        }
    }
}
