//! `houmon-bench sync` and the environment the sync tests share: the real `houmon-relay`
//! binary on loopback, enrolled devices with their own encrypted stores, and a load
//! generator. Figures end with one JSON line (see [`run`]).

use houmon_keys::FileFallback;
use houmon_keys::{DEVICE_KEY_FILE, DeviceSigningKey};
use houmon_model::{Actor, DeviceId as CoreDeviceId, StaffId};
use houmon_store::Store;
use houmon_sync::{SyncClient, SyncReport};
use houmon_sync_proto::http::{RelayHttp, RequestSigner};
use houmon_sync_proto::*;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of the `houmon-relay` binary: `HOUMON_RELAY_BIN`, or next to the running test or
/// benchmark (same target dir), built on demand with cargo if missing.
pub fn relay_bin() -> PathBuf {
    workspace_bin("houmon-relay", "houmon-relay", "HOUMON_RELAY_BIN")
}

/// Path of the `houmon-clinic` binary: `HOUMON_CLINIC_BIN`, or as [`relay_bin`].
pub fn clinic_bin() -> PathBuf {
    workspace_bin("houmon-clinic", "houmon-clinic", "HOUMON_CLINIC_BIN")
}

/// A binary of another workspace package: `$env`, or next to the running test (same target
/// dir), built on demand into a side target dir if missing.
fn workspace_bin(name: &str, package: &str, env: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    let bin = dir.join(name);
    if bin.exists() {
        return bin;
    }
    // Not built alongside (e.g. `cargo test -p houmon-tests` alone): build it into a separate
    // target dir, because the running cargo still holds the lock on ours.
    let release = dir.ends_with("release");
    let side = dir.join(format!("{name}-build"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.args(["build", "-p", package]).env("CARGO_TARGET_DIR", &side);
    if release {
        c.arg("--release");
    }
    let _ = c.status();
    side.join(if release { "release" } else { "debug" }).join(name)
}

/// A running relay process (killed on drop).
#[derive(Debug)]
pub struct RelayProc {
    pub child: Child,
    pub addr: String,
    pub db: PathBuf,
}

impl RelayProc {
    /// Start on `listen` (use `127.0.0.1:0` for a free port). `db`: a SQLite file or a
    /// `postgres://` URL.
    pub fn start_on(db: impl AsRef<OsStr>, listen: &str, extra: &[&str]) -> Result<Self, String> {
        let db = db.as_ref();
        let mut child = Command::new(relay_bin())
            .args(["serve", "--db"])
            .arg(db)
            .args(["--listen", listen])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start houmon-relay ({}): {e}", relay_bin().display()))?;
        let mut line = String::new();
        let out = child.stdout.take().ok_or("no stdout")?;
        BufReader::new(out).read_line(&mut line).map_err(|e| e.to_string())?;
        let addr = line.trim().rsplit("://").next().unwrap_or_default().to_string();
        if !addr.starts_with("127.0.0.1:") {
            let _ = child.kill();
            return Err(format!("relay did not start: {line:?}"));
        }
        Ok(Self { child, addr, db: PathBuf::from(db) })
    }
    pub fn start(db: impl AsRef<OsStr>, extra: &[&str]) -> Result<Self, String> {
        Self::start_on(db, "127.0.0.1:0", extra)
    }
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn http(&self) -> RelayHttp {
        RelayHttp::new(&self.base())
    }
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `houmon-relay admin ...`; returns stdout.
pub fn relay_admin(db: impl AsRef<OsStr>, args: &[&str]) -> Result<String, String> {
    let out =
        Command::new(relay_bin()).args(["admin", "--db"]).arg(db).args(args).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        // Errors are one JSON object on stdout too.
        return Err(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Create a clinic in the relay database; returns its founding code (for the first, admin,
/// device).
pub fn create_clinic(db: impl AsRef<OsStr>, name: &str) -> Result<String, String> {
    create_clinic_json(db, name)?["code"].as_str().map(String::from).ok_or_else(|| "no code".into())
}

/// `houmon-relay admin create-clinic`: its one JSON object `{"clinic", "code"}`.
pub fn create_clinic_json(db: impl AsRef<OsStr>, name: &str) -> Result<serde_json::Value, String> {
    let out = relay_admin(db, &["create-clinic", "--name", name])?;
    serde_json::from_str(out.trim()).map_err(|e| format!("not one JSON object ({e}): {out}"))
}

/// A device: its own encrypted store and sync client.
#[derive(Debug)]
pub struct SyncDevice {
    pub store: Store,
    pub sync: SyncClient,
    pub actor: Actor,
    pub dir: PathBuf,
}

/// The device's one signing key, kept wrapped next to its store (as the gateway does).
pub fn device_key(dir: &Path) -> Result<DeviceSigningKey, String> {
    DeviceSigningKey::load_or_create(&dir.join(DEVICE_KEY_FILE), &FileFallback).map_err(|e| e.to_string())
}

pub fn actor() -> Actor {
    Actor { staff: StaffId::new(), device: CoreDeviceId::new() }
}

impl SyncDevice {
    /// Open a store in `dir` and enroll it with `code`.
    pub fn enroll(dir: &Path, relay: RelayHttp, code: &str, label: &str) -> Result<Self, String> {
        let mut store = Store::open(dir, &FileFallback).map_err(|e| e.to_string())?;
        let actor = actor();
        let key = device_key(dir)?;
        let sync = SyncClient::enroll(&mut store, relay, key, code, label, actor).map_err(|e| format!("{e:?}"))?;
        Ok(Self { store, sync, actor, dir: dir.to_path_buf() })
    }
    /// Reopen after a restart (the offline queue and cursor come back from the store).
    pub fn reopen(dir: &Path, relay: Option<RelayHttp>, actor: Actor) -> Result<Self, String> {
        let mut store = Store::open(dir, &FileFallback).map_err(|e| e.to_string())?;
        let key = device_key(dir)?;
        let sync =
            SyncClient::open(&mut store, relay, key, actor).map_err(|e| format!("{e:?}"))?.ok_or("not enrolled")?;
        Ok(Self { store, sync, actor, dir: dir.to_path_buf() })
    }
    pub fn sync(&mut self) -> Result<SyncReport, String> {
        self.sync.sync_once(&mut self.store).map_err(|e| format!("{e:?}"))
    }
    /// Every document and its heads, sorted (equal across devices once converged).
    pub fn heads(&mut self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        let docs = self.store.document_ids().unwrap_or_default();
        for (id, _) in docs {
            let mut h: Vec<String> =
                self.store.doc_heads(&id).unwrap_or_default().iter().map(|h| h.to_string()).collect();
            h.sort();
            out.push((id, h));
        }
        out.sort();
        out
    }
}

/// Every file of the relay database (main, WAL, shared memory) as bytes.
pub fn relay_db_files(db: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(b) = std::fs::read(p) {
            all.extend(b);
        }
    }
    all
}

/// What a thief of the relay's SQLite database could read: its files ([`relay_db_files`]) and
/// every stored entry and snapshot body inflated wherever it inflates. Bodies are compressed
/// before they are encrypted, so a scan of the files alone would not see plaintext that was
/// only compressed (`tests/relay_canary.rs` proves this scan does).
pub fn relay_db_bytes(db: &Path) -> Vec<u8> {
    let mut all = relay_db_files(db);
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = rusqlite::Connection::open_with_flags(db, flags)
        .unwrap_or_else(|e| panic!("open the relay database {}: {e}", db.display()));
    let mut st = c.prepare("SELECT body FROM entries UNION ALL SELECT body FROM snapshots").expect("relay schema");
    let bodies = st.query_map([], |r| r.get::<_, Vec<u8>>(0)).expect("read bodies");
    for b in bodies {
        all.extend(inflated(&b.expect("a body")));
    }
    all
}

/// `body` inflated from each of its first 16 bytes (a length prefix or nonce may come first);
/// nothing where it does not inflate.
fn inflated(body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    for skip in 0..body.len().min(16) {
        let mut v = Vec::new();
        let mut d = flate2::read::DeflateDecoder::new(&body[skip..]).take(64 << 20);
        if d.read_to_end(&mut v).is_ok() {
            out.extend(v);
        }
    }
    out
}

/// Occurrences of `needle` in `hay`.
pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

// ------------------------------------------------------------------ benchmark

/// A raw load-generator device: a key and a relay endpoint, no store.
pub struct RawDevice {
    key: ring::signature::Ed25519KeyPair,
    pub device: DeviceId,
    pub clinic: ClinicId,
    pub http: RelayHttp,
}

impl RequestSigner for RawDevice {
    fn device(&self) -> DeviceId {
        self.device
    }
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let mut o = [0u8; 64];
        o.copy_from_slice(self.key.sign(msg).as_ref());
        o
    }
}

impl std::fmt::Debug for RawDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawDevice({})", self.device)
    }
}

impl RawDevice {
    pub fn enroll(http: RelayHttp, code: &str) -> Result<Self, String> {
        use ring::signature::KeyPair;
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "keygen")?;
        let key = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| "key")?;
        let raw = enrollment::parse_code(code).ok_or("code")?;
        let code_auth = enrollment::code_auth(&raw);
        let mut pk = [0u8; 32];
        pk.copy_from_slice(key.public_key().as_ref());
        let mut proof = [0u8; 64];
        proof.copy_from_slice(key.sign(&enroll_signing_bytes(&code_auth, &pk, "bench")).as_ref());
        let r = http
            .enroll(&EnrollRequest { code_auth, public_key: pk, label: "bench".into(), proof })
            .map_err(|e| e.to_string())?;
        Ok(Self { key, device: r.device, clinic: r.clinic, http })
    }
    pub fn new_code(&self, role: Role) -> Result<String, String> {
        let raw: [u8; 16] = rand::random();
        let req = CreateCodeRequest {
            code_auth_hash: enrollment::code_auth_hash(&raw),
            role,
            // Load devices never open entries; the relay only needs a code that carries a key
            // (a keyless one would found the clinic a second time, and is refused).
            wrapped_content_key: Some(vec![0; 48]),
            valid_for_s: 3600,
        };
        let _: i64 = self.http.post(self, PATH_CODES, &req).map_err(|e| e.to_string())?;
        Ok(enrollment::format_code(&raw))
    }
    pub fn entry(&self, doc: DocId, ciphertext: Vec<u8>) -> NewEntry {
        let entry_id = EntryId(rand::random());
        let signature = self.sign(&entry_signing_bytes(&self.clinic, &doc, &self.device, &entry_id, &ciphertext));
        NewEntry { doc, entry_id, signature, ciphertext }
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Relay limits out of the way of a benchmark's load.
pub const FAST: &[&str] = &["--requests-per-s", "1000000", "--request-burst", "1000000", "--max-connections", "100000"];

/// Where a benchmark's relay keeps its log.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in the run's temporary directory (the embedded default).
    Sqlite,
    /// A fresh database per measurement on this PostgreSQL server (`HOUMON_PG_URL`, or the
    /// run's own throwaway cluster).
    Postgres(String),
}

impl Backend {
    /// The `--db` value for measurement `name`.
    pub fn db(&self, dir: &Path, name: &str) -> Result<String, String> {
        match self {
            Backend::Sqlite => Ok(dir.join(format!("{name}.db")).display().to_string()),
            Backend::Postgres(base) => {
                let tag: u32 = rand::random();
                crate::pg_cluster::create_database(base, &format!("bench_{name}_{tag:08x}"))
            }
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Relay append throughput: `clients` threads appending batches of `batch` 1 KB entries to one
/// clinic, spread over `relays` relay processes on the same database `db`.
pub fn bench_appends(db: &str, relays: usize, total: usize, clients: usize, batch: usize) -> Result<f64, String> {
    let code = create_clinic(db, "bench")?;
    let procs = (0..relays.max(1)).map(|_| RelayProc::start(db, FAST)).collect::<Result<Vec<_>, _>>()?;
    let admin = RawDevice::enroll(procs[0].http(), &code)?;
    let mut devs = Vec::new();
    for i in 0..clients {
        devs.push(RawDevice::enroll(procs[i % procs.len()].http(), &admin.new_code(Role::Member)?)?);
    }
    let per = total / clients;
    let start = Instant::now();
    let handles: Vec<_> = devs
        .into_iter()
        .map(|d| {
            std::thread::spawn(move || -> Result<usize, String> {
                let doc = DocId(rand::random());
                let mut n = 0;
                while n < per {
                    let entries: Vec<NewEntry> =
                        (0..batch.min(per - n)).map(|_| d.entry(doc, vec![0xA5; 1024])).collect();
                    let k = entries.len();
                    let _: AppendResponse =
                        d.http.post(&d, PATH_APPEND, &AppendRequest { entries }).map_err(|e| e.to_string())?;
                    n += k;
                }
                Ok(n)
            })
        })
        .collect();
    let mut done = 0;
    for h in handles {
        done += h.join().map_err(|_| "thread")??;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// A day offline: 30 patients; the rest of the clinic wrote `visits` visits (each a note and
/// vitals) to them. Returns (round trips, bytes on the wire ÷ compressed payload bytes).
pub fn bench_catchup(
    dir: &Path,
    backend: &Backend,
    patients: usize,
    visits_per_patient: usize,
) -> Result<(usize, f64, f64), String> {
    use houmon_model::{ClinicId as CoreClinicId, VisitId, VisitKind, Vitals};
    let db = backend.db(dir, "catchup")?;
    let code = create_clinic(&db, "bench")?;
    let relay = RelayProc::start(&db, FAST)?;
    let mut office = SyncDevice::enroll(&dir.join("office"), relay.http(), &code, "office")?;
    office
        .store
        .init_clinic(&office.actor, CoreClinicId::new(), "ベンチ診療所", "1312345678")
        .map_err(|e| e.to_string())?;
    let mut ids = Vec::new();
    for i in 0..patients {
        let d = demographics(i);
        ids.push(office.store.register_patient(&office.actor, &d).map_err(|e| e.to_string())?);
    }
    office.sync()?;
    let tcode = office.sync.create_enrollment_code(Role::Member, 3600).map_err(|e| format!("{e:?}"))?;
    let mut tablet = SyncDevice::enroll(&dir.join("tablet"), relay.http(), &tcode, "tablet")?;
    let sub = SyncClient::subscription_for(&[], &ids);
    tablet.sync.set_subscription(&mut tablet.store, Some(&sub)).map_err(|e| format!("{e:?}"))?;
    tablet.sync()?;
    // The day: the office (standing in for the other staff) writes visits.
    let mut payload = 0usize;
    let c0 = office.sync.relay().counters.bytes_up.load(std::sync::atomic::Ordering::Relaxed);
    for (i, p) in ids.iter().enumerate() {
        for v in 0..visits_per_patient {
            let visit = VisitId::new();
            office.store.start_visit(&office.actor, *p, visit, VisitKind::HomeMedical).map_err(|e| e.to_string())?;
            let vit = Vitals {
                temperature: Some(36.5 + (v % 5) as f64 / 10.0),
                pulse: Some(70 + (v % 9) as i64),
                ..Default::default()
            };
            office.store.record_vitals(&office.actor, *p, visit, &vit).map_err(|e| e.to_string())?;
            let body = note(i * 100 + v);
            office.store.save_note(&office.actor, *p, visit, None, &body).map_err(|e| e.to_string())?;
        }
    }
    let mut before = SyncReport::default();
    office.sync.enqueue_local_changes(&mut office.store).map_err(|e| format!("{e:?}"))?;
    office.sync.push(&mut office.store, &mut office.sync.exchange(), &mut before).map_err(|e| format!("{e:?}"))?;
    let up = office.sync.relay().counters.bytes_up.load(std::sync::atomic::Ordering::Relaxed) - c0;
    let _ = up;
    // Compressed payload: the ciphertext bytes of the entries the tablet needs.
    let t0 = tablet.sync.relay().counters.bytes_down.load(std::sync::atomic::Ordering::Relaxed);
    let r0 = tablet.sync.relay().counters.requests.load(std::sync::atomic::Ordering::Relaxed);
    let start = Instant::now();
    let rep = tablet.sync()?;
    let secs = start.elapsed().as_secs_f64();
    let down = tablet.sync.relay().counters.bytes_down.load(std::sync::atomic::Ordering::Relaxed) - t0;
    let reqs = tablet.sync.relay().counters.requests.load(std::sync::atomic::Ordering::Relaxed) - r0;
    // Payload = what the entries carry (compressed, encrypted Automerge changes).
    let probe = RawDevice::enroll(
        relay.http(),
        &office.sync.create_enrollment_code(Role::Member, 3600).map_err(|e| format!("{e:?}"))?,
    )?;
    let all: PullResponse = probe
        .http
        .post(&probe, PATH_PULL, &PullRequest { after: 0, docs: None, max_bytes: 64 << 20, with_snapshots: false })
        .map_err(|e| e.to_string())?;
    for e in all.entries.iter().filter(|e| e.seq > rep.cursor.saturating_sub(rep.received as u64)) {
        payload += e.ciphertext.len();
    }
    if rep.withheld.len() + rep.rejected > 0 {
        return Err(format!("catch-up not clean: {rep:?}"));
    }
    Ok((reqs as usize, down as f64 / payload.max(1) as f64, secs))
}

/// Synthetic, deterministic demographics (no real person).
pub fn demographics(i: usize) -> houmon_model::Demographics {
    const SUR: [(&str, &str); 6] = [
        ("佐藤", "サトウ"),
        ("鈴木", "スズキ"),
        ("高橋", "タカハシ"),
        ("田中", "タナカ"),
        ("伊藤", "イトウ"),
        ("渡辺", "ワタナベ"),
    ];
    const GIV: [(&str, &str); 5] =
        [("花子", "ハナコ"), ("一郎", "イチロウ"), ("幸子", "サチコ"), ("健", "ケン"), ("和子", "カズコ")];
    let (s, sk) = SUR[i % SUR.len()];
    let (g, gk) = GIV[(i / SUR.len()) % GIV.len()];
    houmon_model::Demographics {
        name: format!("{s} {g}"),
        name_kana: format!("{sk} {gk}"),
        birth_date: chrono_date(1930 + (i % 40) as i32, 1 + (i % 12) as u32, 1 + (i % 28) as u32),
        sex: if i.is_multiple_of(2) { "2".into() } else { "1".into() },
        address: format!("東京都練馬区{}丁目{}番", 1 + i % 5, 1 + i % 20),
    }
}

fn chrono_date(y: i32, m: u32, d: u32) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(y, m, d)
}

/// A visit note of realistic length (~1 KB of Japanese), deterministic in `i`.
pub fn note(i: usize) -> houmon_model::SoapNote {
    houmon_model::SoapNote {
        subjective: format!("訪問{i}回目。夜間の咳は減った。食欲はふつう。家族より「よく眠れている」とのこと。"),
        objective: format!(
            "体温36.{}℃、脈拍{}回/分、SpO2 {}%。両下肢の浮腫は軽度、前回より改善。",
            i % 10,
            60 + i % 30,
            94 + i % 5
        ),
        assessment: "慢性心不全は安定。誤嚥性肺炎の再燃なし。褥瘡は治癒傾向。".repeat(1 + i % 3),
        plan: format!("利尿薬継続。次回{}日後に訪問。体重測定を毎朝お願いする。訪問看護と情報共有。", 7 + i % 7),
    }
}

/// 1,000 devices reconnect at once: each catches up (one pull) and opens its push socket.
/// Returns (p99 ms of the catch-up, relay KB per idle connection).
pub fn bench_storm(dir: &Path, backend: &Backend, devices: usize) -> Result<(f64, f64), String> {
    let db = backend.db(dir, "storm")?;
    let code = create_clinic(&db, "bench")?;
    let relay = RelayProc::start(&db, FAST)?;
    let admin = RawDevice::enroll(relay.http(), &code)?;
    let doc = DocId(rand::random());
    let _: AppendResponse = admin
        .http
        .post(
            &admin,
            PATH_APPEND,
            &AppendRequest { entries: (0..200).map(|_| admin.entry(doc, vec![1; 1024])).collect() },
        )
        .map_err(|e| e.to_string())?;
    let mut devs = Vec::with_capacity(devices);
    for _ in 0..devices {
        devs.push(RawDevice::enroll(relay.http(), &admin.new_code(Role::Member)?)?);
    }
    std::thread::sleep(Duration::from_millis(300));
    let rss0 = rss_kb(relay.pid());
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(devices + 1));
    let (tx, rx) = std::sync::mpsc::channel::<Result<f64, String>>();
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let hold_rx = std::sync::Arc::new(std::sync::Mutex::new(hold_rx));
    let mut handles = Vec::new();
    for d in devs {
        let (b, tx, hold) = (barrier.clone(), tx.clone(), hold_rx.clone());
        handles.push(
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    b.wait();
                    let t = Instant::now();
                    let r: Result<PullResponse, _> = d.http.post(
                        &d,
                        PATH_PULL,
                        &PullRequest { after: 0, docs: Some(vec![doc]), max_bytes: 1 << 20, with_snapshots: false },
                    );
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    let sock = r.map_err(|e| e.to_string()).and_then(|_| {
                        d.http
                            .open_push(&d, &WsClient::Subscribe { after: 200, docs: Some(vec![doc]) })
                            .map_err(|e| e.to_string())
                    });
                    let _ = tx.send(sock.as_ref().map(|_| ms).map_err(|e| e.clone()));
                    // Keep the connection open until told.
                    if let Ok(h) = hold.lock() {
                        let _ = h.recv();
                    }
                    drop(sock);
                })
                .map_err(|e| e.to_string())?,
        );
    }
    barrier.wait();
    let mut lat = Vec::new();
    let mut errors = 0;
    for _ in 0..devices {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Ok(ms)) => lat.push(ms),
            _ => errors += 1,
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss1 = rss_kb(relay.pid());
    drop(hold_tx);
    for h in handles {
        let _ = h.join();
    }
    if errors > 0 {
        return Err(format!("{errors} of {devices} devices failed to reconnect"));
    }
    Ok((percentile(&mut lat, 0.99), rss1.saturating_sub(rss0) as f64 / devices as f64))
}

/// The comparison with automerge-repo: one workload, `n` values of 1 KB written by one client
/// and then caught up by a fresh one, timed from the first write until the reader has all `n`,
/// measured three ways (values per second each):
///
/// - `ours_per_s`: our blind relay (store-and-forward of opaque signed entries, appended in
///   batches of 100, each batch durable in SQLite before it is acknowledged, then pulled).
/// - `crdt_per_s`: `@automerge/automerge-repo-sync-server` with automerge-repo clients: each
///   value is an Automerge change to one document, and the server parses, applies and merges
///   every change (CRDT work our relay never does) before a fresh Repo loads the document from
///   it. `ours / crdt` is therefore not like for like: it is what a CRDT-aware server costs
///   against a blind one.
/// - `blobs_per_s`: the like-for-like figure. The same blind store-and-forward of opaque 1 KB
///   blobs through automerge-repo's WebSocket network adapter (client adapter to their
///   `NodeWSServerAdapter`) and a minimal relay of their kind (no Repo, no CRDT): each blob
///   saved with their `NodeFSStorageAdapter` (which does not fsync; ours does), acknowledged
///   per batch of 100, then streamed to the reader when it asks.
///
/// Theirs run in `tests/node/automerge_repo_bench.mjs`, server and clients in one Node process,
/// with the modules of `tests/node/package-lock.json` (see [`automerge_repo_modules`]).
#[derive(Debug, Clone, Copy)]
pub struct VsAutomergeRepo {
    pub ours_per_s: f64,
    /// `None` (with the reason on stderr) when Node or the packages are missing.
    pub crdt_per_s: Option<f64>,
    /// As `crdt_per_s`.
    pub blobs_per_s: Option<f64>,
}

/// Runs the comparison described at [`VsAutomergeRepo`].
pub fn bench_vs_automerge_repo(dir: &Path, n: usize) -> Result<VsAutomergeRepo, String> {
    let db = dir.join("vs.db");
    let code = create_clinic(&db, "bench")?;
    let relay = RelayProc::start(&db, FAST)?;
    let writer = RawDevice::enroll(relay.http(), &code)?;
    let reader = RawDevice::enroll(relay.http(), &writer.new_code(Role::Member)?)?;
    let doc = DocId(rand::random());
    let t0 = Instant::now();
    let mut sent = 0;
    while sent < n {
        let k = 100.min(n - sent);
        let entries = (0..k).map(|i| writer.entry(doc, vec![(sent + i) as u8; 1024])).collect();
        let _: AppendResponse =
            writer.http.post(&writer, PATH_APPEND, &AppendRequest { entries }).map_err(|e| e.to_string())?;
        sent += k;
    }
    let mut cursor = 0;
    let mut seen = 0;
    loop {
        let r: PullResponse = reader
            .http
            .post(
                &reader,
                PATH_PULL,
                &PullRequest { after: cursor, docs: Some(vec![doc]), max_bytes: 8 << 20, with_snapshots: true },
            )
            .map_err(|e| e.to_string())?;
        seen += r.entries.len();
        cursor = r.cursor;
        if !r.more {
            break;
        }
    }
    let ours_per_s = seen as f64 / t0.elapsed().as_secs_f64();
    drop(relay);

    let mut vs = VsAutomergeRepo { ours_per_s, crdt_per_s: None, blobs_per_s: None };
    if let Err(e) = Command::new("node").arg("--version").output() {
        return skip_vs_automerge_repo(&format!("cannot run node ({e})")).map(|()| vs);
    }
    let script = match automerge_repo_modules() {
        Ok(script) => script,
        Err(reason) => return skip_vs_automerge_repo(&reason).map(|()| vs),
    };
    for mode in ["blobs", "crdt"] {
        let data = dir.join(format!("amr-{mode}"));
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let out = Command::new("node")
            .arg(&script)
            .arg(mode)
            .arg(n.to_string())
            .arg(&data)
            .current_dir(&data)
            .output()
            .map_err(|e| format!("run node: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().rev().find(|l| l.starts_with('{')).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            format!(
                "automerge-repo {mode} run ({}) printed no result ({e}): {text}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        if !out.status.success() || v["seen"].as_u64() != Some(n as u64) {
            return Err(format!("automerge-repo {mode} run did not deliver all {n} values: {line}"));
        }
        let per_s = v["per_s"].as_f64().filter(|x| *x > 0.0);
        if mode == "blobs" {
            vs.blobs_per_s = per_s;
        } else {
            vs.crdt_per_s = per_s;
        }
    }
    Ok(vs)
}

/// Makes sure `tests/node/node_modules` holds exactly what `tests/node/package-lock.json`
/// pins (`npm ci --ignore-scripts`, npm's cache in `~/.cache/houmon/npm`; skipped when the
/// lock file is unchanged since the last install) and returns the script's path. The script
/// imports its packages by name, so Node resolves them its own way from `tests/node`.
pub fn automerge_repo_modules() -> Result<PathBuf, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    let script = dir.join("automerge_repo_bench.mjs");
    let lock = std::fs::read(dir.join("package-lock.json"))
        .map_err(|e| format!("{}: {e}", dir.join("package-lock.json").display()))?;
    let stamp = dir.join("node_modules/.houmon-installed-lock");
    if std::fs::read(&stamp).ok().as_deref() == Some(&lock[..]) {
        return Ok(script);
    }
    let cache = PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/houmon/npm");
    eprintln!("sync: npm ci in {} (the automerge-repo comparison's packages)", dir.display());
    let out = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--cache"])
        .arg(&cache)
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("cannot run npm ({e})"))?;
    if !out.status.success() {
        return Err(format!("npm ci in {} failed: {}", dir.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    std::fs::write(&stamp, &lock).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(script)
}

/// The automerge-repo figures cannot be measured: under `CI=true` that is an error, otherwise
/// the reason goes to stderr and the figures are null.
fn skip_vs_automerge_repo(reason: &str) -> Result<(), String> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        return Err(format!("vs automerge-repo: {reason}"));
    }
    eprintln!("sync: vs_automerge_repo_* skipped: {reason}");
    Ok(())
}

/// Figures for `houmon-bench sync`. `quick` shrinks the load (CI smoke run).
#[derive(Debug, Clone)]
pub struct SyncFigures {
    /// One relay process on the chosen backend.
    pub appends_per_s: f64,
    /// Two relay processes on one database (PostgreSQL only).
    pub appends_per_s_two_relays: Option<f64>,
    /// The same appends on SQLite in this run (the baseline).
    pub sqlite_appends_per_s: f64,
    pub single_appends_per_s: f64,
    pub catchup_round_trips: usize,
    pub catchup_bytes_ratio: f64,
    pub catchup_s: f64,
    pub storm_p99_ms: f64,
    pub relay_kb_per_conn: f64,
    /// The same 1 KB values through our relay, automerge-repo's sync server (CRDT work) and a
    /// blind relay on automerge-repo's WebSocket adapter: see [`VsAutomergeRepo`].
    pub vs_automerge_repo: VsAutomergeRepo,
}

/// Run the sync benchmark on SQLite, or on PostgreSQL (`HOUMON_PG_URL`, else a throwaway
/// cluster of its own); prints progress on stderr and returns the JSON line.
pub fn run(quick: bool, postgres: bool) -> Result<String, String> {
    let tmp = std::env::temp_dir().join(format!("houmon-bench-sync-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let mut cluster = None;
    let backend = match (postgres, std::env::var("HOUMON_PG_URL")) {
        (false, _) => Ok(Backend::Sqlite),
        (true, Ok(url)) => Ok(Backend::Postgres(url)),
        (true, Err(_)) => crate::pg_cluster::PgCluster::start().map(|c| {
            let url = c.url();
            cluster = Some(c);
            Backend::Postgres(url)
        }),
    };
    let r = backend.and_then(|b| run_in(&tmp, &b, quick).map(|f| (b, f)));
    drop(cluster);
    let _ = std::fs::remove_dir_all(&tmp);
    let (backend, f) = r?;
    let ratio = |x: f64| (x * 100.0).round() / 100.0;
    let amr = f.vs_automerge_repo;
    let j = serde_json::json!({
        "bench": "sync",
        "backend": backend.name(),
        "appends_per_s": f.appends_per_s.round(),
        "appends_per_s_two_relays": f.appends_per_s_two_relays.map(f64::round),
        "vs_sqlite": ratio(f.appends_per_s / f.sqlite_appends_per_s.max(1.0)),
        "single_entry_appends_per_s": f.single_appends_per_s.round(),
        "catchup_round_trips": f.catchup_round_trips,
        "catchup_bytes_ratio": (f.catchup_bytes_ratio * 1000.0).round() / 1000.0,
        "catchup_s": (f.catchup_s * 1000.0).round() / 1000.0,
        "storm_p99_ms": (f.storm_p99_ms * 10.0).round() / 10.0,
        "relay_kb_per_conn": (f.relay_kb_per_conn * 10.0).round() / 10.0,
        // Ours / theirs in values per second; see VsAutomergeRepo. `_crdt`: their sync server,
        // which merges Automerge changes (CRDT work our blind relay does not do), so not like
        // for like. `_blobs`: like for like, opaque 1 KB blobs stored and forwarded blind
        // through their WebSocket adapter.
        "vs_automerge_repo_ours_per_s": amr.ours_per_s.round(),
        "vs_automerge_repo_crdt": amr.crdt_per_s.map(|t| ratio(amr.ours_per_s / t)),
        "automerge_repo_crdt_per_s": amr.crdt_per_s.map(f64::round),
        "vs_automerge_repo_blobs": amr.blobs_per_s.map(|t| ratio(amr.ours_per_s / t)),
        "automerge_repo_blobs_per_s": amr.blobs_per_s.map(f64::round),
    });
    Ok(j.to_string())
}

fn run_in(tmp: &Path, backend: &Backend, quick: bool) -> Result<SyncFigures, String> {
    let (total, storm, visits) = if quick { (5_000, 100, 2) } else { (100_000, 1_000, 5) };
    let sqlite = Backend::Sqlite;
    eprintln!("sync: appends on SQLite, the baseline ({total} entries of 1 KB, 4 clients, batches of 100)");
    let sqlite_appends_per_s = bench_appends(&sqlite.db(tmp, "appends_sqlite")?, 1, total, 4, 100)?;
    let (appends_per_s, appends_per_s_two_relays) = match backend {
        Backend::Sqlite => (sqlite_appends_per_s, None),
        Backend::Postgres(_) => {
            eprintln!("sync: the same appends on PostgreSQL, one relay process");
            let one = bench_appends(&backend.db(tmp, "appends")?, 1, total, 4, 100)?;
            eprintln!("sync: the same appends on PostgreSQL, two relay processes on one database");
            let two = bench_appends(&backend.db(tmp, "appends_two")?, 2, total, 4, 100)?;
            (one, Some(two))
        }
    };
    eprintln!("sync: single-entry appends");
    let single_appends_per_s = bench_appends(&backend.db(tmp, "single")?, 1, total / 10, 8, 1)?;
    eprintln!("sync: catch-up after a day offline (30 patients × {visits} visits)");
    std::fs::create_dir_all(tmp.join("c")).map_err(|e| e.to_string())?;
    let (catchup_round_trips, catchup_bytes_ratio, catchup_s) = bench_catchup(&tmp.join("c"), backend, 30, visits)?;
    eprintln!("sync: reconnect storm ({storm} devices)");
    std::fs::create_dir_all(tmp.join("r")).map_err(|e| e.to_string())?;
    let (storm_p99_ms, relay_kb_per_conn) = bench_storm(&tmp.join("r"), backend, storm)?;
    let vs_n = if quick { 300 } else { 2_000 };
    eprintln!(
        "sync: {vs_n} values of 1 KB, one writer then a fresh reader: our relay, \
         @automerge/automerge-repo-sync-server (CRDT), a blind relay on automerge-repo's WebSocket adapter"
    );
    std::fs::create_dir_all(tmp.join("v")).map_err(|e| e.to_string())?;
    let vs_automerge_repo = bench_vs_automerge_repo(&tmp.join("v"), vs_n)?;
    let VsAutomergeRepo { ours_per_s, crdt_per_s, blobs_per_s } = vs_automerge_repo;
    eprintln!(
        "sync: ours {ours_per_s:.0}/s, their sync server {crdt_per_s:.0?}/s, their adapter blind {blobs_per_s:.0?}/s"
    );
    Ok(SyncFigures {
        vs_automerge_repo,
        appends_per_s,
        appends_per_s_two_relays,
        sqlite_appends_per_s,
        single_appends_per_s,
        catchup_round_trips,
        catchup_bytes_ratio,
        catchup_s,
        storm_p99_ms,
        relay_kb_per_conn,
    })
}
