//! A throwaway PostgreSQL cluster for the relay tests and `houmon-bench sync --backend
//! postgres`: `initdb` in a temporary directory, the server on a free loopback port and a
//! socket in that directory, stopped and removed when dropped. Uses Debian's `postgresql`
//! package; nothing is downloaded. PostgreSQL refuses to run as root, so as root (CI, these
//! machines) every PostgreSQL command runs as the `postgres` user the package creates.
//!
//! Must never: touch a cluster it did not create, or listen beyond loopback.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug)]
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    port: u16,
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
fn bin_dir() -> Result<PathBuf, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            "PostgreSQL がありません(apt install postgresql) / PostgreSQL is not installed (apt install postgresql)"
                .to_string()
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, b)| b.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).ok_or_else(|| "no /usr/lib/postgresql/*/bin/initdb".into())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgCluster {
    pub fn start() -> Result<Self, String> {
        let bin = bin_dir()?;
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!("houmon-pg-{}-{}", std::process::id(), hex::encode(rand16())));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let me = Self { dir, bin, as_postgres, port };
        if as_postgres {
            me.run(Command::new("chown").args(["postgres:postgres"]).arg(&me.dir), "chown")?;
        }
        let data = me.dir.join("data");
        me.run(
            me.pg("initdb").arg("-D").arg(&data).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"]),
            "initdb",
        )?;
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=300 -c shared_buffers=64MB",
            me.dir.display()
        );
        me.run(
            me.pg("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(me.dir.join("log"))
                .args(["-w", "-t", "60", "-o", &opts, "start"]),
            "pg_ctl start",
        )?;
        Ok(me)
    }

    /// A URL for the cluster's `postgres` database (superuser, trust on loopback).
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn pg(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        c.current_dir(&self.dir);
        c
    }

    fn run(&self, c: &mut Command, what: &str) -> Result<(), String> {
        let out = c.stdin(Stdio::null()).output().map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        Err(format!(
            "{what} failed: {}{}\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run(self.pg("pg_ctl").arg("-D").arg(&data).args(["-m", "fast", "-w", "stop"]), "pg_ctl stop");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand16() -> [u8; 16] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b
}

/// Create database `name` on the server `base` names and return its URL (`base` with the
/// database part replaced).
pub fn create_database(base: &str, name: &str) -> Result<String, String> {
    let (head, query) = base.split_once('?').map_or((base, None), |(h, q)| (h, Some(q)));
    let root = head.rsplit_once('/').filter(|(r, _)| !r.ends_with('/')).map_or(head, |(r, _)| r);
    let url = match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    };
    let mut c = postgres::Client::connect(base, postgres::NoTls).map_err(|e| format!("connect to {base}: {e}"))?;
    c.batch_execute(&format!("CREATE DATABASE {name}")).map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
    Ok(url)
}
