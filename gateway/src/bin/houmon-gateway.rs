//! `houmon-gateway`: runs the clinic-side qualification gateway (ARCHITECTURE.md, *Qualification
//! travels over sync*). A sync participant holding the clinic key: it catches up with the
//! relay, answers the qualification requests tablets wrote into charts (from the simulator or
//! the clinic's 資格確認端末 folder), writes the answers back and syncs them.
//!
//! ```text
//! houmon-gateway --relay URL --data-dir DIR [--enroll-code CODE]
//!                [--simulator | --terminal-dir DIR] [--institution CODE]
//!                [--once] [--poll-seconds N]
//! ```
//!
//! The enrollment code is needed on the first start only. Exit status: 0 done (`--once`),
//! 1 bad arguments or setup, 2 refused by the relay (revoked or bad code).
//!
//! Must never: print anything but ids and counts (no patient data, no insurance numbers).

use houmon_gateway::{Gateway, saved_actor};
use houmon_keys::FileFallback;
use houmon_keys::{DEVICE_KEY_FILE, DeviceSigningKey};
use houmon_onshi::MedicalInstitutionCode;
use houmon_onshi::bridge::{Bridge, BridgeOptions, TerminalFolder};
use houmon_onshi::clock::SystemClock;
use houmon_onshi::source::QualificationSource;
use houmon_store::Store;
use houmon_sync::{Backoff, SyncClient, SyncError};
use houmon_sync_proto::http::RelayHttp;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const USAGE: &str = "使い方 / usage: houmon-gateway --relay URL --data-dir DIR [--enroll-code CODE] \
[--simulator | --terminal-dir DIR] [--institution CODE] [--once] [--poll-seconds N]";

/// A startup error: Japanese first, English after, and what to do next.
struct Fail {
    ja: String,
    en: String,
    status: i32,
}

fn fail(ja: impl Into<String>, en: impl Into<String>) -> Fail {
    Fail { ja: ja.into(), en: en.into(), status: 1 }
}

fn sync_fail(e: &SyncError) -> Fail {
    let (ja, en) = e.user_message();
    let refused = matches!(e, SyncError::Relay(h) if !h.retryable()) || matches!(e, SyncError::BadCode);
    Fail { ja, en, status: if refused { 2 } else { 1 } }
}

#[derive(Debug, Default)]
struct Args {
    relay: Option<String>,
    data_dir: Option<PathBuf>,
    enroll_code: Option<String>,
    simulator: bool,
    terminal_dir: Option<PathBuf>,
    institution: Option<String>,
    once: bool,
    poll_seconds: Option<u64>,
}

fn parse_args() -> Result<Args, Fail> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next().ok_or_else(|| {
                fail(format!("{name} の値がありません。\n{USAGE}"), format!("{name} needs a value.\n{USAGE}"))
            })
        };
        match flag.as_str() {
            "--relay" => a.relay = Some(value("--relay")?),
            "--data-dir" => a.data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--enroll-code" => a.enroll_code = Some(value("--enroll-code")?),
            "--terminal-dir" => a.terminal_dir = Some(PathBuf::from(value("--terminal-dir")?)),
            "--institution" => a.institution = Some(value("--institution")?),
            "--poll-seconds" => {
                let v = value("--poll-seconds")?;
                a.poll_seconds = Some(v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    fail(
                        format!("--poll-seconds には1以上の整数を指定してください（{v}）。"),
                        format!("--poll-seconds takes a whole number of seconds ≥ 1 (got {v})."),
                    )
                })?);
            }
            "--simulator" => a.simulator = true,
            "--once" => a.once = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => {
                return Err(fail(
                    format!("不明なオプションです: {other}\n{USAGE}"),
                    format!("Unknown option: {other}\n{USAGE}"),
                ));
            }
        }
    }
    Ok(a)
}

fn main() {
    if let Err(f) = run() {
        eprintln!("houmon-gateway: {}\nhoumon-gateway: {}", f.ja, f.en);
        std::process::exit(f.status);
    }
}

fn run() -> Result<(), Fail> {
    let a = parse_args()?;
    let relay = a.relay.clone().ok_or_else(|| {
        fail(
            format!("同期サーバーのURLを --relay で指定してください。\n{USAGE}"),
            format!("Give the sync server URL with --relay.\n{USAGE}"),
        )
    })?;
    let url = url::Url::parse(&relay).ok().filter(|u| matches!(u.scheme(), "http" | "https")).ok_or_else(|| {
        fail(
            format!(
                "--relay のURLが正しくありません（{relay}）。http:// または https:// で始まるURLを指定してください。"
            ),
            format!("--relay is not a valid URL ({relay}). Give an http:// or https:// URL."),
        )
    })?;
    let dir = a.data_dir.clone().ok_or_else(|| {
        fail(
            format!("データの保存先を --data-dir で指定してください。\n{USAGE}"),
            format!("Give the data directory with --data-dir.\n{USAGE}"),
        )
    })?;
    if a.simulator == a.terminal_dir.is_some() {
        return Err(fail(
            "回答元を --simulator（訓練モード）か --terminal-dir DIR（資格確認端末の共有フォルダ）のどちらか一つ指定してください。",
            "Choose one answer source: --simulator (training mode) or --terminal-dir DIR (the qualification terminal's shared folder).",
        ));
    }
    let institution = match &a.institution {
        None => None,
        Some(c) => Some(MedicalInstitutionCode::parse_valid(c).map_err(|_| {
            fail(
                format!("医療機関コードが正しくありません（{c}）。10桁のコードを確認してください。"),
                format!("The medical institution code is not valid ({c}). Check the 10 digits."),
            )
        })?),
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        fail(
            format!("データの保存先 {} を作成できません（{e}）。パスと権限を確認してください。", dir.display()),
            format!("Cannot create the data directory {} ({e}). Check the path and permissions.", dir.display()),
        )
    })?;
    let mut store = Store::open(&dir, &FileFallback).map_err(|e| {
        let m = e.user_message();
        fail(format!("ローカルデータを開けません: {}", m.ja), format!("Cannot open the local data: {}", m.en))
    })?;
    let actor = saved_actor(&mut store).map_err(|e| sync_fail(&e))?;
    let http = RelayHttp::new(url.as_str().trim_end_matches('/'));
    // The gateway's one device key, wrapped like the store's data key, next to the store.
    let key_path = dir.join(DEVICE_KEY_FILE);
    let load_key = || {
        DeviceSigningKey::load_or_create(&key_path, &FileFallback).map_err(|e| {
            let m = e.user_message();
            fail(format!("端末の鍵を読めません: {}", m.ja), format!("Cannot read the device key: {}", m.en))
        })
    };
    let mut client = match SyncClient::open(&mut store, Some(http.clone()), load_key()?, actor)
        .map_err(|e| sync_fail(&e))?
    {
        Some(c) => {
            if a.enroll_code.is_some() {
                eprintln!(
                    "houmon-gateway: 登録済みのため登録コードは使いません / already enrolled: the enrollment code is not used"
                );
            }
            c
        }
        None => {
            let code = a.enroll_code.as_deref().ok_or_else(|| {
                fail(
                    "このゲートウェイは未登録です。管理者から登録コードを受け取り、--enroll-code で指定してください。",
                    "This gateway is not enrolled yet. Get an enrollment code from your administrator and pass it with --enroll-code.",
                )
            })?;
            SyncClient::enroll(&mut store, http, load_key()?, code, "houmon-gateway", actor)
                .map_err(|e| sync_fail(&e))?
        }
    };
    // The gateway answers for every patient: it replicates all of the clinic's documents.
    client.set_subscription(&mut store, None).map_err(|e| sync_fail(&e))?;
    let source = match &a.terminal_dir {
        Some(t) => {
            let folder = TerminalFolder::new(t.clone());
            folder
                .ensure()
                .map_err(|e| fail(e.message_ja(), format!("Cannot use the terminal folder {}: {e}", t.display())))?;
            QualificationSource::Terminal {
                bridge: Arc::new(Bridge::new(folder, Arc::new(SystemClock), BridgeOptions::default())),
                poll_interval: Duration::from_millis(500),
                timeout: Duration::from_secs(60),
            }
        }
        None => QualificationSource::Simulator(Arc::new(houmon_onshi::sim::Simulator::new(Arc::new(SystemClock)))),
    };
    let mut gateway = Gateway::new(&mut store, source, actor).map_err(|e| sync_fail(&e))?;
    if let Some(i) = institution {
        gateway = gateway.with_institution(i);
    }
    println!(
        "houmon-gateway ready device {} source {}",
        hex::encode(client.device().0),
        if a.simulator { "simulator" } else { "terminal" }
    );
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    let mut rng = rand::thread_rng();
    loop {
        match gateway.run_once(&mut store, &mut client) {
            Ok(r) => {
                backoff.reset();
                println!("round answered {} failed {} waiting {}", r.answered, r.failed, r.waiting);
                for w in &r.waiting_reasons {
                    eprintln!("houmon-gateway: 回答待ち / waiting: {w}");
                }
                if a.once {
                    return Ok(());
                }
                if let Some(s) = a.poll_seconds {
                    std::thread::sleep(Duration::from_secs(s));
                } else if r.waiting > 0 {
                    // The source is unreachable: try again soon even without news.
                    std::thread::sleep(backoff.next_delay(&mut rng));
                } else if let Err(e) = client.wait_for_push(&mut store) {
                    if !e.retryable() {
                        return Err(sync_fail(&e));
                    }
                    std::thread::sleep(backoff.next_delay(&mut rng));
                }
            }
            Err(e) if e.retryable() && !a.once => {
                let (ja, en) = e.user_message();
                eprintln!("houmon-gateway: {ja} / {en}");
                std::thread::sleep(backoff.next_delay(&mut rng));
            }
            Err(e) => return Err(sync_fail(&e)),
        }
    }
}
