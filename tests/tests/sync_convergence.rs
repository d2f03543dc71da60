//! Three devices and the real relay binary on loopback: offline and online edits to the
//! same and different charts converge to identical heads; the relay's database holds no
//! plaintext; a revoked device and a cross-tenant probe are refused.

use houmon_model::*;
use houmon_store::chart_doc_id;
use houmon_sync::SyncClient;
use houmon_sync_proto::{DocId, ErrorCode, PATH_PULL, PullRequest, PullResponse, Role};
use houmon_tests::bench_sync::*;

const CANARY_NAME: &str = "カナリア 太郎";
const CANARY_NOTE: &str = "CANARY-7f3a-訪問メモ";

struct Clinic {
    _tmp: tempfile::TempDir,
    relay: RelayProc,
    office: SyncDevice,
    a: SyncDevice,
    b: SyncDevice,
    patients: Vec<PatientId>,
}

fn clinic() -> Clinic {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let code = create_clinic(&db, "テスト診療所").expect("clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let mut office = SyncDevice::enroll(&tmp.path().join("office"), relay.http(), &code, "事務所PC").expect("office");
    assert_eq!(office.sync.role(), Role::Admin);
    office.store.init_clinic(&office.actor, ClinicId::new(), "テスト診療所", "1312345678").expect("init");
    let mut patients = Vec::new();
    for i in 0..4 {
        let mut d = demographics(i);
        if i == 0 {
            d.name = CANARY_NAME.into();
        }
        patients.push(office.store.register_patient(&office.actor, &d).expect("patient"));
    }
    office.sync().expect("office sync");
    let ca = office.sync.create_enrollment_code(Role::Member, 3600).expect("code a");
    let cb = office.sync.create_enrollment_code(Role::Member, 3600).expect("code b");
    let mut a = SyncDevice::enroll(&tmp.path().join("a"), relay.http(), &ca, "タブレットA").expect("a");
    let mut b = SyncDevice::enroll(&tmp.path().join("b"), relay.http(), &cb, "タブレットB").expect("b");
    // The content key reached the new devices wrapped under the code.
    assert_eq!(a.sync.content_key().as_bytes(), office.sync.content_key().as_bytes());
    a.sync().expect("a sync");
    b.sync().expect("b sync");
    Clinic { _tmp: tmp, relay, office, a, b, patients }
}

fn visit_with_note(d: &mut SyncDevice, p: PatientId, text: &str) {
    let v = VisitId::new();
    d.store.start_visit(&d.actor, p, v, VisitKind::HomeNursing).expect("visit");
    let note = SoapNote { subjective: text.into(), ..Default::default() };
    d.store.save_note(&d.actor, p, v, None, &note).expect("note");
}

fn converge(devs: &mut [&mut SyncDevice]) {
    for _round in 0..2 {
        for d in devs.iter_mut() {
            let r = d.sync().expect("sync");
            assert!(r.withheld.is_empty() && r.rejected == 0, "{r:?}");
        }
    }
}

#[test]
fn offline_edits_on_three_devices_converge_to_identical_heads() {
    let Clinic { relay, mut office, mut a, mut b, patients, _tmp: _t } = clinic();
    let base = office.heads();
    assert_eq!(a.heads(), base, "new devices received every document");
    assert_eq!(b.heads(), base);

    // Offline: A and B both write to patient 0 (same chart), and to their own patients.
    visit_with_note(&mut a, patients[0], &format!("Aの記録 {CANARY_NOTE}"));
    visit_with_note(&mut b, patients[0], "Bの記録");
    visit_with_note(&mut a, patients[1], "A only");
    visit_with_note(&mut b, patients[2], "B only");
    let d = Demographics { address: "東京都新宿区1-1".into(), ..demographics(3) };
    office.store.set_demographics(&office.actor, patients[3], &d).expect("demo");
    // Nothing has gone out yet; the queue holds it.
    assert!(a.heads() != b.heads());

    converge(&mut [&mut a, &mut b, &mut office]);
    let h = office.heads();
    assert_eq!(a.heads(), h);
    assert_eq!(b.heads(), h);
    // Both concurrent visits on the same chart survive on every device.
    let chart = b.store.open_chart(&b.actor, patients[0]).expect("chart");
    assert_eq!(chart.visits.len(), 2, "{:?}", chart.visits.len());
    let chart = office.store.open_chart(&office.actor, patients[2]).expect("chart");
    assert_eq!(chart.visits.len(), 1);

    // Online: a second round of edits while everyone syncs between them.
    for i in 0..3 {
        visit_with_note(&mut a, patients[i % 4], &format!("online A {i}"));
        a.sync().expect("a");
        visit_with_note(&mut b, patients[(i + 1) % 4], &format!("online B {i}"));
        b.sync().expect("b");
    }
    converge(&mut [&mut a, &mut b, &mut office]);
    let h = office.heads();
    assert_eq!(a.heads(), h);
    assert_eq!(b.heads(), h);

    // Canary: the relay's database (with WAL) holds no plaintext of names, notes or ids.
    let bytes = relay_db_bytes(&relay.db);
    assert!(bytes.len() > 10_000, "the relay stored the entries ({} bytes)", bytes.len());
    for needle in [CANARY_NAME.as_bytes(), CANARY_NOTE.as_bytes(), "CANARY".as_bytes(), "カナリア".as_bytes()] {
        assert_eq!(
            count(&bytes, needle),
            0,
            "plaintext {:?} found in the relay database",
            String::from_utf8_lossy(needle)
        );
    }
    let chart_id = chart_doc_id(patients[0]);
    assert_eq!(count(&bytes, chart_id.as_bytes()), 0, "real document ids never reach the relay");
    assert_eq!(count(&bytes, patients[0].to_string().as_bytes()), 0);
}

#[test]
fn queue_survives_a_restart_and_partial_replication_fetches_only_the_roster_charts() {
    let Clinic { relay, mut office, a, mut b, patients, _tmp } = clinic();
    // A writes offline, then the app restarts before it could sync.
    let dir = a.dir.clone();
    let actor = a.actor;
    let mut a = a;
    visit_with_note(&mut a, patients[1], "再起動前の記録");
    a.sync.enqueue_local_changes(&mut a.store).expect("queue");
    assert_eq!(SyncClient::pending(&mut a.store).expect("pending"), 1);
    drop(a);
    let mut a = SyncDevice::reopen(&dir, Some(relay.http()), actor).expect("reopen");
    assert_eq!(SyncClient::pending(&mut a.store).expect("pending"), 1);
    let r = a.sync().expect("sync");
    assert_eq!(r.uploaded, 2, "the chart, and A's access history (the visit and note) with it");
    assert_eq!(SyncClient::pending(&mut a.store).expect("pending"), 0);

    // A new tablet subscribed to two patients gets only those charts and the clinic doc.
    let code = office.sync.create_enrollment_code(Role::Member, 3600).expect("code");
    let mut c = SyncDevice::enroll(&_tmp.path().join("c"), relay.http(), &code, "C").expect("c");
    let sub = SyncClient::subscription_for(&[], &patients[..2]);
    c.sync.set_subscription(&mut c.store, Some(&sub)).expect("sub");
    let r = c.sync().expect("sync");
    // Besides its own access history, nothing but the subscription (no other device's history).
    let own = houmon_store::audit_doc_id(&c.sync.device().to_hex());
    let mut have: Vec<String> = c.heads().into_iter().map(|(id, _)| id).filter(|id| *id != own).collect();
    have.sort();
    let mut want = sub.clone();
    want.sort();
    assert_eq!(have, want, "{r:?}");
    let chart = c.store.open_chart(&c.actor, patients[1]).expect("chart");
    assert_eq!(chart.visits.len(), 1, "A's restarted upload arrived");
    // And B, subscribed to everything, converges with the office.
    converge(&mut [&mut b, &mut office]);
    assert_eq!(b.heads(), office.heads());
}

#[test]
fn a_revoked_device_is_refused_and_told_so_in_japanese() {
    let Clinic { relay: _relay, _tmp: _t, mut office, mut a, patients, .. } = clinic();
    office.sync.revoke(a.sync.device()).expect("revoke");
    visit_with_note(&mut a, patients[0], "revoked device write");
    let e = a.sync.sync_once(&mut a.store).expect_err("refused");
    let (ja, _) = e.user_message();
    assert!(ja.contains("利用停止"), "{ja}");
    assert!(!e.retryable());
    // Its local write is still queued on the device (never silently dropped).
    assert_eq!(SyncClient::pending(&mut a.store).expect("pending"), 1);
    // The office's view did not receive it.
    office.sync().expect("office");
    let chart = office.store.open_chart(&office.actor, patients[0]).expect("chart");
    assert!(chart.visits.is_empty());
}

#[test]
fn a_device_of_another_clinic_learns_nothing() {
    let Clinic { relay, _tmp, mut office, patients, a: _a, b: _b } = clinic();
    let code = create_clinic(&relay.db, "別の診療所").expect("clinic b");
    let mut other = SyncDevice::enroll(&_tmp.path().join("other"), relay.http(), &code, "other").expect("other");
    // Even with clinic A's content key it could not name A's documents at the relay; here it
    // probes with the opaque id A uses for patient 0.
    let opaque = office.sync.content_key().opaque_doc_id(&chart_doc_id(patients[0]));
    let probe = RawDevice::enroll(relay.http(), &create_clinic(&relay.db, "probe").expect("c")).expect("probe");
    let known: PullResponse = probe
        .http
        .post(
            &probe,
            PATH_PULL,
            &PullRequest { after: 0, docs: Some(vec![opaque]), max_bytes: 1 << 20, with_snapshots: true },
        )
        .expect("pull");
    let unknown: PullResponse = probe
        .http
        .post(
            &probe,
            PATH_PULL,
            &PullRequest { after: 0, docs: Some(vec![DocId([9; 16])]), max_bytes: 1 << 20, with_snapshots: true },
        )
        .expect("pull");
    assert_eq!(known, unknown);
    assert!(known.entries.is_empty() && known.snapshots.is_empty() && known.cursor == 0);
    // A full sync of the other clinic's device brings nothing of clinic A.
    let r = other.sync().expect("sync");
    assert_eq!(r.received, 0);
    assert!(other.heads().is_empty());
    // Revoking A's device from the other clinic is "not found", like a made-up id.
    let e = other.sync.revoke(office.sync.device()).expect_err("refused");
    assert!(matches!(e, houmon_sync::SyncError::Relay(ref h) if h.code() == Some(ErrorCode::NotFound)), "{e:?}");
    office.sync().expect("office still fine");
}
