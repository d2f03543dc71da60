//! `houmon-bench`: benchmarks on fixed synthetic data. Each subcommand prints progress on
//! stderr and ends with one JSON line of figures on stdout.
//!
//! Must never: run on anything but data the project generates (the seeded synthetic clinic,
//! synthetic cards).

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use houmon_nfc::vpcd::VpcdOptions;
use houmon_nfc::{AuthPin, Card, Transport, VirtualCard, VirtualTransport, jpki};
use houmon_tests::bench_store;
use houmon_tests::card_env::PlacedCard;
use serde_json::json;

#[derive(Parser)]
#[command(name = "houmon-bench", about = "Houmon benchmarks (one JSON line of figures per run)")]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// The PIN-mode sequence (certificate, tries, VERIFY, sign) through pcscd + vpcd.
    Card {
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
    /// The encrypted store on the synthetic clinic: cold open, chart open, durable note save
    /// (`--seed N --patients N --visits N --charts N --notes N --dir PATH --reuse`).
    Store {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The real app binary: launch to today's visits (vs a bare Tauri window), card to result.
    App {
        #[arg(long, default_value_t = 5)]
        launches: usize,
        #[arg(long, default_value_t = 5)]
        card_runs: usize,
    },
    /// A clinic from nothing: founding and the first tablet on loopback; the visit plan's month
    /// view and a year of recurring visits on 1,000 patients / ~3,000 visits a month; a
    /// tablet's first partial sync.
    Clinic,
    /// The relay and sync client: appends/s, catch-up, reconnect storm, vs automerge-repo.
    Sync {
        /// Smaller workloads for a quick look.
        #[arg(long)]
        quick: bool,
        /// The relay database: SQLite, or PostgreSQL (`HOUMON_PG_URL`, else a throwaway
        /// cluster started for the run). The SQLite append rate is measured in every run.
        #[arg(long, value_enum, default_value_t = SyncBackend::Sqlite)]
        backend: SyncBackend,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SyncBackend {
    Sqlite,
    Postgres,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs the sequence `iterations` times, each as a fresh session (nothing cached on the card
/// side but the PC/SC connection); returns APDUs per sequence and sorted durations.
fn run_sequences<T: Transport>(transport: &mut T, iterations: usize) -> (u32, Vec<Duration>) {
    let pin = AuthPin::parse("1234").expect("demo PIN");
    let digest = [0x5Au8; 32];
    let mut times = Vec::with_capacity(iterations);
    let mut apdus = 0;
    for _ in 0..iterations {
        let start = Instant::now();
        let mut card = Card::new(&mut *transport);
        let signed = jpki::pin_mode_sign(&mut card, &pin, &digest, false).expect("sequence succeeds");
        times.push(start.elapsed());
        apdus = signed.apdus;
    }
    times.sort();
    (apdus, times)
}

fn bench_card(iterations: usize) -> Result<(), String> {
    let card = VirtualCard::new(houmon_nfc::DEMO_HOLDER).map_err(|e| e.to_string())?;
    let placed = PlacedCard::place(card, VpcdOptions::default())
        .ok_or("pcscd with vsmartcard-vpcd is not running (see README: scripts/test-all.sh starts it)")?;
    let mut card = placed.connect().map_err(|e| e.to_string())?;
    // Warm up the connection and the virtual card before timing.
    run_sequences(&mut *card.transport_mut(), 5);
    eprintln!("card: {iterations} PIN-mode sequences through pcscd …");
    let (apdus, times) = run_sequences(&mut *card.transport_mut(), iterations);
    // The same sequence with no PC/SC underneath: our software plus the virtual card's RSA.
    let mut in_process = VirtualTransport::new(VirtualCard::new(houmon_nfc::DEMO_HOLDER).map_err(|e| e.to_string())?);
    let (_, local) = run_sequences(&mut in_process, iterations);
    println!(
        "{}",
        json!({
            "apdus": apdus,
            "sequence_ms_p50": percentile(&times, 0.50),
            "sequence_ms_p95": percentile(&times, 0.95),
            "iterations": iterations,
            "in_process_ms_p50": percentile(&local, 0.50),
            "in_process_ms_p95": percentile(&local, 0.95),
        })
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let result = match Cli::parse().command {
        Bench::Card { iterations } => bench_card(iterations.max(1)),
        Bench::Store { args } => bench_store::StoreBenchArgs::parse(&args).and_then(|a| bench_store::run(&a)),
        Bench::App { launches, card_runs } => {
            houmon_tests::bench_app::run(&houmon_tests::bench_app::AppBenchArgs { launches, card_runs })
        }
        Bench::Clinic => bench_store::tempdir_for("clinic")
            .and_then(|d| houmon_tests::bench_clinic::run(&d.0))
            .map(|json| println!("{json}")),
        Bench::Sync { quick, backend } => {
            houmon_tests::bench_sync::run(quick, backend == SyncBackend::Postgres).map(|json| println!("{json}"))
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("houmon-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
