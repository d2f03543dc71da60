//! `houmon-relay` command line: `serve` runs the relay, `admin` manages clinics and devices
//! directly in the database (on the relay machine).
//!
//! Every `admin` command prints exactly one JSON object on stdout (errors: `{"error", "message",
//! "message_en"}`, exit 1). The relay issues only founding codes (it never has the content key):
//! once a clinic has a device, codes come from its admin device.
//!
//! Must never: keep a one-time code (only its hash is stored; the code is printed once), read
//! an entry's contents, or issue a keyless code for a clinic that already has a device.

use clap::{Parser, Subcommand};
use houmon_relay::{Limits, Relay, RelayStore, StoreError, open_store, random16};
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
        /// The relay database: a SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, visible_alias = "database")]
        db: String,
        #[command(subcommand)]
        cmd: AdminCmd,
    },
}

#[derive(clap::Args, Debug)]
struct Serve {
    /// The relay database: a SQLite file (created if missing; one relay process), or a
    /// PostgreSQL URL `postgres://user@host/db` (several relay processes may share it).
    #[arg(long, visible_alias = "database")]
    db: String,
    /// Address to listen on, e.g. 127.0.0.1:8443 (port 0 picks a free port).
    #[arg(long)]
    listen: SocketAddr,
    /// PEM certificate chain; with --tls-key serves TLS 1.3. Without TLS only loopback is allowed.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[arg(long, default_value_t = houmon_sync_proto::MAX_ENTRY_BYTES)]
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
    /// Create a clinic; prints `{"clinic": ID, "code": CODE}`, CODE being its founding code
    /// (no content key: the device that redeems it founds the clinic and becomes its admin).
    CreateClinic {
        #[arg(long)]
        name: String,
        /// How long the code stays valid, in hours.
        #[arg(long, default_value_t = 72)]
        valid_hours: u32,
    },
    /// A new founding code for a clinic that has no device yet (the first one expired or was
    /// lost). Once a device enrolled, codes come from the admin device (back office,
    /// `houmon-clinic code create`): they carry the content key, which this relay never has.
    CreateCode {
        #[arg(long)]
        clinic: String,
        #[arg(long, default_value = "admin")]
        role: String,
        #[arg(long, default_value_t = 72)]
        valid_hours: u32,
    },
    /// Revoke a device: at once on relays sharing a PostgreSQL database, within a second on
    /// a relay running on the same SQLite file.
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

/// An admin command's failure: one JSON object on stdout, exit 1.
#[derive(Debug)]
struct AdminError {
    code: &'static str,
    ja: String,
    en: String,
}

fn admin_err(code: &'static str, ja: impl Into<String>, en: impl Into<String>) -> AdminError {
    AdminError { code, ja: ja.into(), en: en.into() }
}

fn storage_err(e: StoreError) -> AdminError {
    match e {
        StoreError::KeylessForFounded => admin_err(
            "clinic_founded",
            "この医療機関にはすでに登録済みの端末があるため、ここでは登録コードを発行できません。2台目以降の端末のコードは、管理用端末(事務所の管理画面、または houmon-clinic code create)で発行してください。",
            "This clinic already has enrolled devices, so no code can be issued here. Codes for further devices come from the admin device (the back office, or houmon-clinic code create).",
        ),
        StoreError::NewerSchema { found, known } => admin_err(
            "newer_schema",
            format!(
                "このデータベースは新しい版の houmon-relay で更新されています(スキーマ {found}、この版は {known} まで)。houmon-relay を更新してください。"
            ),
            format!(
                "The database was migrated by a newer houmon-relay (schema {found}, this one knows {known}). Update houmon-relay."
            ),
        ),
        e => admin_err(
            "storage",
            format!("データベースの操作に失敗しました({e})。--db のファイルと空き容量を確認してください。"),
            format!("The database operation failed ({e}). Check the --db file and free space."),
        ),
    }
}

fn bad_arg(what: &str) -> AdminError {
    admin_err(
        "bad_argument",
        format!("{what} の値が正しくありません。--help で書式を確認してください。"),
        format!("The value of {what} is malformed. See --help."),
    )
}

fn admin(db: String, cmd: AdminCmd) -> i32 {
    let r = match open_store(&db) {
        Ok(store) => {
            let r = admin_with(store.as_ref(), cmd);
            store.close();
            r
        }
        Err(e @ StoreError::NewerSchema { .. }) => Err(storage_err(e)),
        Err(e) => Err(admin_err(
            "database",
            format!("データベースを開けません({e})。--db のパス(または PostgreSQL の URL)を確認してください。"),
            format!("Cannot open the database ({e}). Check --db (a file or a postgres:// URL)."),
        )),
    };
    let (out, rc) = match r {
        Ok(v) => (v, 0),
        Err(e) => (serde_json::json!({"error": e.code, "message": e.ja, "message_en": e.en}), 1),
    };
    println!("{out}");
    rc
}

fn admin_with(store: &dyn RelayStore, cmd: AdminCmd) -> Result<serde_json::Value, AdminError> {
    use serde_json::json;
    let now = houmon_relay::server::now_ms();
    // The relay never has the content key: every code it issues is a founding code, refused
    // by the store once the clinic has a device.
    let founding_code = |clinic: ClinicId, role: Role, hours: u32| -> Result<String, AdminError> {
        let raw = random16();
        store
            .create_code(clinic, enrollment::code_auth_hash(&raw), role, None, now + i64::from(hours) * 3_600_000)
            .map_err(storage_err)?;
        Ok(enrollment::format_code(&raw))
    };
    match cmd {
        AdminCmd::CreateClinic { name, valid_hours } => {
            let clinic = store.create_clinic(&name, now).map_err(storage_err)?;
            let code = founding_code(clinic, Role::Admin, valid_hours)?;
            Ok(json!({"clinic": clinic.to_hex(), "code": code}))
        }
        AdminCmd::CreateCode { clinic, role, valid_hours } => {
            let clinic = ClinicId::from_hex(&clinic).ok_or_else(|| bad_arg("--clinic"))?;
            let role = Role::parse(&role).ok_or_else(|| bad_arg("--role"))?;
            Ok(json!({"clinic": clinic.to_hex(), "code": founding_code(clinic, role, valid_hours)?}))
        }
        AdminCmd::Revoke { device } => {
            let d = DeviceId::from_hex(&device).ok_or_else(|| bad_arg("--device"))?;
            match store.revoke(None, d).map_err(storage_err)? {
                true => Ok(json!({"revoked": d.to_hex()})),
                false => Err(admin_err(
                    "not_found",
                    "その端末は登録されていません。devices で端末IDを確認してください。",
                    "No such device. Check the id with devices.",
                )),
            }
        }
        AdminCmd::Devices { clinic } => {
            let clinic = ClinicId::from_hex(&clinic).ok_or_else(|| bad_arg("--clinic"))?;
            let devices = store.devices(clinic).map_err(storage_err)?;
            let list: Vec<serde_json::Value> = devices
                .iter()
                .map(|d| {
                    json!({"id": d.device.to_hex(), "role": d.role.code(), "label": d.label, "revoked": d.revoked,
                           "last_seen_ms": d.last_seen_ms})
                })
                .collect();
            Ok(json!({"clinic": clinic.to_hex(), "devices": list}))
        }
    }
}

fn serve(s: Serve) -> i32 {
    if s.tls_cert.is_none() && !s.listen.ip().is_loopback() {
        return fail(
            "TLS証明書なしではループバック以外で待ち受けできません。--tls-cert と --tls-key を指定してください。",
            "plain HTTP is only allowed on loopback; pass --tls-cert and --tls-key",
        );
    }
    let store = match open_store(&s.db) {
        Ok(st) => st,
        Err(e @ StoreError::NewerSchema { .. }) => {
            return fail(
                &format!(
                    "データベースが新しい版の houmon-relay で更新されています。houmon-relay を更新してください({e})。"
                ),
                "the database was migrated by a newer houmon-relay; update this one",
            );
        }
        Err(e) => {
            return fail(
                &format!("データベースを開けません: {e}"),
                "cannot open the database; check --db (a file or a postgres:// URL)",
            );
        }
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
    // Built off the runtime: the store's blocking calls must not run on a runtime thread.
    let relay = Relay::new(store.clone(), limits);
    let code = rt.block_on(run(s, relay));
    // Every queued append is committed (and was acknowledged only after commit).
    store.close();
    code
}

async fn run(s: Serve, relay: Arc<Relay>) -> i32 {
    if let Err(e) = relay.listen_to_store() {
        return fail(
            &format!("データベースの通知を受け取れません: {e}"),
            "cannot listen to the database's notifications",
        );
    }
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
