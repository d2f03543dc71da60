//! The 資格確認端末 file bridge against the terminal emulator, with real files in a temporary
//! folder: 再照会, slow answers, `.err`, half-written files, duplicates, Shift_JIS, bulk pull.

mod common;
use common::*;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use houmon_onshi::bridge::*;
use houmon_onshi::clock::ManualClock;
use houmon_onshi::codes::*;
use houmon_onshi::consent::VisitKind;
use houmon_onshi::consent::jst;
use houmon_onshi::outcome::{QualificationOutcome, interpret};
use houmon_onshi::sim::*;
use houmon_onshi::source::{QualificationSource, SourceError};
use houmon_onshi::types::*;
use houmon_onshi::xml::{self, WriteOptions, XmlEncoding};
use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

struct Rig {
    _dir: tempfile::TempDir,
    folder: TerminalFolder,
    clock: Arc<ManualClock>,
    sim: Arc<Simulator>,
    bridge: Bridge,
}

fn rig(config: SimConfig) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let folder = TerminalFolder::new(dir.path().join("OQS"));
    let (clock, sim) = setup(config);
    let sim = Arc::new(sim);
    // The first visit happened through the simulator (the tablet's path).
    assert!(sim.first_visit(&pin_request("vc-01", 1, start())).consent_id.is_some());
    clock.set(jst().with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap().with_timezone(&Utc));
    let bridge = Bridge::new(
        folder.clone(),
        clock.clone(),
        BridgeOptions { settle_polls: 3, settle_time: StdDuration::ZERO, ..Default::default() },
    );
    Rig { _dir: dir, folder, clock, sim, bridge }
}

fn emulator(r: &Rig, options: EmulatorOptions) -> TerminalEmulator {
    TerminalEmulator::new(r.folder.clone(), r.sim.clone(), options).unwrap()
}

fn vc01_search(r: &Rig) -> QualificationConfirmSearchInfo {
    let p = r.sim.registry().person("vc-01").unwrap();
    Registry::search_info_for(p.qualifications.last().unwrap())
}

fn files(dir: std::path::PathBuf) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn reinquiry_through_real_files() {
    let r = rig(SimConfig::default());
    let mut term = emulator(&r, EmulatorOptions::default());
    let req = r.bridge.single_check_request(&clinic(), &vc01_search(&r), Some("HM-42"));
    let h = r.bridge.submit(RequestKind::SingleCheck, &req).unwrap();
    assert_eq!(h.request_file(), "OQSsiquc01req_202612030001.xml");
    assert_eq!(files(r.folder.req()), vec![h.request_file()]);
    // The request on disk is the terminal's XML shape.
    let on_disk = xml::parse(&fs::read(r.folder.req().join(h.request_file())).unwrap()).unwrap();
    assert_eq!(
        on_disk.message_body.qualification_confirm_search_info.unwrap().medical_treatment_flag,
        Some(MedicalTreatmentFlag::HomeVisit)
    );
    assert_eq!(r.bridge.poll(&h).unwrap(), Poll::Pending);

    let rep = term.step().unwrap();
    assert_eq!(rep.answered, vec![h.request_file()]);
    assert!(files(r.folder.req()).is_empty(), "the terminal consumes the request");
    let Poll::Ready(m) = r.bridge.poll(&h).unwrap() else { panic!("no result") };
    assert_eq!(m.message_header.arbitrary_file_identifier.as_deref(), Some("HM-42"));
    assert_eq!(m.message_body.qualification_validity, Some(QualificationValidity::Valid));
    assert_eq!(m.message_body.result_list[0].name.as_deref(), Some("佐藤　ハナ"));
    r.bridge.acknowledge(&h).unwrap();
    assert!(files(r.folder.res()).is_empty());
    // The next request gets a new name even though the old files are gone.
    let h2 = r.bridge.submit(RequestKind::SingleCheck, &req).unwrap();
    assert_eq!(h2.suffix, "202612030002");
}

#[test]
fn slow_terminal_and_half_written_results() {
    let r = rig(SimConfig::default());
    let mut term = emulator(&r, EmulatorOptions { answer_after_steps: 2, split_writes: true, ..Default::default() });
    let h = r
        .bridge
        .submit(RequestKind::SingleCheck, &r.bridge.single_check_request(&clinic(), &vc01_search(&r), None))
        .unwrap();
    for _ in 0..2 {
        assert_eq!(term.step().unwrap().waiting, 1);
        assert_eq!(r.bridge.poll(&h).unwrap(), Poll::Pending);
    }
    // Third step writes the first half of the result only.
    let rep = term.step().unwrap();
    assert!(rep.answered.is_empty());
    let partial = fs::read(r.folder.res().join(h.result_file())).unwrap();
    assert!(xml::parse(&partial).is_err(), "the file really is half-written");
    // The bridge keeps waiting however often it polls (below the settle limit).
    for _ in 0..2 {
        assert_eq!(r.bridge.poll(&h).unwrap(), Poll::Pending);
    }
    assert_eq!(term.step().unwrap().answered, vec![h.request_file()]);
    assert!(
        matches!(r.bridge.poll(&h).unwrap(), Poll::Ready(m) if m.message_body.qualification_validity == Some(QualificationValidity::Valid))
    );
}

#[test]
fn a_result_that_stays_broken_is_reported() {
    let r = rig(SimConfig::default());
    let h = r
        .bridge
        .submit(RequestKind::SingleCheck, &r.bridge.single_check_request(&clinic(), &vc01_search(&r), None))
        .unwrap();
    fs::write(r.folder.res().join(h.result_file()), b"<XmlMsg><MessageHeader>").unwrap();
    assert_eq!(r.bridge.poll(&h).unwrap(), Poll::Pending);
    assert_eq!(r.bridge.poll(&h).unwrap(), Poll::Pending);
    let e = r.bridge.poll(&h).unwrap_err();
    assert!(matches!(e, BridgeError::Malformed { .. }), "{e}");
    assert!(e.message_ja().contains("再度照会"), "{}", e.message_ja());
}

#[test]
fn unreadable_requests_get_an_err_file() {
    let r = rig(SimConfig::default());
    let mut term = emulator(&r, EmulatorOptions::default());
    // Another program writes a request non-atomically: half now, the rest before the terminal
    // gives up. It is answered, not rejected.
    let good = xml::write(&r.bridge.single_check_request(&clinic(), &vc01_search(&r), None), WriteOptions::default());
    let slow = r.folder.req().join("OQSsiquc01req_EMR000000001.xml");
    fs::write(&slow, &good[..good.len() / 3]).unwrap();
    assert_eq!(term.step().unwrap().waiting, 1);
    fs::write(&slow, &good).unwrap();
    assert_eq!(term.step().unwrap().answered, vec!["OQSsiquc01req_EMR000000001.xml".to_string()]);
    // A request that stays broken is rejected with .err, which the bridge reports.
    let h = r
        .bridge
        .submit(RequestKind::SingleCheck, &r.bridge.single_check_request(&clinic(), &vc01_search(&r), None))
        .unwrap();
    fs::write(r.folder.req().join(h.request_file()), "<XmlMsg><MessageHeader><Medical").unwrap();
    assert_eq!(term.step().unwrap().waiting, 1);
    assert_eq!(term.step().unwrap().rejected, vec![h.request_file()]);
    match r.bridge.poll(&h) {
        Err(BridgeError::Rejected { detail, .. }) => assert!(detail.contains("XML"), "{detail}"),
        other => panic!("{other:?}"),
    }
    r.bridge.acknowledge(&h).unwrap();
    assert!(!r.folder.req().join(h.error_file()).exists());
    // An OQS request kind the terminal does not know.
    fs::write(r.folder.req().join("OQSzzzz01req_X1.xml"), &good).unwrap();
    assert_eq!(term.step().unwrap().rejected, vec!["OQSzzzz01req_X1.xml".to_string()]);
    assert!(r.folder.req().join("OQSzzzz01req_X1.err").exists());
}

#[test]
fn duplicates() {
    let r = rig(SimConfig::default());
    let mut term = emulator(&r, EmulatorOptions::default());
    let req = r.bridge.single_check_request(&clinic(), &vc01_search(&r), Some("DUP"));
    // The gateway retries the same request (e.g. after a crash): two names, two equal answers.
    let a = r.bridge.submit(RequestKind::SingleCheck, &req).unwrap();
    let b = r.bridge.submit(RequestKind::SingleCheck, &req).unwrap();
    assert_ne!(a.request_file(), b.request_file());
    assert_eq!(term.step().unwrap().answered.len(), 2);
    let (Poll::Ready(ma), Poll::Ready(mb)) = (r.bridge.poll(&a).unwrap(), r.bridge.poll(&b).unwrap()) else { panic!() };
    assert_eq!(ma, mb);
    // The same file name dropped again while its result is uncollected is refused.
    fs::write(r.folder.req().join(a.request_file()), xml::write(&req, WriteOptions::default())).unwrap();
    assert_eq!(term.step().unwrap().rejected, vec![a.request_file()]);
    // A stray result nobody asked for (e.g. a face-reader push) does not confuse the bridge.
    fs::write(r.folder.res().join("OQSsiquc01res_face_20261203.xml"), b"<XmlMsg/>").unwrap();
    assert!(matches!(r.bridge.poll(&b).unwrap(), Poll::Ready(_)));
}

#[test]
fn shift_jis_requests_get_shift_jis_answers() {
    let r = rig(SimConfig::default());
    let mut term = emulator(&r, EmulatorOptions::default());
    let sjis = Bridge::new(
        r.folder.clone(),
        r.clock.clone(),
        BridgeOptions {
            write: WriteOptions { encoding: XmlEncoding::ShiftJis, ..Default::default() },
            ..Default::default()
        },
    );
    let h =
        sjis.submit(RequestKind::SingleCheck, &sjis.single_check_request(&clinic(), &vc01_search(&r), None)).unwrap();
    term.step().unwrap();
    let bytes = fs::read(r.folder.res().join(h.result_file())).unwrap();
    let (m, enc) = xml::parse_with_encoding(&bytes).unwrap();
    assert_eq!(enc, XmlEncoding::ShiftJis);
    assert_eq!(m.message_header.character_code_identifier, Some(CharacterCodeIdentifier::ShiftJis));
    assert_eq!(m.message_body.result_list[0].name.as_deref(), Some("佐藤　ハナ"));
}

#[test]
fn header_failures_and_timeouts() {
    let r = rig(SimConfig::default());
    // No emulator running: the wait times out with a message that says what to check.
    let e = r
        .bridge
        .single_check(&clinic(), &vc01_search(&r), None, StdDuration::from_millis(5), StdDuration::from_millis(30))
        .unwrap_err();
    assert!(matches!(e, BridgeError::Timeout { .. }), "{e}");
    assert!(e.message_ja().contains("連携アプリケーション"));
    // A request without 医療機関コード: 異常終了 in the header.
    let mut term = emulator(&r, EmulatorOptions::default());
    let mut req = r.bridge.single_check_request(&clinic(), &vc01_search(&r), None);
    req.message_header.medical_institution_code = None;
    let h = r.bridge.submit(RequestKind::SingleCheck, &req).unwrap();
    term.step().unwrap();
    let Poll::Ready(m) = r.bridge.poll(&h).unwrap() else { panic!() };
    assert_eq!(m.message_header.segment_of_result, Some(SegmentOfResult::Failed));
    assert!(matches!(terminal_failure(&m), Err(BridgeError::Terminal { code, .. }) if code == "HSIM-E107"));
}

#[test]
fn bulk_pull_against_a_running_emulator() {
    let mut r = rig(SimConfig { bulk_pending_fetches: 2, ..SimConfig::default() });
    // Real threads: a half-written result may sit unchanged for many polls while the emulator
    // sleeps, so settle by time as in production.
    r.bridge = Bridge::new(r.folder.clone(), r.clock.clone(), BridgeOptions::default());
    // A second patient consents a few days later.
    r.clock.set(start().with_timezone(&Utc) + Duration::days(4));
    assert!(r.sim.first_visit(&pin_request("vc-02", 2, start() + Duration::days(4))).consent_id.is_some());
    let stop = Arc::new(AtomicBool::new(false));
    let mut term = emulator(&r, EmulatorOptions { answer_after_steps: 1, split_writes: true, ..Default::default() });
    let stop2 = stop.clone();
    let t = std::thread::spawn(move || term.run(StdDuration::from_millis(2), &stop2, |_| {}));
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let m = r.bridge.bulk_visit_pull(
        &clinic(),
        d(11, 1),
        d(11, 30),
        StdDuration::from_millis(2),
        StdDuration::from_secs(20),
    );
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap().unwrap();
    let m = m.unwrap();
    assert_eq!(m.message_header.segment_of_result, Some(SegmentOfResult::Completed));
    let names: Vec<_> = m
        .message_body
        .bulk_confirm_units
        .iter()
        .map(|u| u.result_of_qualification_confirmation.as_ref().unwrap().name.clone().unwrap())
        .collect();
    assert_eq!(names, vec!["佐藤　ハナ".to_string(), "鈴木　一郎".to_string()]);
    // Everything the exchange wrote was collected.
    assert!(files(r.folder.req()).is_empty());
    assert!(files(r.folder.res()).is_empty());
}

#[test]
fn simulator_and_terminal_sources_agree() {
    let r = rig(SimConfig::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut term = emulator(&r, EmulatorOptions { split_writes: true, ..Default::default() });
    let stop2 = stop.clone();
    let t = std::thread::spawn(move || term.run(StdDuration::from_millis(2), &stop2, |_| {}));
    let terminal = QualificationSource::Terminal {
        bridge: Arc::new(Bridge::new(r.folder.clone(), r.clock.clone(), BridgeOptions::default())),
        poll_interval: StdDuration::from_millis(2),
        timeout: StdDuration::from_secs(20),
    };
    let simulated = QualificationSource::Simulator(r.sim.clone());
    let req = ReinquiryRequest {
        medical_institution_code: clinic(),
        search: vc01_search(&r),
        visit_kind: VisitKind::HomeMedical,
        arbitrary_file_identifier: Some("SRC".into()),
    };
    let via_files = terminal.reinquire(&req);
    let direct = simulated.reinquire(&req).unwrap();
    // A real terminal cannot take a first visit from the app.
    let fv = terminal.first_visit(&pin_request("vc-02", 9, start()));
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap().unwrap();
    let via_files = via_files.unwrap();
    assert_eq!(via_files.message_body.result_list, direct.message_body.result_list);
    assert!(matches!(interpret(&via_files), QualificationOutcome::Valid { .. }));
    let e = fv.unwrap_err();
    assert!(matches!(e, SourceError::FirstVisitUnsupported));
    assert!(e.message_ja().contains("マイナ在宅受付Web"));
}
