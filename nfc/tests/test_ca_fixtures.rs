//! The test JPKI CA and the synthetic cards' keys and certificates are generated
//! reproducibly: RSA keys from fixed ChaCha20 seeds, certificates with fixed serials and dates,
//! signed with deterministic PKCS#1 v1.5. This test regenerates all of them and checks they
//! equal the committed files under `fixtures/jpki-test/`, so the fixtures can always be
//! rebuilt from source. `HOUMON_REGEN_FIXTURES=1 cargo test -p houmon-nfc --test
//! test_ca_fixtures` rewrites them (after editing `people.json`'s holder fields).

use std::path::{Path, PathBuf};

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256, SerialNumber, date_time_ymd,
};
use rsa::RsaPrivateKey;
use rsa::pkcs8::EncodePrivateKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/jpki-test")
}

fn rsa_pkcs8(seed: u64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let key = RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation");
    key.to_pkcs8_der().expect("PKCS#8").as_bytes().to_vec()
}

fn key_pair(pkcs8: &[u8]) -> KeyPair {
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.into(), &PKCS_RSA_SHA256).expect("ring accepts the key")
}

fn dn(ou: &str, cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "JP");
    dn.push(DnType::OrganizationName, "JPKI-TEST");
    dn.push(DnType::OrganizationalUnitName, ou);
    dn.push(DnType::CommonName, cn);
    dn
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n @ 0..=0x7F => out.push(n as u8),
        n @ 0x80..=0xFF => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// The extensions a real 利用者証明用 certificate carries (policy with CPS, CRL distribution
/// points, OCSP), pointing at non-resolvable `.invalid` hosts. They make the certificate
/// about as large as a real one (~1.6 KB), which is what sets the APDU count of a read.
fn realistic_extensions(p: &mut CertificateParams, id: &str) {
    // Policy OID under 1.3.6.1.4.1.32473 (the documentation-only enterprise number).
    let policy_oid = der(0x06, &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xFD, 0x59, 0x01, 0x08, 0x05]);
    let cps_oid = der(0x06, &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x02, 0x01]);
    let cps = der(
        0x16,
        b"https://repository.jpki-test.invalid/cps/user-authentication-certificate-policy-and-practice-statement.pdf",
    );
    let qualifier = der(0x30, &[cps_oid, cps].concat());
    let info = der(0x30, &[policy_oid, der(0x30, &qualifier)].concat());
    let mut policies = CustomExtension::from_oid_content(&[2, 5, 29, 32], der(0x30, &info));
    policies.set_criticality(true);
    let ocsp_oid = der(0x06, &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01]);
    let access = |uri: &str| der(0x30, &[ocsp_oid.clone(), der(0x86, uri.as_bytes())].concat());
    let aia = [
        access("http://ocsp.jpki-test.invalid/user-authentication"),
        access("http://ocsp-backup.jpki-test.invalid/user-authentication"),
    ]
    .concat();
    p.custom_extensions =
        vec![policies, CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], der(0x30, &aia))];
    p.crl_distribution_points = vec![
        CrlDistributionPoint {
            uris: vec![format!(
                "ldap://directory.jpki-test.invalid/cn=CRL{},ou=User Authentication CA,o=JPKI-TEST,c=JP?certificateRevocationList",
                &id[3..]
            )],
        },
        CrlDistributionPoint {
            uris: vec!["http://crl.jpki-test.invalid/user-authentication/partitioned/crl-0001.crl".into()],
        },
        CrlDistributionPoint {
            uris: vec!["http://crl-backup.jpki-test.invalid/user-authentication/partitioned/crl-0001.crl".into()],
        },
    ];
}

/// Every fixture file: name → bytes.
fn generate() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let ca_key_der = rsa_pkcs8(0x484F_554D_4F4E_0000);
    let ca_key = key_pair(&ca_key_der);
    let mut ca = CertificateParams::default();
    ca.distinguished_name = dn("Houmon synthetic test CA", "Houmon Test JPKI User Authentication CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.serial_number = Some(SerialNumber::from_slice(&[0x01]));
    ca.not_before = date_time_ymd(2024, 1, 1);
    ca.not_after = date_time_ymd(2044, 12, 31);
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    out.push(("ca.cert.der".to_string(), ca_cert.der().to_vec()));
    out.push(("ca.key.pk8".to_string(), ca_key_der));
    let issuer = Issuer::new(ca, ca_key);

    let people_path = dir().join("people.json");
    let mut people: Vec<Value> = serde_json::from_slice(&std::fs::read(&people_path).unwrap()).unwrap();
    for (i, person) in people.iter_mut().enumerate() {
        let id = person["id"].as_str().unwrap().to_string();
        let birth = chrono::NaiveDate::parse_from_str(person["birth_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let expiry_year = person["card_expiry_year"].as_i64().unwrap() as i32;
        // Like the real 利用者証明用 certificate, it expires on a birthday and names no one.
        use chrono::Datelike;
        let key_der = rsa_pkcs8(0x484F_554D_4F4E_1000 + i as u64);
        let key = key_pair(&key_der);
        let mut p = CertificateParams::default();
        p.distinguished_name = dn("Houmon synthetic card", &format!("HOUMON-TEST-AUTH-{id}"));
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        realistic_extensions(&mut p, &id);
        let serial = 0x1000 + i as u16 + 1;
        p.serial_number = Some(SerialNumber::from_slice(&serial.to_be_bytes()));
        p.not_before = date_time_ymd(2024, 4, 1);
        p.not_after = date_time_ymd(expiry_year, birth.month() as u8, birth.day() as u8);
        let cert = p.signed_by(&key, &issuer).expect("card certificate");
        let der = cert.der().to_vec();
        person["cert_serial"] = json!(format!("{serial:04x}"));
        person["cert_sha256"] = json!(hex::encode(Sha256::digest(&der)));
        person["cert_not_before"] = json!("2024-04-01T00:00:00Z");
        person["cert_not_after"] = json!(format!("{expiry_year:04}-{:02}-{:02}T00:00:00Z", birth.month(), birth.day()));
        out.push((format!("card-{id}.cert.der"), der));
        out.push((format!("card-{id}.key.pk8"), key_der));
    }
    let mut json = serde_json::to_vec_pretty(&people).unwrap();
    json.push(b'\n');
    out.push(("people.json".to_string(), json));
    out
}

#[test]
fn committed_fixtures_are_reproducible_from_source() {
    let files = generate();
    if std::env::var_os("HOUMON_REGEN_FIXTURES").is_some() {
        for (name, bytes) in &files {
            std::fs::write(dir().join(name), bytes).unwrap();
        }
        eprintln!("rewrote {} fixture files in {}", files.len(), dir().display());
        return;
    }
    for (name, bytes) in &files {
        let committed = std::fs::read(dir().join(name)).unwrap_or_default();
        assert!(
            committed == *bytes,
            "{name} differs from what the generator makes; regenerate with HOUMON_REGEN_FIXTURES=1"
        );
    }
}
