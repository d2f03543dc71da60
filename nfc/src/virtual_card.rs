//! A software My Number card, faithful to the real one where this app can tell: the AIDs and
//! EFs, no FCI for `P2=0C`, status words `63Cx`/`6984`/`6982`/`6A82`/`6B00`, a 3-try PIN that
//! blocks, RSA-2048 PKCS#1 v1.5 signing of a caller-supplied DigestInfo, 照合番号B (10 tries)
//! on the 券面AP, and a JPEG 2000 photo. It holds synthetic people only and deliberately has
//! no 個人番号 at all (text EF 0001 and 券面 EF 0005 answer `6A82`).
//!
//! Used in-process ([`VirtualTransport`]) and behind pcscd through the vpcd bridge.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use zeroize::Zeroizing;

use crate::ap::{JPKI_AID, SURFACE_AID, TEXT_AID, jpki, surface};
use crate::apdu::Header;
use crate::firewall::CheckedApdu;
use crate::holders::{CardMaterial, SYNTHETIC_FACE_ISSUER_KEY, SyntheticCardHolder, TEST_CA_CERT, synthetic_card};
use crate::{CardError, Transport};

/// The contact ATR of a My Number card (reference §5).
pub const ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum App {
    Jpki,
    Text,
    Surface,
}

/// A retry counter on a key EF.
#[derive(Debug, Clone)]
struct Secret {
    value: Zeroizing<Vec<u8>>,
    left: u8,
    max: u8,
}

/// What the card was asked, with VERIFY bodies removed, for tests to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCommand {
    pub header: [u8; 4],
    /// Command data, except for VERIFY (a PIN or 照合番号B), which is never recorded.
    pub data: Vec<u8>,
    /// The length of the command data as sent (for VERIFY too: a secret was sent or not).
    pub data_len: usize,
}

/// Behaviour switches for tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct VirtualCardOptions {
    /// Answer case-4 commands with `61xx` and hold the data for GET RESPONSE, as T=0 cards do.
    pub t0_get_response: bool,
    /// A dummy chip: the face data carries no valid issuer signature (the 2024 forged cards).
    pub unsigned_face: bool,
}

pub struct VirtualCard {
    holder: SyntheticCardHolder,
    material: CardMaterial,
    key: RsaPrivateKey,
    options: VirtualCardOptions,
    app: Option<App>,
    ef: Option<u16>,
    verified: HashSet<(App, u16)>,
    secrets: Vec<((App, u16), Secret)>,
    pending: Vec<u8>,
    log: Arc<Mutex<Vec<LoggedCommand>>>,
    surface_file: Vec<u8>,
    text_file: Vec<u8>,
    token_info: Vec<u8>,
}

impl std::fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VirtualCard({})", self.holder.id)
    }
}

fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    match value.len() {
        n @ 0..=0x7F => out.push(n as u8),
        n @ 0x80..=0xFF => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(value);
    out
}

impl VirtualCard {
    /// The synthetic card with this id (`vc-01` … `vc-05`).
    pub fn new(id: &str) -> Result<Self, CardError> {
        Self::with_options(id, VirtualCardOptions::default())
    }

    pub fn with_options(id: &str, options: VirtualCardOptions) -> Result<Self, CardError> {
        let (holder, material) = synthetic_card(id)?;
        let key = RsaPrivateKey::from_pkcs8_der(material.private_key_pkcs8)
            .map_err(|_| CardError::Malformed("virtual card key"))?;
        let birth = holder.birth_date.format("%Y%m%d").to_string();
        // 券面AP EF 0002: birth date, sex, photo, signature (name/address images omitted).
        let mut face = tlv(&[0xDF, 0x22], birth.as_bytes());
        face.extend(tlv(&[0xDF, 0x23], holder.sex.as_bytes()));
        face.extend(tlv(&[0xDF, 0x27], material.photo_jp2));
        let signature = if options.unsigned_face {
            vec![0u8; 256]
        } else {
            use sha2::{Digest, Sha256};
            const BAD: CardError = CardError::Malformed("virtual card face signature");
            let issuer = RsaPrivateKey::from_pkcs8_der(SYNTHETIC_FACE_ISSUER_KEY).map_err(|_| BAD)?;
            issuer.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&face)).map_err(|_| BAD)?
        };
        face.extend(tlv(&[0xDF, 0x28], &signature));
        // Outside the signature, as on real cards.
        face.extend(tlv(&[0xDF, 0x29], b"expiry"));
        let surface_file = tlv(&[0xFF, 0x20], &face);
        // Text AP EF 0002: the 基本4情報 (UTF-8, U+3000 between family and given name).
        let name = format!("{}\u{3000}{}", holder.family_name, holder.given_name);
        let mut text = tlv(&[0xDF, 0x22], name.as_bytes());
        text.extend(tlv(&[0xDF, 0x23], holder.address.as_bytes()));
        text.extend(tlv(&[0xDF, 0x24], birth.as_bytes()));
        text.extend(tlv(&[0xDF, 0x25], holder.sex.as_bytes()));
        let text_file = tlv(&[0xFF, 0x20], &text);
        let mut token_info = b"JPKIAPICCTOKEN2".to_vec();
        token_info.resize(160, b' ');
        let secret = |v: &str, max| Secret { value: Zeroizing::new(v.as_bytes().to_vec()), left: max, max };
        let code_b = holder.verification_code_b();
        let secrets = vec![
            ((App::Jpki, jpki::AUTH_PIN), secret(&holder.pin, 3)),
            ((App::Jpki, jpki::SIGN_PASSWORD), secret("HOUMONTEST1", 5)),
            ((App::Text, 0x0011), secret(&holder.pin, 3)),
            ((App::Text, 0x0015), secret(&code_b, 10)),
            ((App::Surface, surface::CODE_B), secret(&code_b, 10)),
        ];
        Ok(Self {
            holder,
            material,
            key,
            options,
            app: None,
            ef: None,
            verified: HashSet::new(),
            secrets,
            pending: Vec::new(),
            log: Arc::default(),
            surface_file,
            text_file,
            token_info,
        })
    }

    pub fn holder(&self) -> &SyntheticCardHolder {
        &self.holder
    }

    /// Every command the card has received (VERIFY bodies omitted).
    pub fn command_log(&self) -> Arc<Mutex<Vec<LoggedCommand>>> {
        Arc::clone(&self.log)
    }

    /// Power-on / warm reset: clears the selection and every security state; counters stay.
    pub fn reset(&mut self) {
        self.app = None;
        self.ef = None;
        self.verified.clear();
        self.pending.clear();
    }

    fn file(&self, app: App, fid: u16) -> Option<&[u8]> {
        match (app, fid) {
            (App::Jpki, jpki::AUTH_CERT) => Some(self.material.certificate),
            (App::Jpki, jpki::AUTH_CA_CERT) => Some(TEST_CA_CERT),
            (App::Jpki, jpki::TOKEN_INFO) => Some(&self.token_info),
            (App::Text, 0x0002) => Some(&self.text_file),
            (App::Surface, surface::FACE) => Some(&self.surface_file),
            _ => None,
        }
    }

    /// Who must have verified before this file can be read.
    fn read_requires(app: App, fid: u16) -> &'static [(App, u16)] {
        match (app, fid) {
            (App::Text, 0x0002) => &[(App::Text, 0x0011), (App::Text, 0x0015)],
            (App::Surface, surface::FACE) => &[(App::Surface, surface::CODE_B)],
            _ => &[],
        }
    }

    fn is_key_ef(app: App, fid: u16) -> bool {
        matches!((app, fid), (App::Jpki, jpki::AUTH_KEY | jpki::SIGN_KEY))
    }

    /// Processes one command APDU and returns the response APDU, as the chip would.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Some(h) = Header::parse(apdu) else {
            return sw(0x6700);
        };
        let data = if h.ins == 0x20 { Vec::new() } else { h.data.to_vec() };
        if let Ok(mut log) = self.log.lock() {
            log.push(LoggedCommand { header: [h.cla, h.ins, h.p1, h.p2], data, data_len: h.data.len() });
        }
        let (mut body, code) = self.dispatch(&h);
        if code == 0x9000 && !body.is_empty() && self.options.t0_get_response && h.ins != 0xC0 {
            let len = body.len();
            self.pending = std::mem::take(&mut body);
            return sw(0x6100 | (len & 0xFF) as u16);
        }
        body.extend(code.to_be_bytes());
        body
    }

    fn dispatch(&mut self, h: &Header<'_>) -> (Vec<u8>, u16) {
        if h.ins != 0xC0 {
            self.pending.clear();
        }
        match (h.cla, h.ins) {
            (0x00, 0xA4) => (Vec::new(), self.select(h)),
            (0x00, 0xB0) => self.read_binary(h),
            (0x00, 0x20) => (Vec::new(), self.verify(h)),
            (0x80, 0x2A) => self.sign(h),
            (0x00, 0xC0) => self.get_response(h),
            (0x00 | 0x80, _) => (Vec::new(), 0x6D00),
            _ => (Vec::new(), 0x6E00),
        }
    }

    fn select(&mut self, h: &Header<'_>) -> u16 {
        if h.p2 != 0x0C && h.p2 != 0x00 {
            return 0x6A86;
        }
        match h.p1 {
            0x04 => {
                let app = match h.data {
                    d if d == JPKI_AID => App::Jpki,
                    d if d == TEXT_AID => App::Text,
                    d if d == SURFACE_AID => App::Surface,
                    _ => return 0x6A82,
                };
                if self.app != Some(app) {
                    self.verified.clear(); // leaving an AP clears its security state
                }
                self.app = Some(app);
                self.ef = None;
                0x9000
            }
            0x02 => {
                let (Some(app), Ok(fid)) = (self.app, <[u8; 2]>::try_from(h.data).map(u16::from_be_bytes)) else {
                    return 0x6A82;
                };
                let exists = self.file(app, fid).is_some()
                    || Self::is_key_ef(app, fid)
                    || self.secrets.iter().any(|(k, _)| *k == (app, fid));
                if !exists {
                    return 0x6A82;
                }
                self.ef = Some(fid);
                0x9000
            }
            _ => 0x6A86,
        }
    }

    fn read_binary(&mut self, h: &Header<'_>) -> (Vec<u8>, u16) {
        let (Some(app), Some(fid)) = (self.app, self.ef) else {
            return (Vec::new(), 0x6986);
        };
        if h.p1 & 0x80 != 0 {
            return (Vec::new(), 0x6A86); // SFI reads are not modelled
        }
        let required = Self::read_requires(app, fid);
        if !required.is_empty() && !required.iter().any(|k| self.verified.contains(k)) {
            return (Vec::new(), 0x6982);
        }
        let Some(file) = self.file(app, fid) else {
            return (Vec::new(), 0x6981);
        };
        let offset = usize::from(u16::from_be_bytes([h.p1, h.p2]));
        let le = usize::from(h.le.unwrap_or(256));
        if offset >= file.len() {
            return (Vec::new(), 0x6B00);
        }
        let end = (offset + le).min(file.len());
        let code = if end - offset < le { 0x6282 } else { 0x9000 };
        (file[offset..end].to_vec(), code)
    }

    fn verify(&mut self, h: &Header<'_>) -> u16 {
        if h.p1 != 0x00 || h.p2 != 0x80 {
            return 0x6A86;
        }
        let (Some(app), Some(fid)) = (self.app, self.ef) else {
            return 0x6986;
        };
        let verified = self.verified.contains(&(app, fid));
        let Some((_, secret)) = self.secrets.iter_mut().find(|(k, _)| *k == (app, fid)) else {
            return 0x6981;
        };
        if secret.left == 0 {
            return 0x6984;
        }
        if h.data.is_empty() {
            // Reports the tries left without consuming one.
            return if verified { 0x9000 } else { 0x63C0 | u16::from(secret.left) };
        }
        if h.data == secret.value.as_slice() {
            secret.left = secret.max;
            self.verified.insert((app, fid));
            0x9000
        } else {
            secret.left -= 1;
            self.verified.remove(&(app, fid));
            0x63C0 | u16::from(secret.left)
        }
    }

    fn sign(&mut self, h: &Header<'_>) -> (Vec<u8>, u16) {
        if h.p1 != 0x00 || h.p2 != 0x80 {
            return (Vec::new(), 0x6A86);
        }
        let (Some(app), Some(fid)) = (self.app, self.ef) else {
            return (Vec::new(), 0x6986);
        };
        let pin = match (app, fid) {
            (App::Jpki, jpki::AUTH_KEY) => jpki::AUTH_PIN,
            (App::Jpki, jpki::SIGN_KEY) => jpki::SIGN_PASSWORD,
            _ => return (Vec::new(), 0x6981),
        };
        if !self.verified.contains(&(App::Jpki, pin)) || fid == jpki::SIGN_KEY {
            return (Vec::new(), 0x6982);
        }
        if h.data.is_empty() || h.data.len() > 256 - 11 {
            return (Vec::new(), 0x6700);
        }
        // PKCS#1 v1.5 type 1 padding of the data as given (P1=00).
        match self.key.sign(Pkcs1v15Sign::new_unprefixed(), h.data) {
            Ok(sig) => (sig, 0x9000),
            Err(_) => (Vec::new(), 0x6F00),
        }
    }

    fn get_response(&mut self, h: &Header<'_>) -> (Vec<u8>, u16) {
        if self.pending.is_empty() {
            return (Vec::new(), 0x6985);
        }
        let le = usize::from(h.le.unwrap_or(256)).min(self.pending.len());
        let chunk: Vec<u8> = self.pending.drain(..le).collect();
        let code = match self.pending.len() {
            0 => 0x9000,
            n => 0x6100 | (n.min(256) & 0xFF) as u16,
        };
        (chunk, code)
    }
}

fn sw(code: u16) -> Vec<u8> {
    code.to_be_bytes().to_vec()
}

/// The virtual card as an in-process transport (demo mode, unit tests).
#[derive(Debug)]
pub struct VirtualTransport {
    pub card: VirtualCard,
    /// Simulates the card leaving the reader after this many APDUs.
    pub remove_after: Option<u32>,
    sent: u32,
}

impl VirtualTransport {
    pub fn new(card: VirtualCard) -> Self {
        Self { card, remove_after: None, sent: 0 }
    }
}

impl Transport for VirtualTransport {
    fn transmit(&mut self, apdu: CheckedApdu<'_>) -> Result<Vec<u8>, CardError> {
        if self.remove_after.is_some_and(|n| self.sent >= n) {
            return Err(CardError::CardRemoved);
        }
        self.sent += 1;
        Ok(self.card.process(apdu.bytes()))
    }
}
