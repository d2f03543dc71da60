//! A relay that withholds an entry (a malicious or broken relay) is detected by comparing the
//! heads authors announce with what arrived; once the entry is handed over, the gap fills.

use houmon_model::*;
use houmon_store::chart_doc_id;
use houmon_sync::SyncClient;
use houmon_sync_proto::{EntryId, PullResponse, Role, decode, encode};
use houmon_tests::bench_sync::*;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

fn read_http(s: &mut impl Read) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).ok()? == 0 {
            return None;
        }
        head.push(b[0]);
    }
    let h = String::from_utf8_lossy(&head).to_lowercase();
    let len: usize =
        h.lines().find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))).unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Forwards to the relay, but removes listed entries from pull answers.
fn withholding_proxy(target: String, withhold: Arc<Mutex<HashSet<EntryId>>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = l.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let (target, withhold) = (target.clone(), withhold.clone());
            std::thread::spawn(move || {
                while let Some((head, body)) = read_http(&mut c) {
                    let is_pull = head.starts_with(b"POST /v1/pull ");
                    let Ok(mut up) = TcpStream::connect(&target) else { return };
                    if up.write_all(&head).and_then(|_| up.write_all(&body)).is_err() {
                        return;
                    }
                    let Some((rhead, mut rbody)) = read_http(&mut up) else { return };
                    let mut rhead = String::from_utf8_lossy(&rhead).into_owned();
                    if is_pull && let Some(mut r) = decode::<PullResponse>(&rbody) {
                        let w = withhold.lock().expect("lock").clone();
                        r.entries.retain(|e| !w.contains(&e.entry_id));
                        rbody = encode(&r);
                        rhead = rhead
                            .lines()
                            .map(|l| {
                                if l.to_lowercase().starts_with("content-length:") {
                                    format!("content-length: {}", rbody.len())
                                } else {
                                    l.to_string()
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("\r\n")
                            .trim_end()
                            .to_string()
                            + "\r\n\r\n";
                    }
                    if c.write_all(rhead.as_bytes()).and_then(|_| c.write_all(&rbody)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_withheld_entry_is_detected_and_the_gap_fills_when_it_arrives() {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let code = create_clinic(&db, "c").expect("clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let withhold = Arc::new(Mutex::new(HashSet::new()));
    let proxy = withholding_proxy(relay.addr.clone(), withhold.clone());
    let mut office = SyncDevice::enroll(&tmp.path().join("o"), relay.http(), &code, "o").expect("office");
    office.store.init_clinic(&office.actor, ClinicId::new(), "c", "1312345678").expect("init");
    let p = office.store.register_patient(&office.actor, &demographics(1)).expect("patient");
    office.sync().expect("sync");
    let tcode = office.sync.create_enrollment_code(Role::Member, 3600).expect("code");
    let mut tablet =
        SyncDevice::enroll(&tmp.path().join("t"), houmon_sync_proto::http::RelayHttp::new(&proxy), &tcode, "t")
            .expect("tablet");
    tablet.sync().expect("sync");

    // Two separate uploads from the office: the second depends on the first.
    let v1 = VisitId::new();
    office.store.start_visit(&office.actor, p, v1, VisitKind::HomeNursing).expect("visit");
    office.sync().expect("sync");
    let first: PullResponse = {
        // Which entry carried the first change: the newest one in the log so far.
        let probe =
            RawDevice::enroll(relay.http(), &office.sync.create_enrollment_code(Role::Member, 3600).expect("c"))
                .expect("probe");
        probe
            .http
            .post(
                &probe,
                houmon_sync_proto::PATH_PULL,
                &houmon_sync_proto::PullRequest { after: 0, docs: None, max_bytes: 1 << 20, with_snapshots: false },
            )
            .expect("pull")
    };
    let withheld_id = first.entries.last().expect("entries").entry_id;
    withhold.lock().expect("lock").insert(withheld_id);
    let v2 = VisitId::new();
    office.store.start_visit(&office.actor, p, v2, VisitKind::HomeNursing).expect("visit");
    office.sync().expect("sync");

    let r = tablet.sync().expect("sync");
    assert_eq!(r.withheld, vec![chart_doc_id(p)], "{r:?}");
    assert_ne!(tablet.heads(), office.heads());
    assert_eq!(SyncClient::suspects(&mut tablet.store).expect("s"), vec![chart_doc_id(p)]);

    // The relay hands it over at last: the next round repairs the gap although the cursor
    // had already moved past that entry.
    withhold.lock().expect("lock").clear();
    let r = tablet.sync().expect("sync");
    assert_eq!(r.gaps_repaired, vec![chart_doc_id(p)], "{r:?}");
    assert!(r.withheld.is_empty());
    assert_eq!(tablet.heads(), office.heads());
    let chart = tablet.store.open_chart(&tablet.actor, p).expect("chart");
    assert_eq!(chart.visits.len(), 2);
    assert!(SyncClient::suspects(&mut tablet.store).expect("s").is_empty());
}
