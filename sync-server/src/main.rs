//! `houmon-relay` command line: `serve` runs the relay, `admin` manages clinics and devices
//! directly in the database (on the relay machine).
//!
//! Must never: keep a one-time code (only its hash is stored; the code is printed once), or
//! read an entry's contents.

use clap::{Parser, Subcommand};
use houmon_relay::{Limits, Relay, RelayStore, SqliteStore, random16};
use houmon_sync_proto::{ClinicId, DeviceId, Role, enrollment};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "houmon-relay", version, about = "Blind sync relay for Houmon (encrypted entries only)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the relay.
    Serve(Serve),
    /// Manage clinics and devices in the relay database.
    Admin {
        #[arg(long)]
        db: PathBuf,
        #[command(subcommand)]
        cmd: AdminCmd,
    },
}

#[derive(clap::Args, Debug)]
struct Serve {
    /// SQLite database file (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:8443 (port 0 picks a free port).
    #[arg(long)]
    listen: SocketAddr,
    /// PEM certificate chain; with --tls-key serves TLS 1.3. Without TLS only loopback is allowed.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[arg(long, default_value_t = 1 << 20)]
    max_entry_bytes: usize,
    #[arg(long, default_value_t = 16 << 20)]
    max_body_bytes: usize,
    #[arg(long, default_value_t = 50.0)]
    requests_per_s: f64,
    #[arg(long, default_value_t = 200.0)]
    request_burst: f64,
    #[arg(long, default_value_t = 20_000)]
    max_connections: usize,
    #[arg(long, default_value_t = 4)]
    max_connections_per_device: usize,
}

#[derive(Subcommand, Debug)]
enum AdminCmd {
    /// Create a clinic and print its id and a one-time code for its first (admin) device.
    CreateClinic {
        #[arg(long)]
        name: String,
        /// How long the code stays valid, in hours.
        #[arg(long, default_value_t = 72)]
        valid_hours: u32,
    },
    /// Print a one-time code for another device (no content key: the device must get it from
    /// an admin device; prefer creating codes from the back office app).
    CreateCode {
        #[arg(long)]
        clinic: String,
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long, default_value_t = 72)]
        valid_hours: u32,
    },
    /// Revoke a device (takes effect within a second on a running relay).
    Revoke {
        #[arg(long)]
        device: String,
    },
    /// List a clinic's devices.
    Devices {
        #[arg(long)]
        clinic: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.cmd {
        Cmd::Serve(s) => serve(s),
        Cmd::Admin { db, cmd } => admin(db, cmd),
    };
    std::process::exit(code);
}

fn fail(ja: &str, en: &str) -> i32 {
    eprintln!("houmon-relay: {ja}\n  ({en})");
    2
}

fn admin(db: PathBuf, cmd: AdminCmd) -> i32 {
    let store = match SqliteStore::open(&db) {
        Ok(s) => s,
        Err(e) => return fail(&format!("データベースを開けません: {e}"), "cannot open the database; check --db"),
    };
    let now = houmon_relay::server::now_ms();
    let new_code = |clinic: ClinicId, role: Role, hours: u32| -> Result<String, String> {
        let raw = random16();
        store
            .create_code(clinic, enrollment::code_auth_hash(&raw), role, None, now + i64::from(hours) * 3_600_000)
            .map_err(|e| e.to_string())?;
        Ok(enrollment::format_code(&raw))
    };
    let r = match cmd {
        AdminCmd::CreateClinic { name, valid_hours } => store
            .create_clinic(&name, now)
            .map_err(|e| e.to_string())
            .and_then(|c| new_code(c, Role::Admin, valid_hours).map(|code| format!("clinic {c}\ncode {code}"))),
        AdminCmd::CreateCode { clinic, role, valid_hours } => match (ClinicId::from_hex(&clinic), Role::parse(&role)) {
            (Some(c), Some(r)) => new_code(c, r, valid_hours).map(|code| format!("code {code}")),
            _ => Err("--clinic must be 32 hex digits and --role member or admin".into()),
        },
        AdminCmd::Revoke { device } => match DeviceId::from_hex(&device) {
            Some(d) => match store.revoke(None, d) {
                Ok(true) => Ok(format!("revoked {d}")),
                Ok(false) => Err("no such device".into()),
                Err(e) => Err(e.to_string()),
            },
            None => Err("--device must be 32 hex digits".into()),
        },
        AdminCmd::Devices { clinic } => match ClinicId::from_hex(&clinic) {
            Some(c) => store.devices(c).map_err(|e| e.to_string()).map(|v| {
                v.iter()
                    .map(|d| {
                        format!(
                            "{} {} {}{}",
                            d.device,
                            d.role.code(),
                            d.label,
                            if d.revoked { " (revoked)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            None => Err("--clinic must be 32 hex digits".into()),
        },
    };
    store.close();
    match r {
        Ok(out) => {
            println!("{out}");
            0
        }
        Err(e) => fail(&format!("失敗しました: {e}"), "the admin command failed"),
    }
}

fn serve(s: Serve) -> i32 {
    if s.tls_cert.is_none() && !s.listen.ip().is_loopback() {
        return fail(
            "TLS証明書なしではループバック以外で待ち受けできません。--tls-cert と --tls-key を指定してください。",
            "plain HTTP is only allowed on loopback; pass --tls-cert and --tls-key",
        );
    }
    let store = match SqliteStore::open(&s.db) {
        Ok(st) => st,
        Err(e) => return fail(&format!("データベースを開けません: {e}"), "cannot open the database; check --db"),
    };
    let limits = Limits {
        max_entry_bytes: s.max_entry_bytes,
        max_body_bytes: s.max_body_bytes,
        requests_per_s: s.requests_per_s,
        request_burst: s.request_burst,
        max_connections: s.max_connections,
        max_connections_per_device: s.max_connections_per_device,
        ..Limits::default()
    };
    // Few blocking threads: SQLite work is short, and each idle thread costs memory.
    let rt = match tokio::runtime::Builder::new_multi_thread().max_blocking_threads(16).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("起動できません: {e}"), "cannot start the runtime"),
    };
    let dyn_store: Arc<dyn RelayStore> = store.clone();
    let code = rt.block_on(run(s, dyn_store, limits));
    // Every queued append is committed (and was acknowledged only after commit).
    store.close();
    code
}

async fn run(s: Serve, store: Arc<dyn RelayStore>, limits: Limits) -> i32 {
    let relay = Relay::new(store, limits);
    let app = relay.router();
    let handle = axum_server::Handle::new();
    let tls = match (&s.tls_cert, &s.tls_key) {
        (Some(cert), Some(key)) => match tls_config(cert, key) {
            Ok(c) => Some(c),
            Err(e) => return fail(&format!("TLS証明書を読めません: {e}"), "cannot load the TLS certificate or key"),
        },
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let h = handle.clone();
    let r2 = relay.clone();
    tokio::spawn(async move {
        if let Some(addr) = h.listening().await {
            println!("houmon-relay listening on {scheme}://{addr}");
            let _ = std::io::stdout().flush();
        }
        shutdown_signal().await;
        eprintln!("houmon-relay: shutting down");
        r2.begin_shutdown();
        h.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let svc = app.into_make_service();
    let res = match tls {
        Some(cfg) => axum_server::bind_rustls(s.listen, cfg).handle(handle).serve(svc).await,
        None => axum_server::bind(s.listen).handle(handle).serve(svc).await,
    };
    match res {
        Ok(()) => 0,
        Err(e) => fail(&format!("待ち受けできません: {e}"), "cannot listen on --listen; is the port free?"),
    }
}

fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> Result<axum_server::tls_rustls::RustlsConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // TLS 1.3 only (CRYPTREC 高セキュリティ型).
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(cfg)))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
