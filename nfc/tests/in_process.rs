//! The card layer against the in-process virtual card: the whole PIN-mode and photo flows,
//! PIN safety, removal mid-read and the firewall, with no pcscd needed.

use houmon_nfc::ap::{SURFACE_AID, TEXT_AID};
use houmon_nfc::apdu::commands;
use houmon_nfc::firewall::{Ap, CheckedApdu};
use houmon_nfc::virtual_card::VirtualCardOptions;
use houmon_nfc::{
    AuthPin, Card, CardError, FaceAuthenticity, FaceIssuers, TEST_CA_CERT, Transport, VerificationCodeB, VirtualCard,
    VirtualTransport, jpki, synthetic_face_issuers, synthetic_holders,
};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use sha2::{Digest, Sha256};

fn card(id: &str) -> Card<VirtualTransport> {
    Card::new(VirtualTransport::new(VirtualCard::new(id).unwrap()))
}

fn public_key(cert_der: &[u8]) -> Vec<u8> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).unwrap();
    cert.public_key().subject_public_key.data.to_vec()
}

#[test]
fn pin_mode_signature_verifies_against_the_card_certificate_in_14_apdus() {
    let mut card = card("vc-02");
    let message = b"consent record + nonce + time";
    let digest: [u8; 32] = Sha256::digest(message).into();
    let signed = jpki::pin_mode_sign(&mut card, &AuthPin::parse("2580").unwrap(), &digest, false).unwrap();
    assert_eq!(signed.apdus, 14, "SELECT AP, SELECT EF, 7 reads, SELECT PIN, tries, VERIFY, SELECT key, sign");
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key(&signed.certificate))
        .verify(message, &signed.signature)
        .expect("signature verifies with ring");
    // The certificate is the one the fixtures list for this holder, issued by the test CA.
    let holder = synthetic_holders().into_iter().find(|h| h.id == "vc-02").unwrap();
    assert_eq!(hex::encode(Sha256::digest(&signed.certificate)), holder.cert_sha256);
    let (_, cert) = x509_parser::parse_x509_certificate(&signed.certificate).unwrap();
    let (_, ca) = x509_parser::parse_x509_certificate(TEST_CA_CERT).unwrap();
    cert.verify_signature(Some(ca.public_key())).expect("issued by the test CA");
}

#[test]
fn the_ca_certificate_on_the_card_is_the_test_ca() {
    let mut card = card("vc-01");
    assert_eq!(card.read_auth_ca_certificate().unwrap(), TEST_CA_CERT);
}

#[test]
fn wrong_pins_count_down_then_block_and_stay_blocked() {
    let mut card = card("vc-01");
    let wrong = AuthPin::parse("0000").unwrap();
    assert_eq!(card.auth_pin_tries().unwrap(), Some(3));
    assert_eq!(card.verify_auth_pin(&wrong), Err(CardError::WrongPin { remaining: 2 }));
    assert_eq!(card.auth_pin_tries().unwrap(), Some(2), "asking does not consume a try");
    assert_eq!(card.verify_auth_pin(&wrong), Err(CardError::WrongPin { remaining: 1 }));
    // One try left: the flow refuses to send the PIN without confirmation.
    let digest = [7u8; 32];
    let right = AuthPin::parse("1234").unwrap();
    let before = card.apdu_count();
    assert_eq!(jpki::pin_mode_sign(&mut card, &right, &digest, false), Err(CardError::LastTryNeedsConfirmation));
    assert_eq!(card.auth_pin_tries().unwrap(), Some(1), "no try was spent");
    assert!(card.apdu_count() > before);
    assert_eq!(card.verify_auth_pin(&wrong), Err(CardError::PinBlocked));
    // Blocked for good: even the right PIN is refused (6984), and the flow says so.
    assert_eq!(card.verify_auth_pin(&right), Err(CardError::PinBlocked));
    assert_eq!(card.auth_pin_tries().unwrap(), Some(0));
    assert_eq!(jpki::pin_mode_sign(&mut card, &right, &digest, true), Err(CardError::PinBlocked));
}

#[test]
fn a_right_pin_restores_the_counter() {
    let mut card = card("vc-01");
    let _ = card.verify_auth_pin(&AuthPin::parse("9999").unwrap());
    card.verify_auth_pin(&AuthPin::parse("1234").unwrap()).unwrap();
    // A new session, as after reconnecting (dropping a PC/SC card resets it).
    let mut transport = card.into_transport();
    transport.card.reset();
    let mut card = Card::new(transport);
    assert_eq!(card.auth_pin_tries().unwrap(), Some(3));
}

#[test]
fn signing_without_a_verified_pin_is_refused_by_the_card() {
    let mut card = card("vc-01");
    let err = card.sign_with_auth_key(&jpki::sha256_digest_info(&[1; 32])).unwrap_err();
    assert_eq!(err, CardError::UnexpectedStatus { sw: 0x6982, during: "signing" });
}

#[test]
fn face_photo_opens_with_code_b_and_decodes_to_png() {
    for holder in synthetic_holders() {
        let mut card = card(&holder.id);
        let code_b = VerificationCodeB::parse(&holder.verification_code_b()).unwrap();
        let face = card.read_face_photo(&code_b, &synthetic_face_issuers()).unwrap();
        assert_eq!(face.authenticity, FaceAuthenticity::Verified, "{}", holder.id);
        let photo = face.photo;
        assert_eq!((photo.width, photo.height), (144, 180), "{}", holder.id);
        let decoder = png::Decoder::new(std::io::Cursor::new(&photo.png));
        let reader = decoder.read_info().expect("a valid PNG");
        assert_eq!(reader.info().color_type, png::ColorType::Grayscale);
    }
}

#[test]
fn a_wrong_code_b_says_how_many_tries_remain() {
    let mut card = card("vc-03");
    let wrong = VerificationCodeB::parse("14021120290000").unwrap();
    assert_eq!(
        card.read_face_photo(&wrong, &synthetic_face_issuers()),
        Err(CardError::WrongVerificationCodeB { remaining: 9 })
    );
}

fn face_of(options: VirtualCardOptions, issuers: &FaceIssuers) -> FaceAuthenticity {
    let holder = synthetic_holders().remove(0);
    let mut card = Card::new(VirtualTransport::new(VirtualCard::with_options(&holder.id, options).unwrap()));
    let code_b = VerificationCodeB::parse(&holder.verification_code_b()).unwrap();
    card.read_face_photo(&code_b, issuers).unwrap().authenticity
}

#[test]
fn a_dummy_chip_without_the_issuer_signature_is_not_verified() {
    let genuine = VirtualCardOptions::default();
    let dummy = VirtualCardOptions { unsigned_face: true, ..Default::default() };
    assert_eq!(face_of(genuine, &synthetic_face_issuers()), FaceAuthenticity::Verified, "control");
    assert_eq!(face_of(dummy, &synthetic_face_issuers()), FaceAuthenticity::SignatureInvalid);
    // With no issuer key configured nothing is verified, genuine or not.
    assert_eq!(face_of(genuine, &FaceIssuers::none()), FaceAuthenticity::NoIssuerKey);
    assert_eq!(face_of(dummy, &FaceIssuers::none()), FaceAuthenticity::NoIssuerKey);
    // Another key (a card's own certificate key) does not verify the issuer's signature.
    let (_, cert) =
        x509_parser::parse_x509_certificate(houmon_nfc::synthetic_card("vc-02").unwrap().1.certificate).unwrap();
    let other = FaceIssuers::from_spki_der([cert.public_key().raw]).unwrap();
    assert_eq!(face_of(genuine, &other), FaceAuthenticity::SignatureInvalid);
    assert!(FaceIssuers::from_spki_der([&b"not a key"[..]]).is_err());
}

#[test]
fn card_removed_mid_read_is_a_clear_error() {
    let mut t = VirtualTransport::new(VirtualCard::new("vc-01").unwrap());
    t.remove_after = Some(4); // during the certificate's READ BINARYs
    let mut card = Card::new(t);
    let err = card.read_auth_certificate().unwrap_err();
    assert_eq!(err, CardError::CardRemoved);
    assert!(err.message_ja().contains("カード"));
}

#[test]
fn t0_style_61xx_answers_are_followed_transparently() {
    let card_with = |id| {
        let opts = VirtualCardOptions { t0_get_response: true, ..Default::default() };
        Card::new(VirtualTransport::new(VirtualCard::with_options(id, opts).unwrap()))
    };
    let mut card = card_with("vc-01");
    let digest = [3u8; 32];
    let signed = jpki::pin_mode_sign(&mut card, &AuthPin::parse("1234").unwrap(), &digest, false).unwrap();
    assert_eq!(signed.signature.len(), 256);
    assert_eq!(signed.certificate.len(), 1590);
    assert!(signed.apdus > 14, "GET RESPONSEs are counted: {}", signed.apdus);
}

/// A card that is not a My Number card: it knows no AID.
#[derive(Debug)]
struct ForeignCard;
impl Transport for ForeignCard {
    fn transmit(&mut self, _: CheckedApdu<'_>) -> Result<Vec<u8>, CardError> {
        Ok(vec![0x6A, 0x82])
    }
}

#[test]
fn a_foreign_card_is_named_as_such() {
    let mut card = Card::new(ForeignCard);
    assert_eq!(card.read_auth_certificate(), Err(CardError::NotMyNumberCard));
    assert!(!card.select_ap(Ap::Jpki).unwrap());
}

#[test]
fn no_route_to_the_individual_number_reaches_the_card() {
    let mut card = card("vc-01");
    let log = card.transport().card.command_log();
    // The text AP (its EF 0003 digests open with the PIN or 照合番号B) is refused by AID.
    for aid in [&TEXT_AID[..], &TEXT_AID[..9], &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01][..]] {
        assert!(matches!(card.exchange(&commands::select_ap(aid)), Err(CardError::Refused(_))), "{aid:02X?}");
    }
    // In each allowed AP, every EF id but the few the app reads, verifies or signs with.
    let mut refused = 0;
    for ap in [Ap::Jpki, Ap::Surface] {
        assert!(card.select_ap(ap).unwrap());
        for fid in 0..=0xFFFFu16 {
            match card.select_ef(fid, "probe") {
                Err(CardError::Refused(_)) => refused += 1,
                Ok(()) => {}
                Err(e) => panic!("{ap:?} {fid:04X}: {e:?}"),
            }
        }
    }
    assert_eq!(refused, 2 * 65536 - 6, "four JPKI EFs and two 券面 EFs pass");
    let seen = log.lock().unwrap();
    let selects: Vec<_> = seen.iter().filter(|c| c.header[1] == 0xA4).map(|c| c.data.clone()).collect();
    assert!(seen.iter().all(|c| c.header == [0x00, 0xA4, 0x04, 0x0C] || c.header == [0x00, 0xA4, 0x02, 0x0C]));
    let mut efs: Vec<_> = selects.iter().filter(|d| d.len() == 2).map(|d| u16::from_be_bytes([d[0], d[1]])).collect();
    efs.sort();
    efs.dedup();
    assert_eq!(efs, vec![0x0002, 0x000A, 0x000B, 0x0012, 0x0017, 0x0018], "only allowed EFs arrived");
    assert!(selects.iter().filter(|d| d.len() > 2).all(|aid| aid == &houmon_nfc::ap::JPKI_AID || aid == &SURFACE_AID));
    assert!(!selects.iter().any(|d| d == &TEXT_AID), "the text AP never reached the card");
}

#[test]
fn unknown_tries_mean_ask_before_sending_the_pin() {
    // The PIN verified earlier in this session: an empty VERIFY answers 9000, not a count.
    let mut card = card("vc-01");
    card.verify_auth_pin(&AuthPin::parse("1234").unwrap()).unwrap();
    assert_eq!(card.auth_pin_tries().unwrap(), None);
    let log = card.transport().card.command_log();
    let pins_sent = || log.lock().unwrap().iter().filter(|c| c.header[1] == 0x20 && c.data_len > 0).count();
    let before = pins_sent();
    let pin = AuthPin::parse("1234").unwrap();
    assert_eq!(jpki::pin_mode_sign(&mut card, &pin, &[5; 32], false), Err(CardError::TriesUnknownNeedsConfirmation));
    assert_eq!(pins_sent(), before, "no PIN was sent without confirmation");
    jpki::pin_mode_sign(&mut card, &pin, &[5; 32], true).expect("confirmed: sent once");
    assert_eq!(pins_sent(), before + 1);
}

#[test]
fn pins_and_codes_never_appear_in_debug_output_or_errors() {
    let pin = AuthPin::parse("2580").unwrap();
    let code = VerificationCodeB::parse("20082020301357").unwrap();
    let mut card = card("vc-02");
    let err = card.verify_auth_pin(&AuthPin::parse("2581").unwrap()).unwrap_err();
    let text = format!("{pin:?} {code:?} {err:?} {err} {} {} {card:?}", err.message_ja(), err.message_en());
    for secret in ["2580", "2581", "20082020301357"] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }
    let log = format!("{:?}", card.transport().card.command_log().lock().unwrap());
    assert!(!log.contains("50, 53, 56, 49"), "VERIFY bodies are not logged");
}
