//! Test helpers: start the real `houmon-relay` binary on loopback and talk to it as a device.
#![allow(dead_code)]

use houmon_sync_proto::*;
use ring::rand::SecureRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The PostgreSQL server the suite may use (`HOUMON_PG_URL`, e.g. from `houmon-pg-scratch`),
/// when `HOUMON_RELAY_BACKEND=postgres` asks for it. Otherwise the suite runs on SQLite.
pub fn postgres_base() -> Option<String> {
    match std::env::var("HOUMON_RELAY_BACKEND").as_deref() {
        Ok("postgres") => Some(std::env::var("HOUMON_PG_URL").unwrap_or_else(|_| {
            panic!("HOUMON_RELAY_BACKEND=postgres needs HOUMON_PG_URL (run under houmon-pg-scratch)")
        })),
        Ok("sqlite") | Err(_) => None,
        Ok(other) => panic!("HOUMON_RELAY_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// A PostgreSQL server for a test that needs one whatever the backend: `HOUMON_PG_URL`. Without
/// it the test says why it is skipped, and under CI it fails.
pub fn require_postgres(test: &str) -> Option<String> {
    match std::env::var("HOUMON_PG_URL") {
        Ok(u) => Some(u),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("{test}: HOUMON_PG_URL is not set under CI (run the suite under houmon-pg-scratch)")
        }
        Err(_) => {
            eprintln!("SKIPPED {test}: needs PostgreSQL; run under `houmon-pg-scratch -- cargo test ...`");
            None
        }
    }
}

/// `base` with its database name replaced by a new database made for `key` (created once).
pub fn fresh_database(base: &str, key: &Path) -> String {
    use std::sync::Mutex;
    static MADE: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
    let mut made = MADE.lock().expect("lock");
    if let Some((_, u)) = made.iter().find(|(k, _)| k == key) {
        return u.clone();
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_os_str().as_encoded_bytes());
    let name = format!("relay_test_{}", hex::encode(&digest.as_ref()[..10]));
    let (head, query) = base.split_once('?').map_or((base, None), |(h, q)| (h, Some(q)));
    let root = head.rsplit_once('/').filter(|(r, _)| r.contains("//") && !r.ends_with('/')).map_or(head, |(r, _)| r);
    let url = match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    };
    let mut c = postgres::Client::connect(base, postgres::NoTls).expect("connect to HOUMON_PG_URL");
    c.batch_execute(&format!("CREATE DATABASE {name}")).expect("create a test database");
    made.push((key.to_path_buf(), url.clone()));
    url
}

/// What `--db` gets for a test's database path: the path (SQLite) or one PostgreSQL database
/// per path, so a test that restarts the relay on "the same file" finds its data again.
pub fn db_arg(db: &Path) -> std::ffi::OsString {
    match postgres_base() {
        Some(base) => fresh_database(&base, db).into(),
        None => db.as_os_str().to_owned(),
    }
}

pub struct RelayProc {
    pub child: Child,
    pub addr: String,
    pub db: PathBuf,
}

impl RelayProc {
    pub fn start(db: &Path, extra: &[&str]) -> Self {
        Self::start_spec(db_arg(db).as_os_str(), extra, db)
    }

    /// Start on an explicit `--db` value (a file or a `postgres://` URL).
    pub fn start_spec(spec: &std::ffi::OsStr, extra: &[&str], db: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_houmon-relay"))
            .args(["serve", "--db"])
            .arg(spec)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start houmon-relay");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read listening line");
        let addr = line.trim().rsplit("://").next().expect("addr").to_string();
        assert!(addr.starts_with("127.0.0.1:"), "relay said {line:?}");
        Self { child, addr, db: db.to_path_buf() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn sigterm(&mut self) -> std::process::ExitStatus {
        // SAFETY-free: use the kill binary rather than libc.
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        self.child.wait().expect("wait")
    }

    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn admin(db: &Path, args: &[&str]) -> (i32, String, String) {
    admin_spec(db_arg(db).as_os_str(), args)
}

/// `houmon-relay admin` on an explicit `--db` value.
pub fn admin_spec(spec: &std::ffi::OsStr, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_houmon-relay"))
        .args(["admin", "--db"])
        .arg(spec)
        .args(args)
        .output()
        .expect("run admin");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The one JSON object an admin command prints.
pub fn admin_json(db: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let (rc, out, err) = admin(db, args);
    let v = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not one JSON object ({e}): {out:?} {err}"));
    (rc, v)
}

/// Create a clinic; returns (clinic id, founding code).
pub fn create_clinic(db: &Path, name: &str) -> (ClinicId, String) {
    let (rc, v) = admin_json(db, &["create-clinic", "--name", name]);
    assert_eq!(rc, 0, "{v}");
    (
        ClinicId::from_hex(v["clinic"].as_str().expect("clinic")).expect("clinic id"),
        v["code"].as_str().expect("code").into(),
    )
}

/// A code for a further device, issued by an admin device as the back office does (the
/// relay is blind: any bytes stand for the wrapped content key here).
pub fn device_code(admin: &Dev, role: Role) -> String {
    let raw = rand16();
    let req = CreateCodeRequest {
        code_auth_hash: enrollment::code_auth_hash(&raw),
        role,
        wrapped_content_key: Some(b"wrapped-key-blob".to_vec()),
        valid_for_s: 3600,
    };
    assert_eq!(admin.post(PATH_CODES, encode(&req)).status, 200);
    enrollment::format_code(&raw)
}

pub fn rand16() -> [u8; 16] {
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut b).expect("rng");
    b
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

pub struct Dev {
    pub key: Ed25519KeyPair,
    pub device: DeviceId,
    pub clinic: ClinicId,
    pub base: String,
    pub agent: ureq::Agent,
}

pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok<T: for<'a> serde::Deserialize<'a>>(&self) -> T {
        assert_eq!(self.status, 200, "error: {}", String::from_utf8_lossy(&self.body));
        decode(&self.body).expect("decodable body")
    }
    pub fn err(&self) -> ErrorBody {
        assert_ne!(self.status, 200);
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("JSON error, got {:?}", String::from_utf8_lossy(&self.body)))
    }
}

pub fn enroll(relay: &RelayProc, code: &str, label: &str) -> Result<Dev, Answer> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("keygen");
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
    let raw = enrollment::parse_code(code).expect("code parses");
    let code_auth = enrollment::code_auth(&raw);
    let pk: [u8; 32] = key.public_key().as_ref().try_into().expect("32");
    let proof: [u8; 64] = key.sign(&enroll_signing_bytes(&code_auth, &pk, label)).as_ref().try_into().expect("64");
    let req = EnrollRequest { code_auth, public_key: pk, label: label.into(), proof };
    let agent = agent();
    let a = post_raw(&agent, &relay.url(PATH_ENROLL), &[], encode(&req));
    if a.status != 200 {
        return Err(a);
    }
    let r: EnrollResponse = a.ok();
    Ok(Dev { key, device: r.device, clinic: r.clinic, base: format!("http://{}", relay.addr), agent })
}

fn post_raw(agent: &ureq::Agent, url: &str, headers: &[(String, String)], body: Vec<u8>) -> Answer {
    let mut rq = agent.post(url).header("content-type", CONTENT_TYPE);
    for (k, v) in headers {
        rq = rq.header(k, v);
    }
    let mut resp = rq.send(&body[..]).expect("http");
    let status = resp.status().as_u16();
    let body = resp.body_mut().with_config().limit(64 << 20).read_to_vec().expect("body");
    Answer { status, body }
}

impl Dev {
    pub fn sign_headers(&self, method: &str, path: &str, body: &[u8]) -> Vec<(String, String)> {
        let nonce = rand16();
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_millis() as i64;
        self.sign_headers_at(method, path, body, t, nonce)
    }
    pub fn sign_headers_at(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        t: i64,
        nonce: [u8; 16],
    ) -> Vec<(String, String)> {
        let sig = self.key.sign(&request_signing_bytes(method, path, &self.device, t, &nonce, body));
        vec![
            (HEADER_DEVICE.into(), self.device.to_hex()),
            (HEADER_TIME.into(), t.to_string()),
            (HEADER_NONCE.into(), hex::encode(nonce)),
            (HEADER_SIGNATURE.into(), hex::encode(sig.as_ref())),
        ]
    }
    pub fn post(&self, path: &str, body: Vec<u8>) -> Answer {
        let h = self.sign_headers("POST", path, &body);
        post_raw(&self.agent, &format!("{}{}", self.base, path), &h, body)
    }
    pub fn post_with(&self, path: &str, body: Vec<u8>, headers: &[(String, String)]) -> Answer {
        post_raw(&self.agent, &format!("{}{}", self.base, path), headers, body)
    }
    pub fn get(&self, path: &str) -> Answer {
        let h = self.sign_headers("GET", path, &[]);
        let mut rq = self.agent.get(format!("{}{}", self.base, path));
        for (k, v) in &h {
            rq = rq.header(k, v);
        }
        let mut resp = rq.call().expect("http");
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_vec().expect("body");
        Answer { status, body }
    }
    pub fn entry(&self, doc: DocId, ciphertext: Vec<u8>) -> NewEntry {
        let entry_id = EntryId(rand16());
        let sig = self.key.sign(&entry_signing_bytes(&self.clinic, &doc, &self.device, &entry_id, &ciphertext));
        NewEntry { doc, entry_id, signature: sig.as_ref().try_into().expect("64"), ciphertext }
    }
    pub fn append(&self, entries: Vec<NewEntry>) -> Answer {
        self.post(PATH_APPEND, encode(&AppendRequest { entries }))
    }
    pub fn pull(&self, after: u64, docs: Option<Vec<DocId>>) -> Answer {
        self.post(PATH_PULL, encode(&PullRequest { after, docs, max_bytes: 8 << 20, with_snapshots: false }))
    }
}
