//! The app's card use cases through the real PC/SC stack: the training card served by vpcd to
//! pcscd is found by the service like a USB reader's card (no in-process shortcut). Needs
//! pcscd with vsmartcard-vpcd (`scripts/test-all.sh` starts it); otherwise skipped with why.

use houmon_nfc::VirtualCard;
use houmon_nfc::virtual_card::VirtualCardOptions;
use houmon_nfc::vpcd::VpcdOptions;
use houmon_tablet::dto::{
    AppErrorCode, CardErrorCode, CardStep, CheckOutcome, ConsentChoices, FaceAuthenticity, FirstVisitInput,
    IdentityMode, PrescriptionForm, UiErrorCode, VisitRow,
};
use houmon_tablet::service::{CardSource, Service, ServiceOptions};
use houmon_tests::card_env::{PlacedCard, VPCD_READER};

fn row_of(rows: &[VisitRow], id: &str) -> VisitRow {
    let h = houmon_nfc::synthetic_holders().into_iter().find(|h| h.id == id).unwrap();
    let name = format!("{} {}", h.family_name, h.given_name);
    rows.iter().find(|r| r.patient_name == name).unwrap().clone()
}

/// A 目視 first visit for `row` with every consent given.
fn visual_check(row: &VisitRow) -> FirstVisitInput {
    FirstVisitInput {
        patient_id: row.patient_id.clone(),
        visit_id: row.visit_id.clone(),
        consent: ConsentChoices {
            medication: true,
            clinical: true,
            checkup: true,
            surgery: true,
            prescription: PrescriptionForm::Electronic,
        },
        mode: IdentityMode::Visual,
        pin: None,
        confirm_last_try: false,
    }
}

#[test]
fn first_visit_pin_and_visual_photo_through_pcscd() {
    let Some(mut placed) = PlacedCard::place(VirtualCard::new("vc-01").unwrap(), VpcdOptions::default()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let opts = ServiceOptions { data_dir: dir.path().into(), card: CardSource::PcscOnly, ..Default::default() };
    let mut s = Service::open(&opts).unwrap();
    let row = row_of(&s.todays_visits().unwrap(), "vc-01");

    let mut steps = Vec::new();
    let check = s.card_check(&mut |p| steps.push(p.step)).unwrap();
    assert_eq!(check.reader, VPCD_READER, "read on the PC/SC reader, not in-process");
    assert_eq!(check.tries_left, Some(3));
    assert_eq!(steps.last(), Some(&CardStep::Done));

    // 目視: the chip photo behind 照合番号B, then the visual confirmation.
    let holder = houmon_nfc::synthetic_holders().into_iter().find(|h| h.id == "vc-01").unwrap();
    let face = s.card_face(&row.patient_id, holder.verification_code_b()).unwrap();
    assert!(face.png_data_url.starts_with("data:image/png;base64,") && face.width > 0);
    assert_eq!(face.authenticity, FaceAuthenticity::Verified);
    let input = visual_check(&row);
    let r = s.confirm_with_card(input.clone(), &mut |_| {}).unwrap();
    assert_eq!(r.outcome, CheckOutcome::Valid, "{}", r.ja);

    // PIN mode on the same reader: a wrong PIN costs a try the card itself counts.
    let pin = |p: &str| FirstVisitInput { mode: IdentityMode::Pin, pin: Some(p.into()), ..input.clone() };
    let e = s.confirm_with_card(pin("9999"), &mut |_| {}).unwrap_err();
    assert_eq!((e.code, e.tries_left), (UiErrorCode::Card(CardErrorCode::WrongPin), Some(2)));
    assert_eq!(s.card_check(&mut |_| {}).unwrap().tries_left, Some(2), "a new PC/SC session sees the same counter");
    let r = s.confirm_with_card(pin("1234"), &mut |_| {}).unwrap();
    assert_eq!(r.outcome, CheckOutcome::Valid, "{}", r.ja);

    // The card leaves the reader: a Japanese message that says what to do.
    let _card = placed.take_out();
    let e = s.card_check(&mut |_| {}).unwrap_err();
    assert_eq!(e.code, CardErrorCode::NoCard);
    assert!(e.ja.contains("置いてください"), "{}", e.ja);
}

/// The 2024 forged-card pattern: a dummy chip that replays a real certificate but cannot sign
/// the face data. Its photo is shown as not matching, and 目視 on it is refused even where the
/// clinic allows unverified photos; the genuine card on the same reader is the control.
#[test]
fn a_dummy_chip_cannot_pass_the_visual_check() {
    let dummy =
        VirtualCard::with_options("vc-03", VirtualCardOptions { unsigned_face: true, ..Default::default() }).unwrap();
    let Some(mut placed) = PlacedCard::place(dummy, VpcdOptions::default()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(policies.join("managed")).unwrap();
    std::fs::write(policies.join("managed/houmon.json"), r#"{"visualCheckUnverifiedPhoto": true}"#).unwrap();
    let opts = ServiceOptions {
        data_dir: dir.path().join("app"),
        card: CardSource::PcscOnly,
        policy_dir: Some(policies),
        ..Default::default()
    };
    let mut s = Service::open(&opts).unwrap();
    let row = row_of(&s.todays_visits().unwrap(), "vc-03");
    let holder = houmon_nfc::synthetic_holders().into_iter().find(|h| h.id == "vc-03").unwrap();
    let input = visual_check(&row);
    let face = s.card_face(&row.patient_id, holder.verification_code_b()).unwrap();
    assert_eq!(face.authenticity, FaceAuthenticity::SignatureInvalid);
    assert!(!face.visual_allowed);
    let e = s.confirm_with_card(input.clone(), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, AppErrorCode::FaceSignatureInvalid);
    assert!(e.ja.contains("偽造"), "{}", e.ja);
    // Control: the genuine card on the same reader passes.
    placed.take_out();
    placed.put_back(VirtualCard::new("vc-03").unwrap(), VpcdOptions::default());
    let face = s.card_face(&row.patient_id, holder.verification_code_b()).unwrap();
    assert_eq!(face.authenticity, FaceAuthenticity::Verified);
    let r = s.confirm_with_card(input, &mut |_| {}).unwrap();
    assert_eq!(r.outcome, CheckOutcome::Valid, "{}", r.ja);
}
