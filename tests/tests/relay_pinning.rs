//! `relayCertificatePins` against the real relay binary serving TLS on loopback: a relay whose
//! certificate matches a pin is used; one that matches none gets no request at all (the
//! one-time code is still unused afterwards); the pins never replace the normal certificate
//! check.

use base64::Engine;
use houmon_device::lifecycle::{EnrollmentError, EnrollmentExchange, EnrollmentRequest};
use houmon_device::runner::RelayEnrollment;
use houmon_keys::DeviceSigningKey;
use houmon_model::DeviceId;
use houmon_sync_proto::http::{HttpError, RelayHttp};
use houmon_sync_proto::pinning::{PIN_MISMATCH, spki_pin};
use houmon_tests::bench_sync::{RelayProc, create_clinic};

fn pin_of(der: &[u8]) -> String {
    format!("sha256/{}", base64::engine::general_purpose::STANDARD.encode(spki_pin(der).expect("certificate")))
}

#[test]
fn only_a_relay_matching_a_pin_is_talked_to() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let code = create_clinic(&db, "ピン留めクリニック").unwrap();
    let relay_cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, relay_cert.cert.pem()).unwrap();
    std::fs::write(&key, relay_cert.signing_key.serialize_pem()).unwrap();
    let relay = RelayProc::start(&db, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()])
        .expect("relay with TLS");
    let url = format!("https://localhost:{}", relay.addr.rsplit(':').next().unwrap());
    let root = relay_cert.cert.der().to_vec();
    let right = pin_of(&root);
    let other = pin_of(rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap().cert.der());

    // The relay's key among the pins (with another, as during a key rotation): answered.
    RelayHttp::with_tls(&url, Some(&root), &[other.clone(), right.clone()]).unwrap().health().expect("pinned relay");
    // A pin that is not the relay's: refused in the handshake, with the reason.
    let refused = RelayHttp::with_tls(&url, Some(&root), std::slice::from_ref(&other)).unwrap().health().unwrap_err();
    assert!(matches!(&refused, HttpError::Transport(m) if m.contains(PIN_MISMATCH)), "{refused:?}");
    // A matching pin does not make an untrusted certificate trusted.
    assert!(RelayHttp::with_tls(&url, None, std::slice::from_ref(&right)).unwrap().health().is_err());
    // A malformed pin is an error, not "no pinning".
    assert!(matches!(RelayHttp::with_tls(&url, Some(&root), &["sha1/abc".into()]), Err(HttpError::Malformed(_))));

    // Enrollment: with the wrong pin the code never reaches the relay (it still works after).
    let key = DeviceSigningKey::generate().unwrap().0;
    let request = |pins: Vec<String>| EnrollmentRequest {
        relay_url: url.clone(),
        code: code.clone(),
        device_id: DeviceId::new(),
        device_public_key: key.public_key(),
        certificate_pins: pins,
        institution_code: None,
    };
    let mut exchange = RelayEnrollment { label: "ピン試験".into(), root_der: Some(root.clone()) };
    assert_eq!(exchange.redeem(&request(vec![other]), &key).unwrap_err(), EnrollmentError::Unreachable);
    let grant = exchange.redeem(&request(vec![right]), &key).expect("enrolled through the pinned relay");
    assert!(grant.sync.is_some());
}
