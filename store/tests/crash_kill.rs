//! Crash safety (R1): a child process saves notes through the real store and is SIGKILLed at
//! random points, again and again. After every kill the store must open cleanly, pass SQLite's
//! and SQLCipher's integrity checks, load every document, verify its audit chain, and contain
//! every note the child acknowledged.
//!
//! 200 kills by default; `HOUMON_CRASH_KILLS=10000` for the long mode. The seed is printed and
//! can be replayed with `HOUMON_CRASH_SEED`.

use houmon_keys::FileFallback;
use houmon_model::*;
use houmon_store::Store;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STORE_GENERATION: usize = 250;

#[test]
fn every_acknowledged_save_survives_sigkill() {
    let kills: usize = std::env::var("HOUMON_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let seed: u64 = std::env::var("HOUMON_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    eprintln!("crash test: {kills} kills, HOUMON_CRASH_SEED={seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut store_dir = dir.path().join("store-0");
    let exe = env!("CARGO_BIN_EXE_houmon-crash-writer");
    // note id → (patient, token) for every acknowledged save.
    let mut acked: HashMap<NoteId, (PatientId, String)> = HashMap::new();
    let started = Instant::now();
    let mut killed_mid_stream = 0;
    let mut total_acked = 0;
    for cycle in 0..kills {
        // A fresh store every 250 kills keeps each cycle's cost flat in the long mode.
        if cycle > 0 && cycle % STORE_GENERATION == 0 {
            total_acked += acked.len();
            acked.clear();
            store_dir = dir.path().join(format!("store-{}", cycle / STORE_GENERATION));
        }
        let mut child = Command::new(exe)
            .arg(&store_dir)
            .arg(cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn crash writer");
        let stdout = child.stdout.take().unwrap();
        // Kill after a random number of acks, or (1 in 8) after a random delay, which often
        // lands during open, migration or chart loading.
        let target_acks: usize = rng.gen_range(0..12);
        let by_time = rng.gen_bool(0.125);
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        if by_time {
            std::thread::sleep(Duration::from_micros(rng.gen_range(0..40_000)));
        } else {
            let deadline = Instant::now() + Duration::from_secs(10);
            while lines.len() < target_acks && Instant::now() < deadline {
                if let Ok(l) = rx.recv_timeout(Duration::from_millis(50)) {
                    lines.push(l);
                }
            }
            // Land somewhere inside the next save: its transaction, fsync or compaction.
            std::thread::sleep(Duration::from_micros(rng.gen_range(0..3_000)));
        }
        let _ = child.kill(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        if status.code().is_some() {
            let mut err = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("writer exited by itself in cycle {cycle} (seed {seed}): {status:?} {err}");
        }
        if !lines.is_empty() {
            killed_mid_stream += 1;
        }
        for line in lines {
            let parts: Vec<&str> = line.split(' ').collect();
            if parts.len() == 4 && parts[0] == "ACK" {
                let p = PatientId::parse(parts[1]).unwrap();
                let n = NoteId::parse(parts[2]).unwrap();
                acked.insert(n, (p, parts[3].to_string()));
            }
        }
        verify(&store_dir, &acked, cycle, seed);
    }
    total_acked += acked.len();
    eprintln!(
        "crash test: {kills} kills, {total_acked} acknowledged notes, {killed_mid_stream} kills while saving, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(total_acked > kills, "the writer made progress between kills");
    assert!(killed_mid_stream > kills / 2, "most kills landed while notes were being saved");
}

fn verify(dir: &std::path::Path, acked: &HashMap<NoteId, (PatientId, String)>, cycle: usize, seed: u64) {
    let ctx = format!("cycle {cycle}, HOUMON_CRASH_SEED={seed}");
    let mut store = match Store::open(dir, &FileFallback) {
        Ok(s) => s,
        // Killed before the key file was first written: nothing was acknowledged yet.
        Err(e) if acked.is_empty() => {
            eprintln!("cycle {cycle}: store not created yet ({e:?})");
            return;
        }
        Err(e) => panic!("store does not open after kill ({ctx}): {e:?}"),
    };
    store.check_integrity().unwrap_or_else(|e| panic!("integrity ({ctx}): {e:?}"));
    let audit = store.verify_audit().unwrap();
    assert!(audit.ok(), "audit chain broken ({ctx}): {audit:?}");
    let actor = Actor { staff: StaffId::new(), device: DeviceId::new() };
    let mut by_patient: HashMap<PatientId, Vec<(&NoteId, &String)>> = HashMap::new();
    for (n, (p, t)) in acked {
        by_patient.entry(*p).or_default().push((n, t));
    }
    for (p, notes) in by_patient {
        let chart = store.open_chart(&actor, p).unwrap_or_else(|e| panic!("chart ({ctx}): {e:?}"));
        for (n, token) in notes {
            let note = chart.note(*n).unwrap_or_else(|| panic!("acknowledged note {n} lost ({ctx})"));
            assert_eq!(&note.body.assessment, token, "note body ({ctx})");
            assert!(note.intact);
        }
    }
}
