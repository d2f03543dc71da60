//! The synthetic card holders and their test-CA material, embedded from `fixtures/jpki-test/`.
//! Synthetic people only; see that folder's README. The people and the test CA are the ones the
//! qualification simulator knows (one embed, in `houmon-onshi`); the cards' private keys are
//! embedded here only, behind the `virtual-card` feature.

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use crate::{CardError, FaceIssuers};

/// The test CA that issued every virtual card's 利用者証明用 certificate (DER).
pub const TEST_CA_CERT: &[u8] = houmon_onshi::sim::TEST_CA_DER;

/// A synthetic card holder, as listed in `fixtures/jpki-test/people.json`.
#[derive(Clone, Deserialize)]
pub struct SyntheticCardHolder {
    pub id: String,
    pub family_name: String,
    pub given_name: String,
    pub family_kana: String,
    pub given_kana: String,
    pub birth_date: NaiveDate,
    /// ISO 5218: "1" male, "2" female.
    pub sex: String,
    pub address: String,
    /// The card's 利用者証明用 PIN (test data: printed in the fixtures README on purpose).
    pub pin: String,
    pub card_expiry_year: u16,
    pub security_code: String,
    pub cert_serial: String,
    pub cert_sha256: String,
    pub note: String,
}

impl std::fmt::Debug for SyntheticCardHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SyntheticCardHolder({})", self.id)
    }
}

impl SyntheticCardHolder {
    /// 照合番号B as printed on this card's front: 和暦 YYMMDD + expiry year + security code.
    pub fn verification_code_b(&self) -> String {
        format!("{}{}{}", wareki_yymmdd(self.birth_date), self.card_expiry_year, self.security_code)
    }
}

/// Embedded material of one virtual card.
#[derive(Debug, Clone, Copy)]
pub struct CardMaterial {
    pub certificate: &'static [u8],
    pub private_key_pkcs8: &'static [u8],
    pub photo_jp2: &'static [u8],
}

macro_rules! material {
    ($id:literal) => {
        (
            $id,
            CardMaterial {
                certificate: include_bytes!(concat!("../../fixtures/jpki-test/card-", $id, ".cert.der")),
                private_key_pkcs8: include_bytes!(concat!("../../fixtures/jpki-test/card-", $id, ".key.pk8")),
                photo_jp2: include_bytes!(concat!("../../fixtures/jpki-test/photo-", $id, ".jp2")),
            },
        )
    };
}

const MATERIAL: [(&str, CardMaterial); 5] =
    [material!("vc-01"), material!("vc-02"), material!("vc-03"), material!("vc-04"), material!("vc-05")];

/// The synthetic card issuer's key that signs every virtual card's face data (the test CA's
/// key: in training it plays J-LIS).
pub const SYNTHETIC_FACE_ISSUER_KEY: &[u8] = include_bytes!("../../fixtures/jpki-test/ca.key.pk8");

/// The synthetic issuer's public key (DER SubjectPublicKeyInfo), as a clinic would configure
/// a real issuer's.
pub fn synthetic_face_issuer_spki() -> Vec<u8> {
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
    let key = rsa::RsaPrivateKey::from_pkcs8_der(SYNTHETIC_FACE_ISSUER_KEY).expect("test CA key");
    key.to_public_key().to_public_key_der().expect("public key DER").into_vec()
}

/// The synthetic issuer as the key set a training device verifies card faces with.
pub fn synthetic_face_issuers() -> FaceIssuers {
    FaceIssuers::from_spki_der([synthetic_face_issuer_spki().as_slice()]).expect("test CA public key")
}

/// The id of the card the demo uses when none is named.
pub const DEMO_HOLDER: &str = "vc-01";

/// All synthetic card holders.
pub fn synthetic_holders() -> Vec<SyntheticCardHolder> {
    serde_json::from_str(houmon_onshi::sim::registry::FIXTURE_PEOPLE_JSON).expect("people.json is valid")
}

/// A holder and their card material by id (e.g. `vc-01`).
pub fn synthetic_card(id: &str) -> Result<(SyntheticCardHolder, CardMaterial), CardError> {
    let holder = synthetic_holders().into_iter().find(|h| h.id == id);
    let material = MATERIAL.iter().find(|(i, _)| *i == id).map(|(_, m)| *m);
    holder.zip(material).ok_or(CardError::Malformed("no synthetic card with that id"))
}

/// 和暦 YYMMDD of a date (元年 = 01), as used in 照合番号B.
pub fn wareki_yymmdd(date: NaiveDate) -> String {
    let start = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("era start");
    let eras =
        [(start(2019, 5, 1), 2018), (start(1989, 1, 8), 1988), (start(1926, 12, 25), 1925), (start(1912, 7, 30), 1911)];
    let offset = eras.iter().find(|(s, _)| date >= *s).map_or(1867, |(_, o)| *o);
    format!("{:02}{:02}{:02}", date.year() - offset, date.month(), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn wareki_across_era_boundaries() {
        assert_eq!(wareki_yymmdd(d(1980, 2, 17)), "550217"); // reference vector (昭和55)
        assert_eq!(wareki_yymmdd(d(2020, 2, 24)), "020224"); // 令和2
        assert_eq!(wareki_yymmdd(d(2019, 4, 30)), "310430"); // 平成31 last day
        assert_eq!(wareki_yymmdd(d(2019, 5, 1)), "010501"); // 令和元年
        assert_eq!(wareki_yymmdd(d(1989, 1, 7)), "640107"); // 昭和64
        assert_eq!(wareki_yymmdd(d(1989, 1, 8)), "010108"); // 平成元年
        assert_eq!(wareki_yymmdd(d(1926, 12, 24)), "151224"); // 大正15
        assert_eq!(wareki_yymmdd(d(1926, 12, 25)), "011225"); // 昭和元年
    }

    #[test]
    fn every_holder_has_material_and_the_reference_code_b_layout() {
        for h in synthetic_holders() {
            let (_, m) = synthetic_card(&h.id).unwrap();
            assert_eq!(m.certificate.len(), 1590, "{}", h.id);
            assert_eq!(h.verification_code_b().len(), 14);
        }
        let (vc03, _) = synthetic_card("vc-03").unwrap();
        assert_eq!(vc03.verification_code_b(), "14021120298642");
    }
}
