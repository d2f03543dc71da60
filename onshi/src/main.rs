//! `houmon-onshi`: support tool for the qualification domain (parse 資格確認端末 XML, check
//! digits, an emulated terminal on a folder, the simulator's synthetic people). JSON on stdout;
//! on error a Japanese message (then English) on stderr and a non-zero exit.
//!
//! Must never: write anywhere but the terminal folder it is given, or print a PIN (the
//! simulator's PINs are not even read).

use clap::{Parser, Subcommand, ValueEnum};
use houmon_onshi::bridge::{EmulatorOptions, TerminalEmulator, TerminalFolder};
use houmon_onshi::clock::SystemClock;
use houmon_onshi::numbers::{InsurerNumber, MedicalInstitutionCode, institution_check_digit, insurer_check_digit};
use houmon_onshi::sim::{SimConfig, Simulator, registry::Registry};
use houmon_onshi::xml;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Parser)]
#[command(
    name = "houmon-onshi",
    version,
    about = "オンライン資格確認: XML, check digits, simulator and terminal emulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NumberKind {
    /// 保険者番号 (8 digits, 6 for 国保; or the body without the check digit).
    Insurer,
    /// 医療機関コード (10 digits; or the 9-digit body).
    Institution,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse a 資格確認端末 XML file (UTF-8 or Shift_JIS) and print its fields as JSON.
    Parse { file: PathBuf },
    /// Compute a check digit (from the body) or validate a full number.
    CheckDigit { kind: NumberKind, digits: String },
    /// Run an emulated 資格確認端末 on a shared folder (req/, res/), answering from the simulator.
    TerminalSim {
        #[arg(long)]
        dir: PathBuf,
        /// Milliseconds between looks at req/.
        #[arg(long, default_value_t = 500)]
        interval_ms: u64,
        /// Steps a request waits before it is answered (a slow terminal).
        #[arg(long, default_value_t = 0)]
        answer_after_steps: u32,
        /// Write each result in two halves (exercise half-written files).
        #[arg(long)]
        split_writes: bool,
        /// Bulk fetches answering 処理中 before the result.
        #[arg(long, default_value_t = 0)]
        bulk_pending: u32,
        /// Stop after this many steps (default: run until killed).
        #[arg(long)]
        steps: Option<u64>,
    },
    /// Print the simulator's synthetic people (for training) as JSON.
    SimRegistry,
}

/// An error with a Japanese message for users and an English one.
struct Failure {
    ja: String,
    en: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("エラー: {}", f.ja);
            eprintln!("Error: {}", f.en);
            ExitCode::FAILURE
        }
    }
}

fn print(v: &impl serde::Serialize) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| Failure { ja: "JSON に変換できませんでした。".into(), en: e.to_string() })?;
    println!("{s}");
    Ok(())
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Parse { file } => {
            let bytes = std::fs::read(&file).map_err(|e| Failure {
                ja: format!("ファイル {} を読めません。パスと権限を確認してください。", file.display()),
                en: format!("{}: {e}", file.display()),
            })?;
            let (msg, encoding) =
                xml::parse_with_encoding(&bytes).map_err(|e| Failure { ja: e.message_ja(), en: e.to_string() })?;
            print(&json!({ "encoding": encoding, "message": msg }))
        }
        Command::CheckDigit { kind, digits } => check_digit(kind, digits.trim()),
        Command::TerminalSim { dir, interval_ms, answer_after_steps, split_writes, bulk_pending, steps } => {
            let config = SimConfig { bulk_pending_fetches: bulk_pending, ..SimConfig::default() };
            let sim = Arc::new(Simulator::with(
                Registry::synthetic(),
                houmon_onshi::sim::TEST_CA_DER.to_vec(),
                config,
                Arc::new(SystemClock),
            ));
            let options = EmulatorOptions { answer_after_steps, split_writes, ..Default::default() };
            let bridge_err = |e: houmon_onshi::bridge::BridgeError| Failure { ja: e.message_ja(), en: e.to_string() };
            let mut term = TerminalEmulator::new(TerminalFolder::new(&dir), sim, options).map_err(bridge_err)?;
            eprintln!("訓練モード: 資格確認端末エミュレータ {} を監視しています", dir.display());
            let interval = std::time::Duration::from_millis(interval_ms);
            match steps {
                Some(n) => {
                    for i in 0..n {
                        let r = term.step().map_err(bridge_err)?;
                        report(&r);
                        if i + 1 < n {
                            std::thread::sleep(interval);
                        }
                    }
                    Ok(())
                }
                None => term.run(interval, &AtomicBool::new(false), report).map_err(bridge_err),
            }
        }
        Command::SimRegistry => print(&Registry::synthetic().persons),
    }
}

fn report(r: &houmon_onshi::bridge::StepReport) {
    if !r.answered.is_empty() || !r.rejected.is_empty() {
        println!("{}", json!({ "answered": r.answered, "rejected": r.rejected, "waiting": r.waiting }));
    }
}

fn check_digit(kind: NumberKind, digits: &str) -> Result<(), Failure> {
    let fail = |e: houmon_onshi::NumberError| Failure { ja: e.message_ja(), en: e.to_string() };
    match (kind, digits.len()) {
        (NumberKind::Insurer, 5 | 7) => {
            let d = insurer_check_digit(digits).map_err(fail)?;
            print(&json!({ "body": digits, "check_digit": d, "number": format!("{digits}{d}") }))
        }
        (NumberKind::Institution, 9) => {
            let d = institution_check_digit(digits).map_err(fail)?;
            print(&json!({ "body": digits, "check_digit": d, "number": format!("{digits}{d}") }))
        }
        (NumberKind::Insurer, _) => {
            let n = InsurerNumber::parse(digits).map_err(fail)?;
            let body = &n.as_str()[..n.as_str().len() - 1];
            let expected = insurer_check_digit(body).map_err(fail)?;
            verdict(n.as_str(), expected, n.validate())
        }
        (NumberKind::Institution, _) => {
            let n = MedicalInstitutionCode::parse(digits).map_err(fail)?;
            let expected = institution_check_digit(&n.as_str()[..9]).map_err(fail)?;
            verdict(n.as_str(), expected, n.validate())
        }
    }
}

fn verdict(number: &str, expected: u8, r: Result<(), houmon_onshi::NumberError>) -> Result<(), Failure> {
    match r {
        Ok(()) => print(&json!({ "number": number, "check_digit": expected, "valid": true })),
        Err(e) => print(&json!({
            "number": number, "check_digit": expected, "valid": false,
            "reason_ja": e.message_ja(), "reason": e.to_string(),
        })),
    }
}
