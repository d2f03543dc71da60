//! `houmon-store`: the encrypted local store (ARCHITECTURE.md, *Local store*): one SQLCipher
//! database holding every Automerge document as a snapshot plus incremental changes, the SQL
//! projections that make start-up fast, the audit log ([`audit`]), the diagnostics log, sealed
//! exports ([`export`]), staff PIN verifiers ([`staff_pin`]) and the sync client's state
//! ([`sync_state`]). Every use case that changes a document goes through [`Store`].
//!
//! - Each commit is appended as an incremental change (`save_after` the heads we persisted,
//!   never `save_incremental` after a load: see reference/crdt_sync.md, load-cursor pitfall).
//! - When a document's increments outgrow its snapshot they are compacted into a new snapshot,
//!   in [`Store::idle_maintenance`], not inside the save a nurse is waiting for (a save compacts
//!   inline only past a hard limit, when nobody ran the maintenance).
//! - A use case returns only after its transaction is durable (WAL, `synchronous=FULL`). WAL
//!   checkpoints, which fsync the main database, also run in [`Store::idle_maintenance`]; the
//!   automatic checkpoint stays on as a backstop at a larger WAL size.
//! - The database, its WAL and journal are encrypted by SQLCipher with a random data key;
//!   temp storage is kept in memory; exports are AES-GCM sealed; diagnostics go into the
//!   encrypted database. Nothing with patient data is written anywhere else.
//!
//! Must never: write patient data outside the encrypted database and sealed exports, return
//! from a write before it is durable, change or delete an audit entry, or keep a staff PIN
//! (only its verifier).

pub mod audit;
pub mod export;
pub mod schema;
pub mod staff_pin;
pub mod sync_state;

/// The roster month key (`YYYY-MM`) of a date, as the documents name it.
pub use houmon_docs::month_key;

use audit::{AuditAction, AuditEntry, AuditVerification};
use automerge::{AutoCommit, ChangeHash};
use chrono::{DateTime, NaiveDate, Utc};
use houmon_docs::{AuditDoc, AuditRecord, ChartDoc, ClinicDoc, RosterMonthDoc};
use houmon_keys::{KeyProtection, KeyWrapper};
use houmon_model::error::{CoreError, Result};
use houmon_model::*;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use zeroize::Zeroize;

/// The database file name inside the store directory.
pub const DB_FILE: &str = "houmon.db";

/// Tuning knobs; the defaults suit a tablet.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Compact a document once its increments exceed both its snapshot and this many bytes.
    pub compaction_min_bytes: i64,
    /// How many documents stay loaded in memory.
    pub cached_docs: usize,
    /// Compact inside a save after all once increments exceed this many times the compaction
    /// threshold (the app never ran [`Store::idle_maintenance`]): keeps loads bounded.
    pub compaction_hard_factor: i64,
    /// SQLite's own checkpoint (inside a commit) only past this many WAL pages; normally
    /// [`Store::idle_maintenance`] checkpoints long before.
    pub wal_backstop_pages: i64,
    /// [`Store::idle_maintenance`] checkpoints once the WAL holds this many pages.
    pub wal_checkpoint_pages: i64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            compaction_min_bytes: 32 * 1024,
            cached_docs: 8,
            compaction_hard_factor: 4,
            wal_backstop_pages: 8000,
            wal_checkpoint_pages: 256,
        }
    }
}

/// What [`Store::idle_maintenance`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Maintenance {
    /// Documents whose increments were folded into a new snapshot.
    pub compacted: usize,
    /// WAL pages copied into the database by a checkpoint (0: none was due).
    pub checkpointed_pages: i64,
}

/// Kind of document, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocKind {
    Chart,
    Roster,
    Clinic,
    /// A device's published access history (`audit:‹device›`).
    Audit,
}

impl DocKind {
    fn code(self) -> &'static str {
        match self {
            DocKind::Chart => "chart",
            DocKind::Roster => "roster",
            DocKind::Clinic => "clinic",
            DocKind::Audit => "audit",
        }
    }
}

/// The document of a device's published access history (relay device id, hex).
pub fn audit_doc_id(device_hex: &str) -> String {
    format!("audit:{device_hex}")
}

/// Document ids: `chart:<patient>`, `roster:<YYYY-MM>`, `clinic`.
pub fn chart_doc_id(p: PatientId) -> String {
    format!("chart:{p}")
}
pub fn roster_doc_id(month: &str) -> String {
    format!("roster:{month}")
}
pub const CLINIC_DOC_ID: &str = "clinic";

/// A row of today's roster for one staff member, from the projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TodayVisit {
    pub visit: VisitId,
    pub date: NaiveDate,
    pub start: String,
    pub end: String,
    pub patient: PatientId,
    pub patient_name: String,
    pub patient_kana: String,
    pub kind: VisitKind,
    pub status: VisitStatus,
}

struct OpenDoc {
    doc: AutoCommit,
    /// Heads already persisted: the next change row is `save_after(heads)`.
    heads: Vec<ChangeHash>,
    snapshot_bytes: i64,
    incremental_bytes: i64,
}

trait AmDoc: Sized {
    fn wrap(d: AutoCommit) -> Self;
    fn unwrap(self) -> AutoCommit;
}
impl AmDoc for ChartDoc {
    fn wrap(d: AutoCommit) -> Self {
        ChartDoc::from_automerge(d)
    }
    fn unwrap(self) -> AutoCommit {
        self.into_automerge()
    }
}
impl AmDoc for RosterMonthDoc {
    fn wrap(d: AutoCommit) -> Self {
        RosterMonthDoc::from_automerge(d)
    }
    fn unwrap(self) -> AutoCommit {
        self.into_automerge()
    }
}
impl AmDoc for AuditDoc {
    fn wrap(d: AutoCommit) -> Self {
        AuditDoc::from_automerge(d)
    }
    fn unwrap(self) -> AutoCommit {
        self.into_automerge()
    }
}
impl AmDoc for ClinicDoc {
    fn wrap(d: AutoCommit) -> Self {
        ClinicDoc::from_automerge(d)
    }
    fn unwrap(self) -> AutoCommit {
        self.into_automerge()
    }
}

type Clock = Box<dyn Fn() -> DateTime<Utc> + Send>;

/// The store. One per device; not shared between processes.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    protection: KeyProtection,
    options: StoreOptions,
    cache: HashMap<String, OpenDoc>,
    lru: VecDeque<String>,
    /// Documents whose increments outgrew the threshold, compacted when the app is idle.
    pending_compaction: BTreeSet<String>,
    /// Pages in the WAL after the last commit (from the WAL hook).
    wal_pages: std::sync::Arc<AtomicI64>,
    clock: Clock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).field("protection", &self.protection).finish_non_exhaustive()
    }
}

/// The audit record a use case writes with its change.
struct Audit<'a> {
    actor: &'a Actor,
    action: AuditAction,
    /// Empty: the change is the app's own bookkeeping (publishing its access history, taking
    /// in another device's), not a person's act, and no entry is written.
    target: String,
    detail: &'a str,
}

impl<'a> Audit<'a> {
    fn unrecorded(actor: &'a Actor) -> Self {
        Self { actor, action: AuditAction::Edit, target: String::new(), detail: "" }
    }
}

impl Store {
    /// Open (or create) the store in `dir`, with the data key wrapped by `wrapper`.
    pub fn open(dir: &Path, wrapper: &dyn KeyWrapper) -> Result<Self> {
        Self::open_with(dir, wrapper, StoreOptions::default())
    }

    pub fn open_with(dir: &Path, wrapper: &dyn KeyWrapper, options: StoreOptions) -> Result<Self> {
        let (mut conn, protection) = open_encrypted(dir, wrapper)?;
        schema::migrate_to(&mut conn, schema::CURRENT_VERSION)?;
        // Our WAL hook replaces SQLite's automatic checkpoint: it counts the WAL's pages for
        // the idle maintenance and checkpoints inside a commit only past the backstop.
        let wal_pages = std::sync::Arc::new(AtomicI64::new(0));
        let seen = wal_pages.clone();
        let backstop = options.wal_backstop_pages.max(1);
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
            seen.store(pages.into(), Ordering::Relaxed);
            if i64::from(pages) >= backstop {
                wal.checkpoint()?;
                seen.store(0, Ordering::Relaxed);
            }
            Ok(())
        }))?;
        Ok(Self {
            conn,
            dir: dir.to_path_buf(),
            protection,
            options,
            cache: HashMap::new(),
            lru: VecDeque::new(),
            pending_compaction: BTreeSet::new(),
            wal_pages,
            clock: Box::new(Utc::now),
        })
    }

    /// How the data key is protected (the UI warns about [`KeyProtection::FileFallback`]).
    pub fn key_protection(&self) -> &KeyProtection {
        &self.protection
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replace the clock (tests, the synthetic clinic generator).
    pub fn set_clock(&mut self, clock: impl Fn() -> DateTime<Utc> + Send + 'static) {
        self.clock = Box::new(clock);
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Schema version on disk.
    pub fn schema_version(&self) -> Result<i64> {
        schema::version(&self.conn)
    }

    // ---------------------------------------------------------------- documents

    fn load(&self, doc_id: &str) -> Result<Option<OpenDoc>> {
        // Loaded straight from SQLite's buffer: no copy of the snapshot.
        let loaded: Option<(Result<AutoCommit>, i64)> = self
            .conn
            .prepare_cached("SELECT snapshot, snapshot_bytes FROM documents WHERE doc_id = ?1")?
            .query_row([doc_id], |r| {
                let doc = match r.get_ref(0)?.as_blob_or_null()? {
                    Some(s) if !s.is_empty() => AutoCommit::load(s).map_err(CoreError::from),
                    _ => Ok(AutoCommit::new()),
                };
                Ok((doc, r.get(1)?))
            })
            .optional()?;
        let Some((doc, snapshot_bytes)) = loaded else {
            return Ok(None);
        };
        let mut doc = doc?;
        let mut stmt = self.conn.prepare_cached("SELECT bytes FROM changes WHERE doc_id = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([doc_id])?;
        let mut incr = Vec::new();
        while let Some(r) = rows.next()? {
            incr.extend_from_slice(r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?);
        }
        if !incr.is_empty() {
            doc.load_incremental(&incr)?;
        }
        // Our own cursor: everything loaded is persisted already.
        let heads = doc.get_heads();
        Ok(Some(OpenDoc { doc, heads, snapshot_bytes, incremental_bytes: incr.len() as i64 }))
    }

    fn take(&mut self, doc_id: &str) -> Result<Option<OpenDoc>> {
        if let Some(d) = self.cache.remove(doc_id) {
            self.lru.retain(|k| k != doc_id);
            return Ok(Some(d));
        }
        self.load(doc_id)
    }

    fn put_back(&mut self, doc_id: &str, d: OpenDoc) {
        self.cache.insert(doc_id.to_string(), d);
        self.lru.push_back(doc_id.to_string());
        while self.lru.len() > self.options.cached_docs.max(1) {
            if let Some(old) = self.lru.pop_front() {
                self.cache.remove(&old);
            }
        }
    }

    /// Drop every loaded document (the next access reads from disk).
    pub fn clear_cache(&mut self) {
        self.cache.clear();
        self.lru.clear();
    }

    /// Run `op` on a document, then persist its new changes, projections and audit entry in
    /// one durable transaction. On any error the in-memory document is dropped so memory never
    /// runs ahead of disk.
    fn doc_op<D: AmDoc, T>(
        &mut self,
        doc_id: &str,
        kind: DocKind,
        create: Option<&dyn Fn() -> Result<AutoCommit>>,
        op: impl FnOnce(&mut D) -> Result<T>,
        audit: Audit<'_>,
        project: impl FnOnce(&Transaction<'_>, &mut D, &T) -> Result<()>,
    ) -> Result<T> {
        let od = match self.take(doc_id)? {
            Some(od) => od,
            None => match create {
                Some(c) => OpenDoc { doc: c()?, heads: Vec::new(), snapshot_bytes: 0, incremental_bytes: 0 },
                None => {
                    return Err(CoreError::NotFound { what: kind.code() });
                }
            },
        };
        let OpenDoc { doc, heads, snapshot_bytes, incremental_bytes } = od;
        let mut d = D::wrap(doc);
        let out = match op(&mut d) {
            Ok(v) => v,
            Err(e) => {
                let mut doc = d.unwrap();
                doc.rollback();
                // The document is unchanged on disk and in memory: keep it cached.
                self.put_back(doc_id, OpenDoc { doc, heads, snapshot_bytes, incremental_bytes });
                return Err(e);
            }
        };
        let mut doc = d.unwrap();
        let bytes = doc.save_after(&heads);
        let mut d = D::wrap(doc);
        let now = self.now();
        let tx = self.conn.transaction()?;
        let res = (|| -> Result<()> {
            tx.execute(
                "INSERT INTO documents(doc_id, kind) VALUES (?1, ?2) ON CONFLICT(doc_id) DO NOTHING",
                params![doc_id, kind.code()],
            )?;
            // Only the change row: the documents row (with its snapshot) is not rewritten per
            // save; the increment total is recomputed from the rows when a document is loaded.
            if !bytes.is_empty() {
                tx.prepare_cached("INSERT INTO changes(doc_id, bytes) VALUES (?1, ?2)")?
                    .execute(params![doc_id, bytes])?;
            }
            project(&tx, &mut d, &out)?;
            if !audit.target.is_empty() {
                audit::append(&tx, audit.actor, audit.action, &audit.target, audit.detail, now)?;
            }
            Ok(())
        })();
        // Not acknowledged on error: the in-memory change is dropped so a retry starts from disk.
        res.and_then(|_| tx.commit().map_err(CoreError::from))?;
        let mut doc = d.unwrap();
        let mut od = OpenDoc {
            heads: doc.get_heads(),
            doc,
            snapshot_bytes,
            incremental_bytes: incremental_bytes + bytes.len() as i64,
        };
        let threshold = od.snapshot_bytes.max(self.options.compaction_min_bytes);
        if od.incremental_bytes > threshold.saturating_mul(self.options.compaction_hard_factor.max(1)) {
            // Nobody ran the idle maintenance for a long time: compact now to bound load time.
            // A failed compaction loses nothing: the increments are still there.
            let _ = self.compact_doc(doc_id, &mut od);
        } else if od.incremental_bytes > threshold {
            self.pending_compaction.insert(doc_id.to_string());
        }
        self.put_back(doc_id, od);
        Ok(out)
    }

    fn compact_doc(&mut self, doc_id: &str, od: &mut OpenDoc) -> Result<()> {
        let snapshot = od.doc.save();
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE documents SET snapshot = ?2, snapshot_bytes = ?3, incremental_bytes = 0 WHERE doc_id = ?1",
            params![doc_id, snapshot, snapshot.len() as i64],
        )?;
        tx.execute("DELETE FROM changes WHERE doc_id = ?1", [doc_id])?;
        tx.commit()?;
        od.snapshot_bytes = snapshot.len() as i64;
        od.incremental_bytes = 0;
        self.pending_compaction.remove(doc_id);
        Ok(())
    }

    /// Deferred upkeep for when the app is idle (no save waiting): compact documents whose
    /// increments outgrew their snapshot, and checkpoint the WAL into the database once it holds
    /// [`StoreOptions::wal_checkpoint_pages`]. Neither changes what is stored or how durable it
    /// is: every acknowledged save is already fsynced in the WAL. Call it after a save once the
    /// user paused (the shell: about a second after the last save), and before suspending.
    pub fn idle_maintenance(&mut self) -> Result<Maintenance> {
        let mut done = Maintenance::default();
        while let Some(doc_id) = self.pending_compaction.pop_first() {
            let Some(mut od) = self.take(&doc_id)? else { continue };
            let r = self.compact_doc(&doc_id, &mut od);
            self.put_back(&doc_id, od);
            r?;
            done.compacted += 1;
        }
        // Not after every save: the first commit after a checkpoint restarts the WAL, which
        // costs that save an extra sync of the WAL header.
        let pages = self.wal_pages.load(Ordering::Relaxed);
        if pages >= self.options.wal_checkpoint_pages.max(1) {
            // (busy, frames in the WAL, frames copied)
            let (_, _, copied): (i64, i64, i64) =
                self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            self.wal_pages.store(0, Ordering::Relaxed);
            done.checkpointed_pages = copied;
            // Restart the WAL now, while idle: the first commit into a restarted WAL also
            // syncs the WAL header, and that should not be the nurse's next save.
            let now = self.now().timestamp_millis();
            self.conn
                .prepare_cached(
                    "INSERT INTO meta(key, value) VALUES ('maintained_at', ?1)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                )?
                .execute([now.to_string()])?;
        }
        Ok(done)
    }

    /// Whether [`Self::idle_maintenance`] has compaction work waiting.
    pub fn maintenance_due(&self) -> bool {
        !self.pending_compaction.is_empty()
    }

    /// Compact one document now (normally automatic).
    pub fn compact(&mut self, doc_id: &str) -> Result<()> {
        let mut od = self.take(doc_id)?.ok_or(CoreError::NotFound { what: "document" })?;
        let r = self.compact_doc(doc_id, &mut od);
        self.put_back(doc_id, od);
        r
    }

    /// Read a document without changing it (cached).
    fn read_doc<D: AmDoc, T>(
        &mut self,
        doc_id: &str,
        what: &'static str,
        f: impl FnOnce(&mut D) -> Result<T>,
    ) -> Result<T> {
        let od = self.take(doc_id)?.ok_or(CoreError::NotFound { what })?;
        let OpenDoc { doc, heads, snapshot_bytes, incremental_bytes } = od;
        let mut d = D::wrap(doc);
        let r = f(&mut d);
        self.put_back(doc_id, OpenDoc { doc: d.unwrap(), heads, snapshot_bytes, incremental_bytes });
        r
    }

    // ---------------------------------------------------------------- clinic

    /// Create the clinic document (first enrollment or demo mode).
    pub fn init_clinic(&mut self, actor: &Actor, id: ClinicId, name: &str, code: &str) -> Result<()> {
        let now = self.now();
        let (name, code) = (name.to_string(), code.to_string());
        self.doc_op::<ClinicDoc, ()>(
            CLINIC_DOC_ID,
            DocKind::Clinic,
            Some(&move || Ok(ClinicDoc::create(id, &name, &code, now)?.into_automerge())),
            |_| Ok(()),
            Audit { actor, action: AuditAction::Edit, target: CLINIC_DOC_ID.into(), detail: "init clinic" },
            |tx, _, _| {
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES ('clinic_id', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [id.to_string()],
                )?;
                Ok(())
            },
        )
    }

    pub fn clinic(&mut self) -> Result<Clinic> {
        self.read_doc::<ClinicDoc, _>(CLINIC_DOC_ID, "clinic", |c| Ok(c.read()?.0))
    }

    pub fn put_staff(&mut self, actor: &Actor, staff: &Staff) -> Result<()> {
        let now = self.now();
        self.doc_op::<ClinicDoc, ()>(
            CLINIC_DOC_ID,
            DocKind::Clinic,
            None,
            |c| c.put_staff(staff, now),
            Audit { actor, action: AuditAction::Edit, target: format!("staff:{}", staff.id), detail: "staff" },
            |_, _, _| Ok(()),
        )
    }

    pub fn enroll_device(&mut self, actor: &Actor, device: &Device) -> Result<()> {
        self.doc_op::<ClinicDoc, ()>(
            CLINIC_DOC_ID,
            DocKind::Clinic,
            None,
            |c| c.enroll_device(device),
            Audit {
                actor,
                action: AuditAction::Edit,
                target: format!("device:{}", device.id),
                detail: "enroll device",
            },
            |_, _, _| Ok(()),
        )
    }

    /// Set the clinic's details (the caller checked the 医療機関コード and the device's role).
    pub fn set_clinic_details(
        &mut self,
        actor: &Actor,
        name: &str,
        code: &str,
        address: &str,
        phone: &str,
    ) -> Result<()> {
        let now = self.now();
        self.doc_op::<ClinicDoc, ()>(
            CLINIC_DOC_ID,
            DocKind::Clinic,
            None,
            |c| c.set_details(name, code, address, phone, now),
            Audit { actor, action: AuditAction::Edit, target: CLINIC_DOC_ID.into(), detail: "clinic details" },
            |_, _, _| Ok(()),
        )
    }

    /// Mark a device revoked in the clinic document, listing it first (with `label`) if it was
    /// only known to the relay.
    pub fn revoke_device(&mut self, actor: &Actor, device: DeviceId, label: &str) -> Result<()> {
        let now = self.now();
        let label = label.to_string();
        self.doc_op::<ClinicDoc, ()>(
            CLINIC_DOC_ID,
            DocKind::Clinic,
            None,
            |c| {
                if !c.has_device(device)? {
                    c.enroll_device(&Device { id: device, label, enrolled_at: now, revoked: false })?;
                }
                c.revoke_device(device, now)
            },
            Audit { actor, action: AuditAction::Edit, target: format!("device:{device}"), detail: "revoke device" },
            |_, _, _| Ok(()),
        )
    }

    fn clinic_id(&self) -> Result<ClinicId> {
        let v: Option<String> =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'clinic_id'", [], |r| r.get(0)).optional()?;
        v.and_then(|s| ClinicId::parse(&s)).ok_or(CoreError::NotFound { what: "clinic" })
    }

    // ---------------------------------------------------------------- patients and charts

    /// Register a patient (new chart). The id is fresh, never derived from demographics.
    pub fn register_patient(&mut self, actor: &Actor, demographics: &Demographics) -> Result<PatientId> {
        let id = PatientId::new();
        let now = self.now();
        self.doc_op::<ChartDoc, ()>(
            &chart_doc_id(id),
            DocKind::Chart,
            Some(&move || Ok(ChartDoc::create(id)?.into_automerge())),
            |c| c.set_demographics(demographics, now),
            Audit { actor, action: AuditAction::Edit, target: chart_doc_id(id), detail: "register patient" },
            |tx, _, _| project_patient(tx, id, demographics),
        )?;
        Ok(id)
    }

    /// Register a patient with their care team and contacts (登録). The id is fresh.
    pub fn register_patient_with(
        &mut self,
        actor: &Actor,
        demographics: &Demographics,
        profile: &PatientProfile,
    ) -> Result<PatientId> {
        let id = PatientId::new();
        let now = self.now();
        self.doc_op::<ChartDoc, ()>(
            &chart_doc_id(id),
            DocKind::Chart,
            Some(&move || Ok(ChartDoc::create(id)?.into_automerge())),
            |c| c.set_registration(demographics, profile, actor.staff, now),
            Audit { actor, action: AuditAction::Edit, target: chart_doc_id(id), detail: "register patient" },
            |tx, _, _| project_patient(tx, id, demographics),
        )?;
        Ok(id)
    }

    /// Register many patients (a CSV import) in one transaction: all of them or none.
    pub fn register_patients(
        &mut self,
        actor: &Actor,
        rows: &[(Demographics, PatientProfile)],
    ) -> Result<Vec<PatientId>> {
        let now = self.now();
        let mut docs = Vec::with_capacity(rows.len());
        for (d, p) in rows {
            let id = PatientId::new();
            let mut chart = ChartDoc::create(id)?;
            chart.set_registration(d, p, actor.staff, now)?;
            docs.push((id, chart.automerge().save(), d));
        }
        let tx = self.conn.transaction()?;
        for (id, snapshot, d) in &docs {
            tx.execute(
                "INSERT INTO documents(doc_id, kind, snapshot, snapshot_bytes) VALUES (?1, 'chart', ?2, ?3)",
                params![chart_doc_id(*id), snapshot, snapshot.len() as i64],
            )?;
            project_patient(&tx, *id, d)?;
            audit::append(&tx, actor, AuditAction::Edit, &chart_doc_id(*id), "import patient", now)?;
        }
        tx.commit()?;
        Ok(docs.into_iter().map(|(id, _, _)| id).collect())
    }

    /// Edit a patient's registered details; only changed fields are written (変更履歴 keeps the
    /// rest of the story).
    pub fn update_patient(
        &mut self,
        actor: &Actor,
        patient: PatientId,
        demographics: &Demographics,
        profile: &PatientProfile,
    ) -> Result<()> {
        let by = actor.staff;
        self.chart_op(
            actor,
            patient,
            AuditAction::Edit,
            "edit patient",
            |c, now| c.set_registration(demographics, profile, by, now),
            |tx, _, _| project_patient(tx, patient, demographics),
        )
    }

    /// End care (or resume it with `None`); nothing is deleted.
    pub fn end_care(&mut self, actor: &Actor, patient: PatientId, end: Option<CareEnd>) -> Result<()> {
        let by = actor.staff;
        self.chart_op(
            actor,
            patient,
            AuditAction::Edit,
            if end.is_some() { "end care" } else { "resume care" },
            |c, now| c.end_care(end, by, now),
            |tx, _, _| project_care_end(tx, patient, end),
        )
    }

    /// The change history of a patient's registered details (not audited as a view: the
    /// caller opened the chart).
    pub fn patient_history(&mut self, patient: PatientId) -> Result<Vec<PatientEdit>> {
        self.read_doc::<ChartDoc, _>(&chart_doc_id(patient), "patient", |c| Ok(c.patient_history()))
    }

    /// The patient list, from the projection (no document is loaded).
    pub fn patient_list(&self) -> Result<Vec<PatientSummary>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT patient_id, name, kana, birth, last_visit, care_end FROM patients ORDER BY kana, patient_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, name_kana, birth, last, end) = row?;
            let Some(id) = PatientId::parse(&id) else { continue };
            out.push(PatientSummary {
                id,
                name,
                name_kana,
                birth_date: birth.and_then(|b| b.parse().ok()),
                last_visit: last.and_then(DateTime::from_timestamp_millis),
                care_ended: end.as_deref().and_then(houmon_docs::care_end_from),
            });
        }
        Ok(out)
    }

    /// Read a chart for the app's own bookkeeping (the day list's check states, a use case's
    /// before/after): not a person viewing it, so not audited as a view. What a person opens
    /// goes through [`Self::open_chart`].
    pub fn read_chart(&mut self, patient: PatientId) -> Result<Chart> {
        self.read_doc::<ChartDoc, _>(&chart_doc_id(patient), "patient", |c| c.read())
    }

    /// Open a chart for viewing (audited as a view).
    pub fn open_chart(&mut self, actor: &Actor, patient: PatientId) -> Result<Chart> {
        let id = chart_doc_id(patient);
        let chart = self.read_doc::<ChartDoc, _>(&id, "patient", |c| c.read())?;
        self.append_view(actor, &id)?;
        Ok(chart)
    }

    /// A view event is committed without waiting for fsync: it survives an app crash at once
    /// (the WAL is written) and becomes power-loss durable with the next durable write or
    /// checkpoint. Opening a chart therefore costs no fsync; edits still wait for theirs.
    fn append_view(&mut self, actor: &Actor, target: &str) -> Result<()> {
        let now = self.now();
        self.conn.prepare_cached("PRAGMA synchronous = NORMAL")?.execute([])?;
        let r = (|| -> Result<()> {
            let tx = self.conn.transaction()?;
            audit::append(&tx, actor, AuditAction::View, target, "open chart", now)?;
            tx.commit()?;
            Ok(())
        })();
        self.conn.prepare_cached("PRAGMA synchronous = FULL")?.execute([])?;
        r
    }

    fn chart_op<T>(
        &mut self,
        actor: &Actor,
        patient: PatientId,
        action: AuditAction,
        detail: &str,
        op: impl FnOnce(&mut ChartDoc, DateTime<Utc>) -> Result<T>,
        project: impl FnOnce(&Transaction<'_>, &mut ChartDoc, &T) -> Result<()>,
    ) -> Result<T> {
        let now = self.now();
        let id = chart_doc_id(patient);
        self.doc_op::<ChartDoc, T>(
            &id,
            DocKind::Chart,
            None,
            |c| op(c, now),
            Audit { actor, action, target: id.clone(), detail },
            project,
        )
    }

    pub fn set_demographics(&mut self, actor: &Actor, patient: PatientId, d: &Demographics) -> Result<()> {
        self.chart_op(
            actor,
            patient,
            AuditAction::Edit,
            "demographics",
            |c, now| c.set_demographics(d, now),
            |tx, _, _| project_patient(tx, patient, d),
        )
    }

    /// Start a visit (訪問開始): opens the visit record and marks the roster entry in progress.
    pub fn start_visit(&mut self, actor: &Actor, patient: PatientId, visit: VisitId, kind: VisitKind) -> Result<()> {
        let started = self.now();
        self.chart_op(
            actor,
            patient,
            AuditAction::Edit,
            "start visit",
            |c, now| c.start_visit(visit, kind, actor.staff, now),
            |tx, _, _| {
                tx.execute(
                    "UPDATE patients SET last_visit = ?2 WHERE patient_id = ?1",
                    params![patient.to_string(), started.timestamp_millis()],
                )?;
                Ok(())
            },
        )?;
        self.roster_status_if_planned(actor, visit, VisitStatus::InProgress)
    }

    /// End a visit (訪問終了): departure time, roster entry done.
    pub fn end_visit(&mut self, actor: &Actor, patient: PatientId, visit: VisitId) -> Result<()> {
        self.chart_op(
            actor,
            patient,
            AuditAction::Edit,
            "end visit",
            |c, now| c.end_visit(visit, now),
            |_, _, _| Ok(()),
        )?;
        self.roster_status_if_planned(actor, visit, VisitStatus::Done)
    }

    fn roster_status_if_planned(&mut self, actor: &Actor, visit: VisitId, status: VisitStatus) -> Result<()> {
        let month: Option<String> = self
            .conn
            .query_row("SELECT month FROM roster WHERE visit_id = ?1", [visit.to_string()], |r| r.get(0))
            .optional()?;
        match month {
            Some(m) => self.set_visit_status_in(actor, &m, visit, status),
            None => Ok(()), // an unplanned visit (e.g. 往診) has no roster entry
        }
    }

    pub fn record_vitals(&mut self, actor: &Actor, patient: PatientId, visit: VisitId, v: &Vitals) -> Result<()> {
        self.chart_op(
            actor,
            patient,
            AuditAction::Edit,
            "vitals",
            |c, now| c.record_vitals(visit, v, now),
            |_, _, _| Ok(()),
        )
    }

    /// Add a 傷病名 / アレルギー / 薬剤禁忌 / 感染症 entry.
    pub fn add_clinical_item(
        &mut self,
        actor: &Actor,
        patient: PatientId,
        visit: VisitId,
        list: ClinicalList,
        label: &str,
        code: &str,
    ) -> Result<ItemId> {
        self.chart_op(
            actor,
            patient,
            AuditAction::Edit,
            "clinical item",
            |c, now| {
                let item = ClinicalItem {
                    id: ItemId::new(),
                    list,
                    label: label.to_string(),
                    code: code.to_string(),
                    added_by: actor.staff,
                    added_at: now,
                };
                c.add_item(visit, &item)?;
                Ok(item.id)
            },
            |_, _, _| Ok(()),
        )
    }

    /// Save a note (保存): durable when this returns. `draft = None` starts a new note.
    pub fn save_note(
        &mut self,
        actor: &Actor,
        patient: PatientId,
        visit: VisitId,
        draft: Option<NoteId>,
        body: &SoapNote,
    ) -> Result<NoteId> {
        self.chart_op(
            actor,
            patient,
            AuditAction::Edit,
            "save note",
            |c, now| c.save_note(actor.staff, visit, draft, body, now),
            |_, _, _| Ok(()),
        )
    }

    /// Sign a note (署名). It is immutable afterwards.
    pub fn sign_note(&mut self, actor: &Actor, patient: PatientId, note: NoteId) -> Result<()> {
        self.chart_op(
            actor,
            patient,
            AuditAction::Sign,
            "sign note",
            |c, now| c.sign_note(actor.staff, note, now),
            |_, _, _| Ok(()),
        )
    }

    /// Correct a signed note (訂正): a new version naming the old one.
    pub fn correct_note(
        &mut self,
        actor: &Actor,
        patient: PatientId,
        note: NoteId,
        body: &SoapNote,
        reason: &str,
    ) -> Result<NoteId> {
        self.chart_op(
            actor,
            patient,
            AuditAction::Correct,
            "correct note",
            |c, now| c.correct_note(actor.staff, note, body, reason, now),
            |_, _, _| Ok(()),
        )
    }

    /// Resolve a conflicting field by writing the chosen value.
    pub fn resolve_conflict(&mut self, actor: &Actor, patient: PatientId, path: &str, value: &str) -> Result<()> {
        self.chart_op(
            actor,
            patient,
            AuditAction::Edit,
            "resolve conflict",
            |c, now| c.resolve_conflict(path, value, now),
            |_, _, _| Ok(()),
        )
    }

    /// Record a consent (同意取得) or its revocation.
    pub fn record_consent(&mut self, actor: &Actor, patient: PatientId, consent: &ConsentRecord) -> Result<()> {
        self.chart_op(
            actor,
            patient,
            AuditAction::Consent,
            if consent.revocation { "revoke consent" } else { "consent" },
            |c, _| c.record_consent(consent),
            |_, _, _| Ok(()),
        )
    }

    /// Ask the gateway for a 再照会 (answered over sync).
    pub fn request_qualification(&mut self, actor: &Actor, patient: PatientId) -> Result<QualificationId> {
        self.chart_op(
            actor,
            patient,
            AuditAction::QualificationCheck,
            "request",
            |c, now| c.request_qualification(actor.staff, now),
            |_, _, _| Ok(()),
        )
    }

    /// Record a qualification result (the gateway, or the in-process simulator in demo mode).
    pub fn record_qualification(&mut self, actor: &Actor, patient: PatientId, q: &QualificationSnapshot) -> Result<()> {
        self.chart_op(
            actor,
            patient,
            AuditAction::QualificationCheck,
            "result",
            |c, _| c.record_qualification(q),
            |tx, _, _| {
                if !q.demographics.name.is_empty() {
                    project_patient(tx, patient, &q.demographics)?;
                }
                Ok(())
            },
        )
    }

    /// Ask the gateway a specific question: a 再照会 with its numbers, or a first visit with
    /// the signed consent (ARCHITECTURE.md, *Qualification travels over sync*). Works offline;
    /// the request waits in the chart.
    pub fn request_qualification_query(
        &mut self,
        actor: &Actor,
        patient: PatientId,
        query: &QualificationQuery,
    ) -> Result<QualificationId> {
        let detail = match query {
            QualificationQuery::Reinquiry(_) => "request requery",
            QualificationQuery::FirstVisit(_) => "request first visit",
            QualificationQuery::Unreadable => {
                return Err(CoreError::InvalidInput { field: "qualification_query", reason: "unreadable" });
            }
        };
        self.chart_op(
            actor,
            patient,
            AuditAction::QualificationCheck,
            detail,
            |c, now| c.request_qualification_query(actor.staff, now, query),
            |_, _, _| Ok(()),
        )
    }

    /// Answer a qualification request with a refusal or error (the gateway).
    pub fn record_qualification_failure(
        &mut self,
        actor: &Actor,
        patient: PatientId,
        request: QualificationId,
        failure: &QualificationFailure,
    ) -> Result<()> {
        self.chart_op(
            actor,
            patient,
            AuditAction::QualificationCheck,
            "failure",
            |c, _| c.record_qualification_failure(request, failure),
            |_, _, _| Ok(()),
        )
    }

    /// Every unanswered qualification request in the local charts, oldest first, with the
    /// patient's chart as it is now (the gateway's work list). Reading the list is not a view
    /// of a chart by staff, so it is not audited; answering is.
    pub fn unanswered_qualification_requests(&mut self) -> Result<Vec<(Chart, QualificationRequest)>> {
        let ids: Vec<String> =
            self.document_ids()?.into_iter().filter(|(_, k)| *k == DocKind::Chart).map(|(id, _)| id).collect();
        let mut out = Vec::new();
        for id in ids {
            let chart = self.read_doc::<ChartDoc, _>(&id, "patient", |c| c.read())?;
            let open: Vec<QualificationRequest> = chart
                .qualification_requests
                .iter()
                .filter(|r| !r.answered && !chart.qualifications.iter().any(|q| q.id == r.id))
                .cloned()
                .collect();
            for r in open {
                out.push((chart.clone(), r));
            }
        }
        out.sort_by_key(|(_, r)| r.requested_at);
        Ok(out)
    }

    /// Export a chart as an encrypted file (audited). Written to a temp name, then renamed:
    /// the temp file is ciphertext too.
    pub fn export_chart(&mut self, actor: &Actor, patient: PatientId, path: &Path, passphrase: &str) -> Result<()> {
        let id = chart_doc_id(patient);
        let chart = self.read_doc::<ChartDoc, _>(&id, "patient", |c| c.read())?;
        let mut json = serde_json::to_vec(&chart).map_err(|_| CoreError::Crypto)?;
        let sealed = crate::export::seal_with_passphrase(&json, passphrase);
        json.zeroize();
        houmon_keys::write_private(path, &sealed?)?;
        let now = self.now();
        let tx = self.conn.transaction()?;
        audit::append(&tx, actor, AuditAction::Export, &id, "export chart", now)?;
        tx.commit()?;
        Ok(())
    }

    // ---------------------------------------------------------------- roster

    /// Plan a visit (訪問予定) in its month's roster.
    pub fn plan_visit(&mut self, actor: &Actor, v: &RosterVisit) -> Result<()> {
        let clinic = self.clinic_id()?;
        let month = month_key(v.date);
        let now = self.now();
        let m2 = month.clone();
        self.doc_op::<RosterMonthDoc, ()>(
            &roster_doc_id(&month),
            DocKind::Roster,
            Some(&move || Ok(RosterMonthDoc::create(clinic, &m2)?.into_automerge())),
            |r| r.plan_visit(v, now),
            Audit { actor, action: AuditAction::Edit, target: roster_doc_id(&month), detail: "plan visit" },
            |tx, _, _| project_roster_visit(tx, &month, v),
        )
    }

    /// Plan many visits (a recurring plan): one change per roster month.
    pub fn plan_visits(&mut self, actor: &Actor, vs: &[RosterVisit]) -> Result<()> {
        let clinic = self.clinic_id()?;
        let mut by_month: std::collections::BTreeMap<String, Vec<RosterVisit>> = Default::default();
        for v in vs {
            by_month.entry(month_key(v.date)).or_default().push(v.clone());
        }
        for (month, visits) in by_month {
            let now = self.now();
            let m2 = month.clone();
            self.doc_op::<RosterMonthDoc, ()>(
                &roster_doc_id(&month),
                DocKind::Roster,
                Some(&move || Ok(RosterMonthDoc::create(clinic, &m2)?.into_automerge())),
                |r| r.plan_visits(&visits, now),
                Audit { actor, action: AuditAction::Edit, target: roster_doc_id(&month), detail: "plan visit" },
                |tx, _, _| visits.iter().try_for_each(|v| project_roster_visit(tx, &month, v)),
            )?;
        }
        Ok(())
    }

    /// The roster month a planned visit is in.
    pub fn visit_month(&self, visit: VisitId) -> Result<String> {
        self.conn
            .query_row("SELECT month FROM roster WHERE visit_id = ?1", [visit.to_string()], |r| r.get(0))
            .optional()?
            .ok_or(CoreError::NotFound { what: "visit" })
    }

    /// A roster change to one visit, then its projection rebuilt from the document.
    fn visit_op(
        &mut self,
        actor: &Actor,
        visit: VisitId,
        detail: &str,
        op: impl FnOnce(&mut RosterMonthDoc, DateTime<Utc>) -> Result<()>,
    ) -> Result<()> {
        let month = self.visit_month(visit)?;
        let now = self.now();
        self.doc_op::<RosterMonthDoc, ()>(
            &roster_doc_id(&month),
            DocKind::Roster,
            None,
            |r| op(r, now),
            Audit { actor, action: AuditAction::Edit, target: roster_doc_id(&month), detail },
            |tx, r, _| {
                let (visits, _) = r.read()?;
                let v = visits.iter().find(|v| v.id == visit).ok_or(CoreError::NotFound { what: "visit" })?;
                tx.execute("DELETE FROM roster_staff WHERE visit_id = ?1", [visit.to_string()])?;
                project_roster_visit(tx, &month, v)
            },
        )
    }

    /// Edit a visit's date (same month), time window and kind.
    pub fn edit_visit(&mut self, actor: &Actor, v: &RosterVisit) -> Result<()> {
        self.visit_op(actor, v.id, "edit visit", |r, now| r.edit(v, now))
    }

    /// Hand a visit to other staff (担当の変更).
    pub fn reassign_visit(&mut self, actor: &Actor, visit: VisitId, to: &[StaffId]) -> Result<()> {
        self.visit_op(actor, visit, "reassign visit", |r, now| r.reassign(visit, to, now))
    }

    /// Cancel a visit (中止) with its reason; the entry stays.
    pub fn cancel_visit(&mut self, actor: &Actor, visit: VisitId, reason: &str) -> Result<()> {
        self.visit_op(actor, visit, "cancel visit", |r, now| r.cancel(visit, reason, now))
    }

    /// The patients with a visit planned for any of `staff` between `from` and `to` (both
    /// included), from the projection: the charts a clinician's tablet holds (部分同期).
    pub fn patients_planned_for(&self, staff: &[StaffId], from: NaiveDate, to: NaiveDate) -> Result<Vec<PatientId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT r.patient_id FROM roster r JOIN roster_staff s ON s.visit_id = r.visit_id
             WHERE s.staff_id = ?1 AND r.date >= ?2 AND r.date <= ?3",
        )?;
        let mut out = BTreeSet::new();
        for st in staff {
            let rows =
                stmt.query_map(params![st.to_string(), from.to_string(), to.to_string()], |r| r.get::<_, String>(0))?;
            for r in rows {
                if let Some(p) = PatientId::parse(&r?) {
                    out.insert(p);
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// A month's planned visits from the projection (no document is loaded): the plan views.
    pub fn planned_visits(&self, month: &str) -> Result<Vec<RosterVisit>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.visit_id, r.date, r.start, r.end, r.patient_id, r.kind, r.status,
                    coalesce(group_concat(s.staff_id), '')
             FROM roster r LEFT JOIN roster_staff s ON s.visit_id = r.visit_id
             WHERE r.month = ?1 GROUP BY r.visit_id ORDER BY r.date, r.start, r.visit_id",
        )?;
        let rows = stmt.query_map([month], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        let time = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M").ok();
        let mut out = Vec::new();
        for row in rows {
            let (v, d, start, end, p, kind, status, staff) = row?;
            let (Some(id), Ok(date), Some(start), Some(end), Some(patient)) =
                (VisitId::parse(&v), d.parse(), time(&start), time(&end), PatientId::parse(&p))
            else {
                continue;
            };
            let mut staff: Vec<StaffId> = staff.split(',').filter_map(StaffId::parse).collect();
            staff.sort();
            out.push(RosterVisit {
                id,
                date,
                start,
                end,
                patient,
                staff,
                kind: houmon_docs::kind_from(&kind),
                status: houmon_docs::status_from(&status),
                cancel_reason: String::new(),
                series: None,
            });
        }
        Ok(out)
    }

    /// Change a planned visit's status (cancelling keeps the entry).
    pub fn set_visit_status(&mut self, actor: &Actor, visit: VisitId, status: VisitStatus) -> Result<()> {
        let month = self.visit_month(visit)?;
        self.set_visit_status_in(actor, &month, visit, status)
    }

    fn set_visit_status_in(&mut self, actor: &Actor, month: &str, visit: VisitId, status: VisitStatus) -> Result<()> {
        let now = self.now();
        self.doc_op::<RosterMonthDoc, ()>(
            &roster_doc_id(month),
            DocKind::Roster,
            None,
            |r| r.set_status(visit, status, now),
            Audit { actor, action: AuditAction::Edit, target: roster_doc_id(month), detail: "visit status" },
            |tx, _, _| {
                tx.execute(
                    "UPDATE roster SET status = ?2 WHERE visit_id = ?1",
                    params![visit.to_string(), houmon_docs::status_code(status)],
                )?;
                Ok(())
            },
        )
    }

    /// A roster month as planned (loads the document).
    pub fn roster_month(&mut self, month: &str) -> Result<(Vec<RosterVisit>, Vec<FieldConflict>)> {
        self.read_doc::<RosterMonthDoc, _>(&roster_doc_id(month), "roster", |r| r.read())
    }

    /// Today's visits for one staff member, from the projection (start-up screen).
    pub fn todays_roster(&self, staff: StaffId, date: NaiveDate) -> Result<Vec<TodayVisit>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.visit_id, r.date, r.start, r.end, r.patient_id, r.kind, r.status,
                    coalesce(p.name, ''), coalesce(p.kana, '')
             FROM roster_staff s
             JOIN roster r ON r.visit_id = s.visit_id
             LEFT JOIN patients p ON p.patient_id = r.patient_id
             WHERE s.staff_id = ?1 AND r.date = ?2
             ORDER BY r.start, r.visit_id",
        )?;
        let rows = stmt.query_map(params![staff.to_string(), date.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (v, d, start, end, p, kind, status, name, kana) = row?;
            let (Some(visit), Ok(date), Some(patient)) = (VisitId::parse(&v), d.parse(), PatientId::parse(&p)) else {
                continue;
            };
            out.push(TodayVisit {
                visit,
                date,
                start,
                end,
                patient,
                patient_name: name,
                patient_kana: kana,
                kind: houmon_docs::kind_from(&kind),
                status: houmon_docs::status_from(&status),
            });
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- sync seam

    /// Ids of every stored document.
    pub fn document_ids(&self) -> Result<Vec<(String, DocKind)>> {
        let mut stmt = self.conn.prepare("SELECT doc_id, kind FROM documents ORDER BY doc_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for r in rows {
            let (id, k) = r?;
            let kind = match k.as_str() {
                "chart" => DocKind::Chart,
                "roster" => DocKind::Roster,
                "audit" => DocKind::Audit,
                _ => DocKind::Clinic,
            };
            out.push((id, kind));
        }
        Ok(out)
    }

    /// Current heads of a document (what the sync client sends as "have").
    pub fn doc_heads(&mut self, doc_id: &str) -> Result<Vec<ChangeHash>> {
        let mut od = self.take(doc_id)?.ok_or(CoreError::NotFound { what: "document" })?;
        let h = od.doc.get_heads();
        self.put_back(doc_id, od);
        Ok(h)
    }

    /// Changes a peer with `heads` lacks, as Automerge change bytes (the sync client
    /// compresses, encrypts and signs them for the relay).
    pub fn changes_since(&mut self, doc_id: &str, heads: &[ChangeHash]) -> Result<Vec<u8>> {
        let mut od = self.take(doc_id)?.ok_or(CoreError::NotFound { what: "document" })?;
        let b = od.doc.save_after(heads);
        self.put_back(doc_id, od);
        Ok(b)
    }

    /// The same changes one by one, in causal order, so the sync client can pack them into
    /// entries below the relay's size limit.
    pub fn change_list_since(&mut self, doc_id: &str, heads: &[ChangeHash]) -> Result<Vec<automerge::Change>> {
        let mut od = self.take(doc_id)?.ok_or(CoreError::NotFound { what: "document" })?;
        let c = od.doc.get_changes(heads);
        self.put_back(doc_id, od);
        Ok(c)
    }

    /// Apply changes received from the relay (or a snapshot), persist them durably and refresh
    /// the projections. Duplicates are harmless: Automerge dedupes by change hash. Not an audit
    /// entry here: the act was recorded on the device where a person did it, and that
    /// device's history reaches the back office with it (`audit:‹device›`).
    pub fn apply_remote(&mut self, actor: &Actor, doc_id: &str, kind: DocKind, bytes: &[u8]) -> Result<()> {
        match kind {
            DocKind::Chart => {
                let patient = doc_id
                    .strip_prefix("chart:")
                    .and_then(PatientId::parse)
                    .ok_or(CoreError::InvalidInput { field: "doc_id", reason: "not a chart id" })?;
                self.doc_op::<ChartDoc, ()>(
                    doc_id,
                    kind,
                    Some(&|| Ok(AutoCommit::new())),
                    |c| Ok(c.automerge().load_incremental(bytes).map(|_| ())?),
                    Audit::unrecorded(actor),
                    |tx, c, _| {
                        if let Ok(chart) = c.read() {
                            project_patient(tx, patient, &chart.demographics)?;
                            project_care_end(tx, patient, chart.care_end)?;
                        }
                        Ok(())
                    },
                )
            }
            DocKind::Roster => {
                let month = doc_id.strip_prefix("roster:").unwrap_or_default().to_string();
                self.doc_op::<RosterMonthDoc, ()>(
                    doc_id,
                    kind,
                    Some(&|| Ok(AutoCommit::new())),
                    |r| Ok(r.automerge().load_incremental(bytes).map(|_| ())?),
                    Audit::unrecorded(actor),
                    |tx, r, _| {
                        if let Ok((visits, _)) = r.read() {
                            tx.execute(
                                "DELETE FROM roster_staff WHERE visit_id IN (SELECT visit_id FROM roster WHERE month = ?1)",
                                [&month],
                            )?;
                            tx.execute("DELETE FROM roster WHERE month = ?1", [&month])?;
                            for v in &visits {
                                project_roster_visit(tx, &month, v)?;
                            }
                        }
                        Ok(())
                    },
                )
            }
            DocKind::Clinic => self.doc_op::<ClinicDoc, ()>(
                doc_id,
                kind,
                Some(&|| Ok(AutoCommit::new())),
                |c| Ok(c.automerge().load_incremental(bytes).map(|_| ())?),
                Audit::unrecorded(actor),
                |_, _, _| Ok(()),
            ),
            // Another device's access history: kept as received (the first copy of each entry
            // wins), and taking it in is no act of anyone here (no entry, so two back offices
            // never echo each other's histories).
            DocKind::Audit => {
                let device = doc_id.strip_prefix("audit:").unwrap_or_default().to_string();
                self.doc_op::<AuditDoc, ()>(
                    doc_id,
                    kind,
                    Some(&|| Ok(AutoCommit::new())),
                    |a| Ok(a.automerge().load_incremental(bytes).map(|_| ())?),
                    Audit::unrecorded(actor),
                    |tx, a, _| {
                        for r in a.read()? {
                            tx.prepare_cached(
                                "INSERT OR IGNORE INTO clinic_audit(device, seq, at, staff, action, target, detail, hash)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            )?
                            .execute(params![device, r.seq, r.at, r.staff, r.action, r.target, r.detail, r.hash])?;
                        }
                        Ok(())
                    },
                )
            }
        }
    }

    /// Store a whole document in one go (demo data, new-device bootstrap from a snapshot).
    pub fn import_chart(&mut self, actor: &Actor, chart: &mut ChartDoc) -> Result<PatientId> {
        let patient = chart.patient_id()?;
        let read = chart.read()?;
        let snapshot = chart.automerge().save();
        let id = chart_doc_id(patient);
        let now = self.now();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO documents(doc_id, kind, snapshot, snapshot_bytes) VALUES (?1, 'chart', ?2, ?3)
             ON CONFLICT(doc_id) DO NOTHING",
            params![id, snapshot, snapshot.len() as i64],
        )?;
        project_patient(&tx, patient, &read.demographics)?;
        project_care_end(&tx, patient, read.care_end)?;
        let last = read.visits.iter().filter_map(|v| v.arrival).max();
        tx.execute(
            "UPDATE patients SET last_visit = ?2 WHERE patient_id = ?1",
            params![patient.to_string(), last.map(|t| t.timestamp_millis())],
        )?;
        audit::append(&tx, actor, AuditAction::Edit, &id, "import", now)?;
        tx.commit()?;
        Ok(patient)
    }

    /// Store a whole roster month in one go (demo data, bootstrap) and rebuild its projection.
    pub fn import_roster(&mut self, actor: &Actor, month: &str, roster: &mut RosterMonthDoc) -> Result<()> {
        let (visits, _) = roster.read()?;
        let snapshot = roster.automerge().save();
        let id = roster_doc_id(month);
        let now = self.now();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO documents(doc_id, kind, snapshot, snapshot_bytes) VALUES (?1, 'roster', ?2, ?3)
             ON CONFLICT(doc_id) DO UPDATE SET snapshot = excluded.snapshot, snapshot_bytes = excluded.snapshot_bytes",
            params![id, snapshot, snapshot.len() as i64],
        )?;
        for v in &visits {
            project_roster_visit(&tx, month, v)?;
        }
        audit::append(&tx, actor, AuditAction::Edit, &id, "import", now)?;
        tx.commit()?;
        self.cache.remove(&id);
        self.lru.retain(|k| k != &id);
        Ok(())
    }

    // ---------------------------------------------------------------- audit, logs, checks

    /// Publish this device's new access-history entries into its audit document
    /// (`audit:‹device›`), so they sync to the back office. Not itself an audited act.
    /// Returns how many entries were added.
    pub fn publish_audit(&mut self, device_hex: &str) -> Result<usize> {
        let done: i64 = self.local_value_in_meta("audit_published")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let rows = audit::since(&self.conn, done, 2000)?;
        let Some(last) = rows.last().map(|r| r.seq) else { return Ok(0) };
        let records: Vec<AuditRecord> = rows
            .into_iter()
            .map(|e| AuditRecord {
                seq: e.seq,
                at: e.at.timestamp_millis(),
                staff: e.staff,
                action: e.action,
                target: e.target,
                detail: e.detail,
                hash: e.hash_hex,
            })
            .collect();
        let now = self.now();
        let actor = Actor { staff: StaffId(uuid::Uuid::nil()), device: DeviceId(uuid::Uuid::nil()) };
        let id = audit_doc_id(device_hex);
        let owner = device_hex.to_string();
        let n = records.len();
        self.doc_op::<AuditDoc, ()>(
            &id,
            DocKind::Audit,
            Some(&move || Ok(AuditDoc::create(&owner)?.into_automerge())),
            |a| a.append(&records, now),
            Audit::unrecorded(&actor),
            |tx, _, _| {
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES ('audit_published', ?1)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [last.to_string()],
                )?;
                Ok(())
            },
        )?;
        Ok(n)
    }

    fn local_value_in_meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// The clinic's access history as this device holds it, newest first: its own entries and
    /// every other device's it received (the back office holds them all). `device` is the
    /// model device id (`own_device` for this device's rows).
    pub fn clinic_audit(&self, own_device: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, staff, device, action, target, detail, hash FROM (
                SELECT seq, at, staff, ?1 AS device, action, target, detail, lower(hex(hash)) AS hash FROM audit_log
                UNION ALL
                SELECT seq, at, staff, device, action, target, detail, hash FROM clinic_audit)
             ORDER BY at DESC, device, seq DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![own_device, limit], |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: DateTime::from_timestamp_millis(r.get(1)?).unwrap_or_default(),
                staff: r.get(2)?,
                device: r.get(3)?,
                action: r.get(4)?,
                target: r.get(5)?,
                detail: r.get(6)?,
                hash_hex: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn verify_audit(&self) -> Result<AuditVerification> {
        audit::verify(&self.conn)
    }

    pub fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        audit::recent(&self.conn, limit)
    }

    /// Record a session start (ログイン) in the audit log.
    pub fn session_started(&mut self, actor: &Actor) -> Result<()> {
        self.record_access(actor, AuditAction::Open, "session", "unlock")
    }

    /// Audit an access that changes no document (a sign-in, a card face photo shown for 目視).
    /// `detail` is a fixed description, never patient data.
    pub fn record_access(&mut self, actor: &Actor, action: AuditAction, target: &str, detail: &str) -> Result<()> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        audit::append(&tx, actor, action, target, detail, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Diagnostics log, kept inside the encrypted database. Callers pass ids and counts,
    /// never names or note text; 12-digit 個人番号-like numbers are masked anyway.
    pub fn log_diagnostic(&self, level: &str, message: &str) -> Result<()> {
        let msg = if houmon_docs::contains_individual_number(message) {
            "[masked: message contained a 12-digit number]".to_string()
        } else {
            message.to_string()
        };
        self.conn.execute(
            "INSERT INTO app_log(at, level, message) VALUES (?1, ?2, ?3)",
            params![self.now().timestamp_millis(), level, msg],
        )?;
        Ok(())
    }

    /// SQLite and SQLCipher integrity checks plus a load of every document. `Ok(())` when sound.
    pub fn check_integrity(&mut self) -> Result<()> {
        let ic: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if ic != "ok" {
            return Err(CoreError::Corrupt { what: "sqlite integrity_check" });
        }
        let mut stmt = self.conn.prepare("PRAGMA cipher_integrity_check")?;
        let bad = stmt.query_map([], |r| r.get::<_, String>(0))?.count();
        drop(stmt);
        if bad > 0 {
            return Err(CoreError::Corrupt { what: "sqlcipher page authentication" });
        }
        for (id, _) in self.document_ids()? {
            self.load(&id)?;
        }
        Ok(())
    }

    /// Run a raw SQL statement: only for the benchmark, which compares against bare SQLite
    /// with the same settings (feature `bench-internals`). The app, sync and policy use the
    /// store's methods (see `sync_state`).
    #[cfg(feature = "bench-internals")]
    #[doc(hidden)]
    pub fn raw_connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// Open the SQLCipher database in `dir` with the wrapped data key.
fn open_encrypted(dir: &Path, wrapper: &dyn KeyWrapper) -> Result<(Connection, KeyProtection)> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let (key, protection) = houmon_keys::load_or_create(dir, wrapper)?;
    let conn = Connection::open(dir.join(DB_FILE))?;
    let mut pragma = format!("PRAGMA key = \"x'{}'\";", hex::encode(key.as_bytes()));
    let keyed = conn.execute_batch(&pragma);
    pragma.zeroize();
    keyed?;
    // Refuse to run on a plain SQLite build: the data would be written in clear.
    let cipher: Option<String> = conn.query_row("PRAGMA cipher_version", [], |r| r.get(0)).optional()?;
    if cipher.unwrap_or_default().is_empty() {
        return Err(CoreError::Crypto);
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            return Err(CoreError::WrongKey);
        }
        Err(e) => return Err(e.into()),
    }
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(CoreError::Storage(rusqlite::Error::InvalidQuery));
    }
    // Acknowledged means durable, even on power loss (WAL + NORMAL may roll back commits).
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;
         PRAGMA secure_delete = ON;",
    )?;
    Ok((conn, protection))
}

fn project_care_end(tx: &Transaction<'_>, id: PatientId, end: Option<CareEnd>) -> Result<()> {
    tx.prepare_cached("UPDATE patients SET care_end = ?2 WHERE patient_id = ?1")?
        .execute(params![id.to_string(), end.map(|e| houmon_docs::care_end_code(e.reason))])?;
    Ok(())
}

fn project_patient(tx: &Transaction<'_>, id: PatientId, d: &Demographics) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO patients(patient_id, name, kana, birth) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(patient_id) DO UPDATE SET name = excluded.name, kana = excluded.kana, birth = excluded.birth",
    )?
    .execute(params![id.to_string(), d.name, d.name_kana, d.birth_date.map(|b| b.to_string())])?;
    Ok(())
}

fn project_roster_visit(tx: &Transaction<'_>, month: &str, v: &RosterVisit) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO roster(visit_id, month, date, start, end, patient_id, kind, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        v.id.to_string(),
        month,
        v.date.to_string(),
        v.start.format("%H:%M").to_string(),
        v.end.format("%H:%M").to_string(),
        v.patient.to_string(),
        houmon_docs::kind_code(v.kind),
        houmon_docs::status_code(v.status),
    ])?;
    for s in &v.staff {
        tx.prepare_cached("INSERT OR IGNORE INTO roster_staff(staff_id, visit_id) VALUES (?1, ?2)")?
            .execute(params![s.to_string(), v.id.to_string()])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
