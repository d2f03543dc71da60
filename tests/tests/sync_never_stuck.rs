//! A tablet's uploads never get stuck, against the real relay binary on loopback: a day of
//! notes on one chart, larger than the relay's entry limit, is split into entries below it and
//! reaches the other device; a change the relay refuses for good is set aside (counted, kept on
//! the device) and the changes queued after it still go.

use houmon_model::*;
use houmon_store::chart_doc_id;
use houmon_sync::SyncClient;
use houmon_sync_proto::Role;
use houmon_tests::bench_sync::*;
use rand::{Rng, SeedableRng};

struct Two {
    _tmp: tempfile::TempDir,
    _relay: RelayProc,
    a: SyncDevice,
    b: SyncDevice,
    patients: Vec<PatientId>,
}

/// An office that founds the clinic and registers two patients, and two tablets.
fn two_tablets(relay_args: &[&str]) -> Two {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let code = create_clinic(&db, "テスト診療所").expect("clinic");
    let relay = RelayProc::start(&db, relay_args).expect("relay");
    let mut office = SyncDevice::enroll(&tmp.path().join("office"), relay.http(), &code, "事務所PC").expect("office");
    office.store.init_clinic(&office.actor, ClinicId::new(), "テスト診療所", "1312345678").expect("init");
    let patients =
        (0..2).map(|i| office.store.register_patient(&office.actor, &demographics(i)).expect("patient")).collect();
    office.sync().expect("office sync");
    let ca = office.sync.create_enrollment_code(Role::Member, 3600).expect("code a");
    let cb = office.sync.create_enrollment_code(Role::Member, 3600).expect("code b");
    let mut a = SyncDevice::enroll(&tmp.path().join("a"), relay.http(), &ca, "タブレットA").expect("a");
    let mut b = SyncDevice::enroll(&tmp.path().join("b"), relay.http(), &cb, "タブレットB").expect("b");
    a.sync().expect("a sync");
    b.sync().expect("b sync");
    Two { _tmp: tmp, _relay: relay, a, b, patients }
}

/// A visit with a long note: four SOAP parts of `part` characters that do not compress (seeded).
fn long_note(d: &mut SyncDevice, p: PatientId, part: usize, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let alphabet: Vec<char> = ('A'..='Z').chain('a'..='z').chain('0'..='9').collect();
    let mut text = || (0..part).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect::<String>();
    let note = SoapNote { subjective: text(), objective: text(), assessment: text(), plan: text() };
    let v = VisitId::new();
    d.store.start_visit(&d.actor, p, v, VisitKind::HomeNursing).expect("visit");
    d.store.save_note(&d.actor, p, v, None, &note).expect("note");
}

fn chart_heads(d: &mut SyncDevice, p: PatientId) -> Vec<String> {
    let id = chart_doc_id(p);
    d.heads().into_iter().find(|(doc, _)| *doc == id).map(|(_, h)| h).unwrap_or_default()
}

#[test]
fn a_day_of_notes_larger_than_one_entry_is_split_and_reaches_the_other_device() {
    let Two { _tmp, _relay, mut a, mut b, patients } = two_tablets(&[]);
    // Eight visits offline on one chart: about 1.5 MB of sealed changes, over the relay's
    // 1 MiB entry limit if they went as one entry (as they did: then nothing ever left).
    for i in 0..8 {
        long_note(&mut a, patients[0], 60_000, i);
    }
    let queued = a.sync.enqueue_local_changes(&mut a.store).expect("queue");
    assert!(queued >= 2, "split into several entries, got {queued}");
    let report = a.sync().expect("the relay accepts every entry");
    assert_eq!(report.set_aside, 0, "{report:?}");
    assert_eq!(SyncClient::pending(&mut a.store).expect("pending"), 0, "the queue is empty");
    b.sync().expect("b sync");
    assert_eq!(chart_heads(&mut b, patients[0]), chart_heads(&mut a, patients[0]), "b has the whole day");
    assert!(b.sync().expect("b again").withheld.is_empty(), "no chunk looks withheld");
}

#[test]
fn a_change_refused_for_good_is_set_aside_and_does_not_block_the_queue() {
    // A relay with a small entry limit: one long note (one change) is over it.
    let Two { _tmp, _relay, mut a, mut b, patients } = two_tablets(&["--max-entry-bytes", "65536"]);
    long_note(&mut a, patients[0], 40_000, 1);
    a.sync.enqueue_local_changes(&mut a.store).expect("queue the large one first");
    long_note(&mut a, patients[1], 100, 2);
    let report = a.sync().expect("a round completes: a refused entry is not an error of the round");
    assert_eq!(report.set_aside, 1, "{report:?}");
    assert_eq!(SyncClient::set_aside(&mut a.store).expect("count"), 1, "counted for the status");
    assert_eq!(SyncClient::pending(&mut a.store).expect("pending"), 0, "nothing stuck in the queue");
    // What came after it reached the other device; the large note is still on this one.
    b.sync().expect("b sync");
    assert_eq!(chart_heads(&mut b, patients[1]), chart_heads(&mut a, patients[1]), "the later change arrived");
    assert_ne!(chart_heads(&mut b, patients[0]), chart_heads(&mut a, patients[0]), "the set-aside one did not");
    let chart = a.store.open_chart(&a.actor, patients[0]).expect("chart");
    assert!(chart.notes.iter().any(|n| n.body.subjective.len() == 40_000), "kept on the device");
    // The next round does not try it again, and still completes.
    assert_eq!(a.sync().expect("again").set_aside, 0);
}
