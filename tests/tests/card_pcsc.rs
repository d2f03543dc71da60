//! The card layer through the real PC/SC stack: virtual card → vpcd → pcscd → `pcsc` crate,
//! the same path a USB NFC reader's card takes. Needs pcscd with vsmartcard-vpcd
//! (`scripts/test-all.sh` starts it); without it each test prints why it is skipped.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use houmon_nfc::ap::TEXT_AID;
use houmon_nfc::apdu::commands;
use houmon_nfc::firewall::Ap;
use houmon_nfc::virtual_card::VirtualCardOptions;
use houmon_nfc::vpcd::VpcdOptions;
use houmon_nfc::{AuthPin, CardError, TEST_CA_CERT, VirtualCard, jpki, synthetic_card};
use houmon_tests::card_env::{PlacedCard, VPCD_READER};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn place(id: &str) -> Option<PlacedCard> {
    PlacedCard::place(VirtualCard::new(id).unwrap(), VpcdOptions::default())
}

fn verify_signature(cert_der: &[u8], message: &[u8], signature: &[u8]) {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &cert.public_key().subject_public_key.data)
        .verify(message, signature)
        .expect("the card's signature verifies against its certificate");
}

#[test]
fn certificate_and_ca_certificate_read_through_pcscd() {
    let Some(placed) = place("vc-01") else { return };
    let mut card = placed.connect().unwrap();
    assert_eq!(card.transport().atr(), houmon_nfc::virtual_card::ATR);
    let cert = card.read_auth_certificate().unwrap();
    assert_eq!(cert, synthetic_card("vc-01").unwrap().1.certificate);
    assert_eq!(card.apdu_count(), 9, "SELECT AP + SELECT EF + 7 READ BINARY for 1,590 bytes");
    assert_eq!(card.read_auth_ca_certificate().unwrap(), TEST_CA_CERT);
}

#[test]
fn wrong_pin_leaves_two_tries_then_the_right_pin_signs() {
    let Some(placed) = place("vc-02") else { return };
    let mut card = placed.connect().unwrap();
    assert_eq!(card.auth_pin_tries().unwrap(), Some(3));
    assert_eq!(card.verify_auth_pin(&AuthPin::parse("1111").unwrap()), Err(CardError::WrongPin { remaining: 2 }));
    assert_eq!(card.auth_pin_tries().unwrap(), Some(2), "reading the count spends no try");
    let message = b"first-visit consent digest input";
    let digest: [u8; 32] = Sha256::digest(message).into();
    let signed = jpki::pin_mode_sign(&mut card, &AuthPin::parse("2580").unwrap(), &digest, false).unwrap();
    verify_signature(&signed.certificate, message, &signed.signature);
}

#[test]
fn three_wrong_pins_block_the_card_with_a_clear_error() {
    let Some(placed) = place("vc-03") else { return };
    let mut card = placed.connect().unwrap();
    let wrong = AuthPin::parse("0000").unwrap();
    assert_eq!(card.verify_auth_pin(&wrong), Err(CardError::WrongPin { remaining: 2 }));
    assert_eq!(card.verify_auth_pin(&wrong), Err(CardError::WrongPin { remaining: 1 }));
    let blocked = card.verify_auth_pin(&wrong).unwrap_err();
    assert_eq!(blocked, CardError::PinBlocked);
    assert!(blocked.message_ja().contains("市区町村の窓口"), "{}", blocked.message_ja());
    assert!(blocked.message_en().contains("city office"));
    // Still blocked in a new session, even for the right PIN.
    drop(card);
    let mut card = placed.connect().unwrap();
    assert_eq!(card.auth_pin_tries().unwrap(), Some(0));
    assert_eq!(card.verify_auth_pin(&AuthPin::parse("7391").unwrap()), Err(CardError::PinBlocked));
}

#[test]
fn card_removed_mid_read_is_reported_as_removed() {
    let options = VpcdOptions { remove_after_apdus: Some(4) };
    let Some(placed) = PlacedCard::place(VirtualCard::new("vc-01").unwrap(), options) else { return };
    let mut card = placed.connect().unwrap();
    let err = card.read_auth_certificate().unwrap_err();
    assert_eq!(err, CardError::CardRemoved, "{err:?}");
    assert!(err.message_ja().contains("もう一度"), "says what to do next");
}

#[test]
fn the_firewall_keeps_individual_number_requests_off_the_wire() {
    let Some(placed) = place("vc-01") else { return };
    let mut card = placed.connect().unwrap();
    assert!(matches!(card.exchange(&commands::select_ap(&TEXT_AID)), Err(CardError::Refused(_))));
    assert!(card.select_ap(Ap::Surface).unwrap());
    for fid in [0x0001, 0x0003, 0x0005, 0x0011, 0x0013] {
        assert!(matches!(card.select_ef(fid, "probe"), Err(CardError::Refused(_))), "{fid:04X}");
    }
    assert!(card.select_ap(Ap::Jpki).unwrap());
    for fid in [0x0001, 0x0002, 0x001A, 0x001B] {
        assert!(matches!(card.select_ef(fid, "probe"), Err(CardError::Refused(_))), "{fid:04X}");
    }
    drop(card);
    let virtual_card = placed.remove();
    let log = virtual_card.command_log();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2, "only the two SELECTs of allowed APs reached the card: {log:?}");
    assert!(log.iter().all(|c| c.header == [0x00, 0xA4, 0x04, 0x0C] && c.data != TEXT_AID));
}

#[test]
fn t0_get_response_chains_work_through_pcscd() {
    let card =
        VirtualCard::with_options("vc-01", VirtualCardOptions { t0_get_response: true, ..Default::default() }).unwrap();
    let Some(placed) = PlacedCard::place(card, VpcdOptions::default()) else { return };
    let mut card = placed.connect().unwrap();
    let digest = [9u8; 32];
    let signed = jpki::pin_mode_sign(&mut card, &AuthPin::parse("1234").unwrap(), &digest, false).unwrap();
    assert_eq!(signed.signature.len(), 256);
}

fn houmon_card() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|p| p.parent()).unwrap().join("houmon-card");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo).args(["build", "-p", "houmon-nfc", "--bin", "houmon-card"]).status().unwrap();
        assert!(ok.success());
    }
    path
}

fn cli(args: &[&str], stdin: Option<&str>) -> (bool, Value) {
    let mut child = Command::new(houmon_card())
        .args(args)
        .env_remove("HOUMON_PIN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object on stdout: {text}");
    (out.status.success(), serde_json::from_str(&text).unwrap())
}

#[test]
fn houmon_card_cli_through_pcscd() {
    let Some(placed) = place("vc-04") else { return };
    let (ok, readers) = cli(&["readers"], None);
    assert!(ok && readers["readers"].as_array().unwrap().iter().any(|r| r == VPCD_READER));
    let (ok, status) = cli(&["status", "--reader", VPCD_READER], None);
    assert!(ok, "{status}");
    assert_eq!(status["atr"], "3BE000FF8131FE4514");
    assert_eq!(status["jpki"], true);
    let (ok, cert) = cli(&["cert"], None);
    assert!(ok, "{cert}");
    assert_eq!(cert["serial"], "1004");
    assert_eq!(cert["apdus"], 9);
    assert!(cert["subject"].as_str().unwrap().contains("HOUMON-TEST-AUTH-vc-04"));
    assert_eq!(cert["not_after"], "2033-06-01T00:00:00+00:00");
    let (ok, tries) = cli(&["pin-tries"], None);
    assert!(ok && tries["remaining"] == 3, "{tries}");
    let issuer_key = std::env::temp_dir().join(format!("houmon-issuer-{}.der", std::process::id()));
    std::fs::write(&issuer_key, houmon_nfc::synthetic_face_issuer_spki()).unwrap();
    let message = b"cli signing test";
    let digest = hex::encode(Sha256::digest(message));
    let (ok, err) = cli(&["sign", "--digest", &digest], Some("1112\n"));
    assert!(!ok);
    assert_eq!(err["error"], "wrong_pin");
    assert!(err["message"].as_str().unwrap().contains("残り2回"));
    assert!(err["message_en"].as_str().unwrap().contains("2 tries left"));
    let (ok, signed) = cli(&["sign", "--digest", &digest], Some("1111\n"));
    assert!(ok, "{signed}");
    assert_eq!(signed["sha256"], cert["sha256"]);
    assert_eq!(signed["apdus"], 14);
    let signature = hex::decode(signed["signature"].as_str().unwrap()).unwrap();
    verify_signature(synthetic_card("vc-04").unwrap().1.certificate, message, &signature);
    let out = std::env::temp_dir().join(format!("houmon-face-{}.png", std::process::id()));
    let (ok, face) = cli(&["face", "--out", out.to_str().unwrap()], Some("02060120332468\n"));
    assert!(ok, "{face}");
    assert_eq!((face["width"].as_u64(), face["height"].as_u64()), (Some(144), Some(180)));
    assert_eq!(face["authenticity"], "no_issuer_key", "no key given: not verified");
    let face_args = ["face", "--out", out.to_str().unwrap(), "--issuer-key", issuer_key.to_str().unwrap()];
    let (ok, face) = cli(&face_args, Some("02060120332468\n"));
    assert!(ok && face["authenticity"] == "verified", "{face}");
    std::fs::remove_file(&issuer_key).unwrap();
    assert!(std::fs::read(&out).unwrap().starts_with(b"\x89PNG"));
    std::fs::remove_file(out).unwrap();
    drop(placed);
    let (ok, err) = cli(&["cert", "--reader", VPCD_READER], None);
    assert!(!ok);
    assert_eq!(err["error"], "no_card");
    assert!(err["message"].as_str().unwrap().contains("置いてください"));
}

#[test]
fn status_waits_for_a_card_to_be_placed() {
    let Some(mut placed) = place("vc-01") else { return };
    let card = placed.take_out(); // reader empty, slot still ours
    let waiting = std::thread::spawn(|| cli(&["status", "--reader", VPCD_READER, "--wait", "15"], None));
    std::thread::sleep(Duration::from_millis(500));
    placed.put_back(card, VpcdOptions::default());
    let (ok, status) = waiting.join().unwrap();
    assert!(ok, "{status}");
    assert_eq!(status["jpki"], true);
}

#[test]
fn waiting_for_removal_sees_the_card_leave_or_times_out() {
    let Some(mut placed) = place("vc-02") else { return };
    let card = placed.connect().unwrap();
    let reader = card.into_transport();
    assert_eq!(reader.wait_for_removal(Duration::from_millis(300)), Err(CardError::Timeout));
    let waiter = std::thread::spawn(move || reader.wait_for_removal(Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(200));
    let _card = placed.take_out();
    assert_eq!(waiter.join().unwrap(), Ok(()));
}
