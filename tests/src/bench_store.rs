//! `houmon-bench store`: the local store on the seeded synthetic clinic.
//!
//! Generates the clinic (1,000 patients × 200 visits × ~2 KB notes, 30 staff, ~3,000 visits a
//! month by default) into an encrypted store, then measures what a nurse feels: opening the app
//! to today's roster, opening a chart, saving a note durably. Each figure is paired with a
//! bare baseline measured in the same run and interleaved with it (a plain `Automerge::load` of
//! the same bytes; a plain SQLite insert of the same bytes with the same durability, alternately
//! before and after each save). Progress goes to stderr; the last line on stdout is one JSON
//! object of figures.

use houmon_keys::FileFallback;
use houmon_model::*;
use houmon_store::{Store, chart_doc_id};
use houmon_training::{self as synth, ClinicSpec};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Options for the store benchmark (the `houmon-bench store` flags map onto these).
#[derive(Debug, Clone)]
pub struct StoreBenchArgs {
    /// Synthetic clinic seed.
    pub seed: u64,
    /// Number of patients (1,000 for the real figures; smaller for a quick look).
    pub patients: usize,
    /// Visits per patient (200 for the real figures).
    pub visits_per_patient: usize,
    /// Charts opened for the chart-open figures.
    pub chart_samples: usize,
    /// Notes saved for the note-save figures.
    pub note_samples: usize,
    /// Where to put the store; default: a fresh temporary directory, removed afterwards.
    pub dir: Option<PathBuf>,
    /// Reuse a store already generated in `dir` with the same seed and size.
    pub reuse: bool,
}

impl Default for StoreBenchArgs {
    fn default() -> Self {
        Self {
            seed: 1,
            patients: 1000,
            visits_per_patient: 200,
            chart_samples: 100,
            note_samples: 200,
            dir: None,
            reuse: false,
        }
    }
}

impl StoreBenchArgs {
    /// Parse `--seed N --patients N --visits N --charts N --notes N --dir PATH --reuse`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut a = Self::default();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut val = || it.next().cloned().ok_or(format!("{flag} needs a value"));
            let num = |v: String| v.parse::<usize>().map_err(|_| format!("{flag}: not a number: {v}"));
            match flag.as_str() {
                "--seed" => a.seed = num(val()?)? as u64,
                "--patients" => a.patients = num(val()?)?,
                "--visits" => a.visits_per_patient = num(val()?)?,
                "--charts" => a.chart_samples = num(val()?)?,
                "--notes" => a.note_samples = num(val()?)?,
                "--dir" => a.dir = Some(PathBuf::from(val()?)),
                "--reuse" => a.reuse = true,
                other => return Err(format!("unknown flag {other}")),
            }
        }
        Ok(a)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// Peak resident set (VmHWM) in MiB, Linux only.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Reset the peak-RSS counter so the app figures exclude data generation.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn dir_mb(dir: &Path) -> f64 {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum::<u64>())
        .unwrap_or(0) as f64
        / (1024.0 * 1024.0)
}

/// Run the benchmark; prints progress on stderr and one JSON line on stdout.
pub fn run(args: &StoreBenchArgs) -> Result<(), String> {
    let e = |e: houmon_model::CoreError| format!("{e} ({})", e.english());
    let spec = ClinicSpec {
        patients: args.patients,
        visits_per_patient: args.visits_per_patient,
        ..ClinicSpec::full(args.seed)
    };
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempdir()?;
            tmp.0.clone()
        }
    };
    let marker = dir.join(format!("generated-{}-{}-{}", spec.seed, spec.patients, spec.visits_per_patient));
    let generated = args.reuse && marker.exists();
    let mut generate_s = 0.0;
    if !generated {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|x| x.to_string())?;
        }
        eprintln!(
            "store: generating {} patients × {} visits (seed {}) into {} …",
            spec.patients,
            spec.visits_per_patient,
            spec.seed,
            dir.display()
        );
        let t = Instant::now();
        let mut store = Store::open(&dir, &FileFallback).map_err(e)?;
        synth::generate(&spec, &mut store).map_err(e)?;
        drop(store);
        generate_s = t.elapsed().as_secs_f64();
        std::fs::write(&marker, b"").map_err(|x| x.to_string())?;
        eprintln!("store: generated in {generate_s:.1} s, {:.1} MB", dir_mb(&dir));
    }
    let generate_peak = peak_rss_mb();
    let rss_reset = reset_peak_rss();

    // The staff member with the most visits today, as the app would show at start-up.
    let staff = synth::build_staff(&spec);
    let today = spec.today;

    // --- cold open: open the store and read today's roster from the projection.
    let mut opens = Vec::new();
    let mut roster_len = 0;
    let mut busiest = staff[0].id;
    {
        let s = Store::open(&dir, &FileFallback).map_err(e)?;
        for st in &staff {
            let n = s.todays_roster(st.id, today).map_err(e)?.len();
            if n > roster_len {
                roster_len = n;
                busiest = st.id;
            }
        }
    }
    for _ in 0..7 {
        let t = Instant::now();
        let s = Store::open(&dir, &FileFallback).map_err(e)?;
        let rows = s.todays_roster(busiest, today).map_err(e)?;
        opens.push(ms(t.elapsed()));
        roster_len = rows.len();
        drop(s);
    }
    let cold_first = opens[0];
    let opens = sorted(opens);
    eprintln!("store: cold open to today's roster ({roster_len} visits): {:.2} ms median", percentile(&opens, 0.5));

    let mut store = Store::open(&dir, &FileFallback).map_err(e)?;
    let patients: Vec<PatientId> = store.patient_list().map_err(e)?.into_iter().map(|p| p.id).collect();
    let actor = Actor { staff: busiest, device: DeviceId::new() };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed ^ 0xBE7C);

    // --- chart open vs a bare Automerge::load of the same bytes.
    let sample: Vec<PatientId> =
        (0..args.chart_samples.max(1)).map(|_| patients[rng.gen_range(0..patients.len())]).collect();
    // Warm-up (page cache, allocator), not timed.
    for p in sample.iter().take(5) {
        store.clear_cache();
        store.open_chart(&actor, *p).map_err(e)?;
    }
    // Interleaved, so both sides see the same machine state: our open (SQL read of the
    // encrypted row + load + building the Chart + the audit entry), then a bare load of the
    // same bytes, then (for the breakdown) building the Chart alone.
    let mut ours = Vec::new();
    let mut raw = Vec::new();
    let mut hydrate = Vec::new();
    let mut doc_bytes = Vec::new();
    let mut notes_seen = 0;
    for p in &sample {
        store.clear_cache();
        let t = Instant::now();
        let chart = store.open_chart(&actor, *p).map_err(e)?;
        ours.push(ms(t.elapsed()));
        notes_seen += chart.notes.len();
        let bytes: Vec<u8> = store
            .raw_connection()
            .query_row("SELECT snapshot FROM documents WHERE doc_id = ?1", [chart_doc_id(*p)], |r| r.get(0))
            .map_err(|x| x.to_string())?;
        let t = Instant::now();
        let doc = automerge::AutoCommit::load(&bytes).map_err(|x| x.to_string())?;
        raw.push(ms(t.elapsed()));
        let t = Instant::now();
        houmon_docs::ChartDoc::from_automerge(doc).read().map_err(e)?;
        hydrate.push(ms(t.elapsed()));
        doc_bytes.push(bytes.len() as f64);
    }
    let (ours, raw, hydrate) = (sorted(ours), sorted(raw), sorted(hydrate));
    let chart_p50 = percentile(&ours, 0.5);
    let chart_p95 = percentile(&ours, 0.95);
    let raw_p50 = percentile(&raw, 0.5);
    eprintln!(
        "store: chart open p50 {chart_p50:.2} ms p95 {chart_p95:.2} ms; bare load p50 {raw_p50:.2} ms; building the Chart p50 {:.2} ms; {} notes/chart, {:.0} KB/doc",
        percentile(&hydrate, 0.5),
        notes_seen / sample.len(),
        doc_bytes.iter().sum::<f64>() / doc_bytes.len() as f64 / 1024.0
    );

    // --- durable note save vs a bare SQLite insert of the same bytes, same durability.
    let patient = patients[rng.gen_range(0..patients.len())];
    let visit = VisitId::new();
    store.start_visit(&actor, patient, visit, VisitKind::HomeNursing).map_err(e)?;
    // The baseline table, so each save can be followed by a bare insert of the same bytes.
    store
        .raw_connection()
        .execute_batch("CREATE TABLE IF NOT EXISTS bench_raw(id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)")
        .map_err(|x| x.to_string())?;
    let mut saves = Vec::new();
    let mut bare = Vec::new();
    let mut maintenance = Vec::new();
    let mut compactions = 0;
    let mut change_len = 0usize;
    let mut last_change = Vec::new();
    for i in 0..args.note_samples.max(1) {
        let body = SoapNote {
            subjective: format!("{i} {}", "夜間はよく眠れたとのこと。".repeat(13)),
            objective: "両下腿に軽度の浮腫を認める。".repeat(12),
            assessment: "心不全は安定している。".repeat(15),
            plan: "現行の処方を継続する。".repeat(15),
        };
        let doc_id = chart_doc_id(patient);
        let before = store.doc_heads(&doc_id).map_err(e)?;
        // A bare insert of the previous save's bytes (same size) before every other save, and of
        // this save's bytes after the others: both sides see the same disk and machine state,
        // and neither always runs right after the other's fsync.
        let mut bare_insert = |bytes: &[u8], store: &mut Store| -> Result<(), String> {
            let t = Instant::now();
            store
                .raw_connection()
                .execute("INSERT INTO bench_raw(bytes) VALUES (?1)", [bytes])
                .map_err(|x| x.to_string())?;
            bare.push(ms(t.elapsed()));
            Ok(())
        };
        if i % 2 == 1 {
            bare_insert(&last_change, &mut store)?;
        }
        let t = Instant::now();
        store.save_note(&actor, patient, visit, None, &body).map_err(e)?;
        saves.push(ms(t.elapsed()));
        // Exactly the change this save appended (untimed).
        last_change = store.changes_since(&doc_id, &before).map_err(e)?;
        change_len += last_change.len();
        if i % 2 == 0 {
            bare_insert(&last_change, &mut store)?;
        }
        // The nurse pauses between saves; the app runs the deferred upkeep (compaction, WAL
        // checkpoint) then. Timed separately: it is not part of an acknowledged save.
        let t = Instant::now();
        compactions += store.idle_maintenance().map_err(e)?.compacted;
        maintenance.push(ms(t.elapsed()));
    }
    let conn = store.raw_connection();
    conn.execute_batch("DROP TABLE bench_raw").map_err(|x| x.to_string())?;
    let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).map_err(|x| x.to_string())?;
    let slowest: Vec<String> = {
        let mut idx: Vec<usize> = (0..saves.len()).collect();
        idx.sort_by(|a, b| saves[*b].total_cmp(&saves[*a]));
        idx.iter().take(12).map(|i| format!("#{i} {:.1}", saves[*i])).collect()
    };
    eprintln!("store: slowest saves (index, ms): {}", slowest.join(", "));
    let (saves, bare, maintenance) = (sorted(saves), sorted(bare), sorted(maintenance));
    // The disk's own floor: append 4 KiB to a file and fdatasync it, as often.
    let mut floor = Vec::new();
    {
        use std::io::Write;
        let path = dir.join("bench-fsync-floor");
        let mut f = std::fs::File::create(&path).map_err(|x| x.to_string())?;
        let page = [0u8; 4096];
        for _ in 0..args.note_samples.max(1) {
            let t = Instant::now();
            f.write_all(&page).map_err(|x| x.to_string())?;
            f.sync_data().map_err(|x| x.to_string())?;
            floor.push(ms(t.elapsed()));
        }
        drop(f);
        let _ = std::fs::remove_file(&path);
    }
    let floor = sorted(floor);
    let save_p50 = percentile(&saves, 0.5);
    let save_p95 = percentile(&saves, 0.95);
    let bare_p50 = percentile(&bare, 0.5);
    eprintln!(
        "store: note save p50 {save_p50:.2} ms p95 {save_p95:.2} ms; bare insert p50 {bare_p50:.2} p95 {:.2} ms (synchronous={sync}, {:.0} B/change); fsync floor p50 {:.2} p95 {:.2} ms; idle maintenance max {:.2} ms ({compactions} compactions)",
        percentile(&bare, 0.95),
        change_len as f64 / saves.len().max(1) as f64,
        percentile(&floor, 0.5),
        percentile(&floor, 0.95),
        percentile(&maintenance, 1.0),
    );
    let peak = peak_rss_mb();
    drop(store);
    let store_mb = dir_mb(&dir);

    let figures = serde_json::json!({
        "bench": "store",
        "seed": spec.seed,
        "patients": spec.patients,
        "visits_per_patient": spec.visits_per_patient,
        "note_bytes": spec.note_bytes,
        "staff": spec.staff,
        "visits_per_month": spec.visits_per_month,
        "generate_s": round2(generate_s),
        "cold_open_ms": round2(percentile(&opens, 0.5)),
        "cold_open_first_ms": round2(cold_first),
        "todays_roster_visits": roster_len,
        "chart_open_p50_ms": round2(chart_p50),
        "chart_open_p95_ms": round2(chart_p95),
        "raw_load_p50_ms": round2(raw_p50),
        "raw_load_p95_ms": round2(percentile(&raw, 0.95)),
        "chart_open_vs_raw_load": round2(chart_p50 / raw_p50.max(1e-9)),
        "chart_build_p50_ms": round2(percentile(&hydrate, 0.5)),
        "note_save_p50_ms": round2(save_p50),
        "note_save_p95_ms": round2(save_p95),
        "raw_insert_p50_ms": round2(bare_p50),
        "raw_insert_p95_ms": round2(percentile(&bare, 0.95)),
        "note_save_vs_raw_sqlite": round2(save_p50 / bare_p50.max(1e-9)),
        "note_save_p95_vs_raw_insert_p95": round2(save_p95 / percentile(&bare, 0.95).max(1e-9)),
        "fsync_floor_p50_ms": round2(percentile(&floor, 0.5)),
        "fsync_floor_p95_ms": round2(percentile(&floor, 0.95)),
        "idle_maintenance_p95_ms": round2(percentile(&maintenance, 0.95)),
        "idle_maintenance_max_ms": round2(percentile(&maintenance, 1.0)),
        "idle_compactions": compactions,
        "peak_rss_mb": round2(peak),
        "peak_rss_scope": if rss_reset { "after generation" } else { "whole process" },
        "generate_peak_rss_mb": round2(generate_peak),
        "store_mb": round2(store_mb),
    });
    println!("{figures}");
    Ok(())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A temporary directory removed on drop (no extra dependency).
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Result<TempDir, String> {
    tempdir_for("store")
}

/// A fresh `houmon-bench-‹bench›-‹pid›` directory in the system temp dir.
pub fn tempdir_for(bench: &str) -> Result<TempDir, String> {
    let d = std::env::temp_dir().join(format!("houmon-bench-{bench}-{}", std::process::id()));
    std::fs::create_dir_all(&d).map_err(|x| x.to_string())?;
    Ok(TempDir(d))
}
