//! The 券面事項確認 AP (card face), opened with 照合番号B, for the face photo used in 目視確認.
//! Only the photo and whether the issuer's signature over the face data holds leave this
//! module; the rest of the face file (name, address, birth date images) is discarded and
//! zeroized. 照合番号A and EF 0005 are fenced off by the firewall.
//!
//! The face file (`FF20`) carries the issuer's signature `DF28` over the items before it
//! (`DF21`–`DF27`, photo included; `DF29`/`DF2A` follow outside it; reference
//! mynumber_apdu.md §4). We verify it as RSA PKCS#1 v1.5 with SHA-256 over the encoded items
//! before `DF28`, against the issuer keys the clinic configures. The exact algorithm of real
//! cards is not publicly documented **[unsure]**: a real card whose signature does not verify
//! is shown as 未検証, never as 検証済み, so a mistake here fails closed.

use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::ap::surface;
use crate::apdu::commands;
use crate::firewall::Ap;
use crate::photo::{FacePhoto, jpeg2000_to_png};
use crate::{Card, CardError, Transport, VerificationCodeB, tlv};

/// Tag of the face file's outer template, the photo and the issuer's signature inside it.
const FACE_TEMPLATE: u32 = 0xFF20;
const PHOTO: u32 = 0xDF27;
const SIGNATURE: u32 = 0xDF28;

/// The public keys of the card issuer (J-LIS) that sign the card face data.
#[derive(Debug, Clone, Default)]
pub struct FaceIssuers(Vec<RsaPublicKey>);

impl FaceIssuers {
    /// No issuer key: no photo can be verified.
    pub fn none() -> Self {
        Self::default()
    }

    /// From DER SubjectPublicKeyInfo encodings of RSA keys.
    pub fn from_spki_der<'a>(keys: impl IntoIterator<Item = &'a [u8]>) -> Result<Self, CardError> {
        let mut issuers = Self::none();
        for der in keys {
            issuers.add_spki_der(der)?;
        }
        Ok(issuers)
    }

    /// Adds one issuer key (DER SubjectPublicKeyInfo of an RSA key).
    pub fn add_spki_der(&mut self, der: &[u8]) -> Result<(), CardError> {
        let key = RsaPublicKey::from_public_key_der(der).map_err(|_| CardError::Malformed("card face issuer key"))?;
        self.0.push(key);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn verify(&self, signed: &[u8], signature: &[u8]) -> FaceAuthenticity {
        if self.0.is_empty() {
            return FaceAuthenticity::NoIssuerKey;
        }
        let digest = Sha256::digest(signed);
        let ok = self.0.iter().any(|k| k.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature).is_ok());
        if ok { FaceAuthenticity::Verified } else { FaceAuthenticity::SignatureInvalid }
    }
}

/// Whether the chip's face data is the issuer's (検証済み) or could not be shown to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceAuthenticity {
    /// The issuer's signature over the face data, photo included, verifies: 検証済み.
    Verified,
    /// No issuer key is configured on this device, so nothing could be checked: 未検証.
    NoIssuerKey,
    /// The signature is missing or does not verify against any configured issuer key: the
    /// chip may be a forgery.
    SignatureInvalid,
}

/// The chip's face photo and whether its issuer signature holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFacePhoto {
    pub photo: FacePhoto,
    pub authenticity: FaceAuthenticity,
}

impl<T: Transport> Card<T> {
    /// Opens the 券面AP with 照合番号B and returns the face photo as PNG, with the result of
    /// checking the issuer's signature against `issuers`.
    pub fn read_face_photo(
        &mut self,
        code_b: &VerificationCodeB,
        issuers: &FaceIssuers,
    ) -> Result<CardFacePhoto, CardError> {
        if !self.select_ap(Ap::Surface)? {
            return Err(CardError::NotMyNumberCard);
        }
        self.select_ef(surface::CODE_B, "selecting 照合番号B")?;
        let resp = self.exchange(&commands::verify(Some(code_b.as_bytes())))?;
        match resp.tries_left() {
            _ if resp.is_ok() => {}
            Some(0) => return Err(CardError::VerificationCodeBBlocked),
            Some(remaining) => return Err(CardError::WrongVerificationCodeB { remaining }),
            None if resp.is_blocked() => return Err(CardError::VerificationCodeBBlocked),
            None => {
                return Err(CardError::UnexpectedStatus { sw: resp.sw, during: "verifying 照合番号B" });
            }
        }
        self.select_ef(surface::FACE, "selecting the card face")?;
        let file = self.read_tlv_file("reading the card face")?;
        let (tag, h, len) = tlv::header(&file)?;
        if tag != FACE_TEMPLATE {
            return Err(CardError::Malformed("card face file has an unexpected tag"));
        }
        let body = file.get(h..h + len).ok_or(CardError::Malformed("card face file is truncated"))?;
        // The items up to the signature, which it covers; anything after it is not signed.
        let (mut photo, mut signature, mut at) = (None, None, 0);
        while at < body.len() && signature.is_none() {
            let (tag, h, l) = tlv::header(&body[at..])?;
            let value = body.get(at + h..at + h + l).ok_or(CardError::Malformed("card face item overruns the file"))?;
            match tag {
                PHOTO => photo = Some(value),
                SIGNATURE => signature = Some((&body[..at], value)),
                _ => {}
            }
            at += h + l;
        }
        let photo = photo.ok_or(CardError::Malformed("card face file has no photo"))?;
        let authenticity = match signature {
            Some((signed, sig)) => issuers.verify(signed, sig),
            None if issuers.is_empty() => FaceAuthenticity::NoIssuerKey,
            None => FaceAuthenticity::SignatureInvalid,
        };
        Ok(CardFacePhoto { photo: jpeg2000_to_png(photo)?, authenticity })
    }
}
