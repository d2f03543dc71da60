//! End-to-end protection of sync entries: compress, pad, AEAD-encrypt with the clinic content
//! key, and the opaque document ids the relay sees. The relay never gets any of these keys.

use super::SyncError;
use houmon_sync_proto::{ClinicId, DocId};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::io::{Read, Write};
use zeroize::Zeroize;

/// The clinic content key (診療所の共通鍵): 32 random bytes shared by the clinic's enrolled
/// devices, delivered at enrollment wrapped for each device.
#[derive(Clone)]
pub struct ContentKey([u8; 32]);

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentKey(..)")
    }
}

impl Drop for ContentKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Entries are padded to a multiple of this, so sizes leak less about contents.
const PAD: usize = 64;

/// Compress and pad: an entry's body just before encryption. Public so that the relay-database
/// canary's control can plant exactly this form and prove the scan would see it.
pub fn pack(plaintext: &[u8]) -> Result<Vec<u8>, SyncError> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(plaintext).map_err(|_| SyncError::Crypto)?;
    let compressed = z.finish().map_err(|_| SyncError::Crypto)?;
    let mut buf = Vec::with_capacity(compressed.len() + PAD + 4 + 16);
    buf.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
    buf.extend_from_slice(&compressed);
    buf.resize(buf.len().div_ceil(PAD) * PAD, 0);
    Ok(buf)
}

impl ContentKey {
    pub fn random() -> Result<Self, SyncError> {
        let mut k = [0u8; 32];
        SystemRandom::new().fill(&mut k).map_err(|_| SyncError::Crypto)?;
        Ok(Self(k))
    }
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn subkey(&self, label: &[u8]) -> [u8; 32] {
        let t = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.0), label);
        let mut o = [0u8; 32];
        o.copy_from_slice(t.as_ref());
        o
    }

    /// The id the relay sees for a document: a keyed hash, so it reveals nothing (not even
    /// which ids are charts) to anyone without the content key. The one exception is the
    /// clinic document, which every device holds: its id is the same in every clinic and under
    /// every key, so a device holding the wrong content key still receives the clinic
    /// document's entries, fails to open them and says so (never 最新), even when it
    /// replicates only part of the clinic. The relay learns only which entries are the clinic
    /// document's, which every device's subscription already shows it.
    pub fn opaque_doc_id(&self, doc_id: &str) -> DocId {
        if doc_id == houmon_store::CLINIC_DOC_ID {
            let d = ring::digest::digest(&ring::digest::SHA256, b"houmon-clinic-document-v1");
            let mut o = [0u8; 16];
            o.copy_from_slice(&d.as_ref()[..16]);
            return DocId(o);
        }
        let t = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.subkey(b"houmon-docid-v1")), doc_id.as_bytes());
        let mut o = [0u8; 16];
        o.copy_from_slice(&t.as_ref()[..16]);
        DocId(o)
    }

    /// Compress, pad and encrypt. The clinic and opaque doc id are authenticated, so an entry
    /// cannot be replayed into another document or clinic.
    pub fn seal(&self, clinic: &ClinicId, doc: &DocId, plaintext: &[u8]) -> Result<Vec<u8>, SyncError> {
        let mut buf = pack(plaintext)?;
        let mut nonce = [0u8; 12];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SyncError::Crypto)?;
        let key = self.aead()?;
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad(clinic, doc)), &mut buf)
            .map_err(|_| SyncError::Crypto)?;
        let mut out = Vec::with_capacity(12 + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Decrypt, unpad and decompress; any tampering is an error, never a panic.
    pub fn open(&self, clinic: &ClinicId, doc: &DocId, sealed: &[u8]) -> Result<Vec<u8>, SyncError> {
        if sealed.len() < 12 + 4 + 16 {
            return Err(SyncError::Tampered);
        }
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&sealed[..12]);
        let mut buf = sealed[12..].to_vec();
        let key = self.aead()?;
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad(clinic, doc)), &mut buf)
            .map_err(|_| SyncError::Tampered)?;
        let n = u32::from_be_bytes([plain[0], plain[1], plain[2], plain[3]]) as usize;
        let body = plain.get(4..4 + n).ok_or(SyncError::Tampered)?;
        let mut out = Vec::new();
        // Bound decompression (a valid entry is at most a few MB).
        flate2::read::DeflateDecoder::new(body)
            .take(256 << 20)
            .read_to_end(&mut out)
            .map_err(|_| SyncError::Tampered)?;
        Ok(out)
    }

    fn aead(&self) -> Result<LessSafeKey, SyncError> {
        let k = self.subkey(b"houmon-entry-aead-v1");
        Ok(LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &k).map_err(|_| SyncError::Crypto)?))
    }

    /// Wrap this key under a one-time code's wrap key (for an enrolling device).
    pub fn wrap(&self, wrap_key: &[u8; 32]) -> Result<Vec<u8>, SyncError> {
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, wrap_key).map_err(|_| SyncError::Crypto)?);
        let mut nonce = [0u8; 12];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SyncError::Crypto)?;
        let mut buf = self.0.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(b"houmon-content-key-v1"),
            &mut buf,
        )
        .map_err(|_| SyncError::Crypto)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        buf.zeroize();
        Ok(out)
    }

    pub fn unwrap(wrapped: &[u8], wrap_key: &[u8; 32]) -> Result<Self, SyncError> {
        if wrapped.len() != 12 + 32 + 16 {
            return Err(SyncError::Tampered);
        }
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, wrap_key).map_err(|_| SyncError::Crypto)?);
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&wrapped[..12]);
        let mut buf = wrapped[12..].to_vec();
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(b"houmon-content-key-v1"), &mut buf)
            .map_err(|_| SyncError::Tampered)?;
        let mut k = [0u8; 32];
        k.copy_from_slice(plain);
        buf.zeroize();
        Ok(Self(k))
    }
}

fn aad(clinic: &ClinicId, doc: &DocId) -> [u8; 32] {
    let mut a = [0u8; 32];
    a[..16].copy_from_slice(&clinic.0);
    a[16..].copy_from_slice(&doc.0);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_entries_open_only_with_the_same_key_clinic_and_document() {
        let k = ContentKey::random().expect("key");
        let c = ClinicId([1; 16]);
        let d = k.opaque_doc_id("chart:abc");
        let msg = "訪問記録 テスト".repeat(50);
        let s = k.seal(&c, &d, msg.as_bytes()).expect("seal");
        assert!(s.len() < msg.len(), "compressed before encryption");
        assert_eq!((s.len() - 12 - 16) % PAD, 0, "padded");
        assert_eq!(k.open(&c, &d, &s).expect("open"), msg.as_bytes());
        assert!(matches!(k.open(&ClinicId([2; 16]), &d, &s), Err(SyncError::Tampered)));
        assert!(matches!(k.open(&c, &k.opaque_doc_id("chart:other"), &s), Err(SyncError::Tampered)));
        let other = ContentKey::random().expect("key");
        assert!(matches!(other.open(&c, &d, &s), Err(SyncError::Tampered)));
        let mut t = s.clone();
        t[20] ^= 1;
        assert!(matches!(k.open(&c, &d, &t), Err(SyncError::Tampered)));
        assert!(matches!(k.open(&c, &d, &s[..10]), Err(SyncError::Tampered)));
        // Opaque ids differ per clinic key and hide the document kind.
        assert_ne!(d, other.opaque_doc_id("chart:abc"));
        // The clinic document is found under any key (a wrong key is then noticed).
        assert_eq!(k.opaque_doc_id("clinic"), other.opaque_doc_id("clinic"));
    }

    #[test]
    fn wrapped_content_key_needs_the_code() {
        let k = ContentKey::random().expect("key");
        let w = k.wrap(&[7; 32]).expect("wrap");
        assert_eq!(ContentKey::unwrap(&w, &[7; 32]).expect("unwrap").as_bytes(), k.as_bytes());
        assert!(ContentKey::unwrap(&w, &[8; 32]).is_err());
    }
}
