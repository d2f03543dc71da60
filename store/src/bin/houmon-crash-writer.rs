//! `houmon-crash-writer`: the crash-test child. It saves notes as fast as it can through the
//! real store and prints `ACK <patient> <note> <token>` after each save returns (i.e. is
//! durable). The crash test SIGKILLs it at random and checks that every acknowledged note
//! survived.
//!
//! Must never: print anything but ids and synthetic tokens, or print `ACK` before the save
//! returned.
//!
//! Usage: houmon-crash-writer <store-dir> <cycle>

use houmon_keys::FileFallback;
use houmon_model::*;
use houmon_store::{Store, StoreOptions};
use std::io::Write;

fn main() {
    if let Err(e) = run() {
        eprintln!("houmon-crash-writer: {} ({})", e, e.english());
        std::process::exit(1);
    }
}

fn run() -> houmon_model::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let cycle: u64 = args.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    // Small compaction and checkpoint thresholds so kills also land inside the idle
    // maintenance (compactions, checkpoints) and the inline backstop compaction.
    let opts = StoreOptions {
        compaction_min_bytes: 8 * 1024,
        cached_docs: 4,
        compaction_hard_factor: 3,
        wal_checkpoint_pages: 64,
        ..StoreOptions::default()
    };
    let mut store = Store::open_with(&dir, &FileFallback, opts)?;
    let actor = Actor { staff: StaffId::new(), device: DeviceId::new() };
    let mut patients = store.patient_list()?;
    while patients.len() < 3 {
        let name = format!("合成患者{}", patients.len());
        let p = store.register_patient(&actor, &Demographics { name, ..Default::default() })?;
        store.start_visit(&actor, p, VisitId::new(), VisitKind::HomeNursing)?;
        patients = store.patient_list()?;
    }
    let mut visits = Vec::new();
    for p in &patients {
        let chart = store.open_chart(&actor, p.id)?;
        match chart.visits.first() {
            Some(v) => visits.push((p.id, v.id)),
            None => {
                let v = VisitId::new();
                store.start_visit(&actor, p.id, v, VisitKind::HomeNursing)?;
                visits.push((p.id, v));
            }
        }
    }
    let out = std::io::stdout();
    for i in 0u64.. {
        let (p, v) = visits[(i % visits.len() as u64) as usize];
        let token = format!("c{cycle}-n{i}");
        let body = SoapNote {
            subjective: format!("{token} {}", "経過良好。".repeat(40)),
            objective: "SpO2 97%".into(),
            assessment: token.clone(),
            plan: "継続".into(),
        };
        let note = store.save_note(&actor, p, v, None, &body)?;
        if i % 3 == 0 {
            store.sign_note(&actor, p, note)?;
        }
        {
            let mut o = out.lock();
            // The ack is printed only after the save returned: it is durable now.
            let _ = writeln!(o, "ACK {p} {note} {token}");
            let _ = o.flush();
        }
        // The app runs the maintenance when the user pauses; here every few saves (and not
        // always, so the inline backstop compaction is exercised too).
        if i % 5 == 4 && (i / 50) % 2 == 0 {
            store.idle_maintenance()?;
        }
    }
    Ok(())
}
