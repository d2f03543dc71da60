//! ISO 7816-4 short APDUs: encoding of commands and decoding of responses, with no I/O.
//!
//! Only short APDUs are used (Lc ≤ 255, Le ≤ 256) because many phones' NFC stacks lack
//! extended length; signing fits (Lc 51, Le 256).

use zeroize::Zeroizing;

use crate::CardError;

/// Status word `9000`: success.
pub const SW_OK: u16 = 0x9000;

/// A command APDU. `data` may hold a PIN, so encodings are returned in [`Zeroizing`] buffers.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Zeroizing<Vec<u8>>,
    /// Expected response length, 1..=256 (256 is encoded as `00`); `None` for no response data.
    pub le: Option<u16>,
}

impl std::fmt::Debug for Command {
    // The body may be a PIN: show only the header and lengths.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, Lc={}, Le={:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

impl Command {
    /// A command with no data and no expected response (case 1).
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self { cla, ins, p1, p2, data: Zeroizing::new(Vec::new()), le: None }
    }

    /// Adds command data (case 3, or case 4 with [`Command::expect`]).
    pub fn with_data(mut self, data: &[u8]) -> Self {
        self.data = Zeroizing::new(data.to_vec());
        self
    }

    /// Sets the expected response length (1..=256).
    pub fn expect(mut self, le: u16) -> Self {
        self.le = Some(le);
        self
    }

    /// Encodes as a short APDU. Fails for data over 255 bytes or Le outside 1..=256.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, CardError> {
        if self.data.len() > 255 {
            return Err(CardError::Malformed("command data exceeds a short APDU"));
        }
        let mut out = Zeroizing::new(Vec::with_capacity(6 + self.data.len()));
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if !self.data.is_empty() {
            out.push(self.data.len() as u8);
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            match le {
                256 => out.push(0),
                1..=255 => out.push(le as u8),
                _ => return Err(CardError::Malformed("Le outside 1..=256")),
            }
        }
        Ok(out)
    }
}

/// Parsed header of an encoded short command, as the firewall and the virtual card see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: &'a [u8],
    /// Le as sent (256 for `00`), if present.
    pub le: Option<u16>,
}

impl<'a> Header<'a> {
    /// Parses an encoded short APDU (cases 1–4). `None` if the lengths do not add up.
    pub fn parse(apdu: &'a [u8]) -> Option<Self> {
        let (&[cla, ins, p1, p2], body) = apdu.split_first_chunk::<4>()?;
        let le_of = |b: u8| if b == 0 { 256 } else { u16::from(b) };
        let (data, le) = match body {
            [] => (&body[..0], None),
            [le] => (&body[..0], Some(le_of(*le))),
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                if lc == 0 {
                    return None; // an extended-length APDU; we only speak short ones
                }
                match rest.len().checked_sub(lc)? {
                    0 => (rest, None),
                    1 => (&rest[..lc], Some(le_of(rest[lc]))),
                    _ => return None,
                }
            }
        };
        Some(Self { cla, ins, p1, p2, data, le })
    }
}

/// A response APDU split into data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl std::fmt::Debug for Response {
    // Response data can be personal (a certificate, a photo): show only its size.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Response({} bytes, SW={:04X})", self.data.len(), self.sw)
    }
}

impl Response {
    /// Splits raw response bytes (data ‖ SW1 SW2).
    pub fn parse(mut raw: Vec<u8>) -> Result<Self, CardError> {
        if raw.len() < 2 {
            return Err(CardError::Malformed("response shorter than a status word"));
        }
        let sw2 = raw.pop().unwrap_or_default();
        let sw1 = raw.pop().unwrap_or_default();
        Ok(Self { data: raw, sw: u16::from_be_bytes([sw1, sw2]) })
    }

    pub fn is_ok(&self) -> bool {
        self.sw == SW_OK
    }

    /// `63Cx`: x tries left.
    pub fn tries_left(&self) -> Option<u8> {
        (self.sw & 0xFFF0 == 0x63C0).then_some((self.sw & 0x0F) as u8)
    }

    /// `6983` / `6984`: the key is blocked.
    pub fn is_blocked(&self) -> bool {
        matches!(self.sw, 0x6983 | 0x6984)
    }
}

/// Commands this app sends, in one place so the byte layout is reviewed once.
pub mod commands {
    use super::Command;

    /// SELECT by DF name (AID), no FCI (`P2=0C`).
    pub fn select_ap(aid: &[u8]) -> Command {
        Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid)
    }

    /// SELECT an EF under the current DF by file id, no FCI.
    pub fn select_ef(fid: u16) -> Command {
        Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(&fid.to_be_bytes())
    }

    /// READ BINARY of the current EF at a 15-bit offset.
    pub fn read_binary(offset: u16, le: u16) -> Command {
        let [p1, p2] = offset.to_be_bytes();
        Command::new(0x00, 0xB0, p1 & 0x7F, p2).expect(le)
    }

    /// VERIFY the current key EF. With no data it only reports the tries left (no try consumed).
    pub fn verify(secret: Option<&[u8]>) -> Command {
        let cmd = Command::new(0x00, 0x20, 0x00, 0x80);
        match secret {
            Some(s) => cmd.with_data(s),
            None => cmd,
        }
    }

    /// PERFORM SECURITY OPERATION: COMPUTE DIGITAL SIGNATURE with the current key EF; the card
    /// adds PKCS#1 v1.5 type-1 padding to `digest_info` (P1=00).
    pub fn compute_signature(digest_info: &[u8]) -> Command {
        Command::new(0x80, 0x2A, 0x00, 0x80).with_data(digest_info).expect(256)
    }

    /// GET RESPONSE after `61xx`.
    pub fn get_response(le: u16) -> Command {
        Command::new(0x00, 0xC0, 0x00, 0x00).expect(le)
    }
}

#[cfg(test)]
mod tests {
    use super::commands::*;
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    // Byte vectors from the reference (mynumber_apdu.md §2 and §8).
    #[test]
    fn encodes_reference_vectors() {
        let jpki = hex("D3 92 F0 00 26 01 00 00 00 01");
        assert_eq!(*select_ap(&jpki).encode().unwrap(), hex("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"));
        assert_eq!(*select_ef(0x000A).encode().unwrap(), hex("00 A4 02 0C 02 00 0A"));
        assert_eq!(*verify(Some(b"1234")).encode().unwrap(), hex("00 20 00 80 04 31 32 33 34"));
        assert_eq!(*verify(None).encode().unwrap(), hex("00 20 00 80"));
        assert_eq!(*read_binary(0, 256).encode().unwrap(), hex("00 B0 00 00 00"));
        assert_eq!(*read_binary(0x0100, 4).encode().unwrap(), hex("00 B0 01 00 04"));
        assert_eq!(*get_response(2).encode().unwrap(), hex("00 C0 00 00 02"));
        let di = [0u8; 51];
        let sign = compute_signature(&di).encode().unwrap();
        assert_eq!(&sign[..5], &hex("80 2A 00 80 33")[..]);
        assert_eq!(sign.len(), 5 + 51 + 1);
        assert_eq!(sign[56], 0x00, "Le 256 is encoded as 00");
    }

    #[test]
    fn read_binary_never_sets_the_sfi_bit() {
        assert_eq!(read_binary(0xFFFF, 1).p1, 0x7F);
    }

    #[test]
    fn rejects_what_a_short_apdu_cannot_carry() {
        assert!(Command::new(0, 0xB0, 0, 0).with_data(&[0; 256]).encode().is_err());
        assert!(Command::new(0, 0xB0, 0, 0).expect(0).encode().is_err());
        assert!(Command::new(0, 0xB0, 0, 0).expect(257).encode().is_err());
    }

    #[test]
    fn parses_all_four_cases_and_refuses_inconsistent_lengths() {
        let raw = hex("00 20 00 80");
        let h = Header::parse(&raw).unwrap();
        assert_eq!((h.data.len(), h.le), (0, None));
        let raw = hex("00 B0 00 00 00");
        let h = Header::parse(&raw).unwrap();
        assert_eq!(h.le, Some(256));
        let raw = hex("00 A4 02 0C 02 00 0A");
        let h = Header::parse(&raw).unwrap();
        assert_eq!((h.data, h.le), (&[0x00, 0x0A][..], None));
        let raw = hex("80 2A 00 80 02 AA BB 00");
        let h = Header::parse(&raw).unwrap();
        assert_eq!((h.data, h.le), (&[0xAA, 0xBB][..], Some(256)));
        assert!(Header::parse(&hex("00 A4 02 0C 03 00 0A")).is_none());
        assert!(Header::parse(&hex("00 A4 02")).is_none());
        assert!(Header::parse(&hex("00 B0 00 00 00 01 00")).is_none(), "extended Le is refused");
    }

    #[test]
    fn decodes_status_words() {
        let r = Response::parse(hex("AA BB 90 00")).unwrap();
        assert!(r.is_ok());
        assert_eq!(r.data, vec![0xAA, 0xBB]);
        assert_eq!(Response::parse(hex("63 C2")).unwrap().tries_left(), Some(2));
        assert_eq!(Response::parse(hex("63 C0")).unwrap().tries_left(), Some(0));
        assert!(Response::parse(hex("69 84")).unwrap().is_blocked());
        assert!(Response::parse(hex("69 83")).unwrap().is_blocked());
        assert!(Response::parse(vec![0x90]).is_err());
    }

    #[test]
    fn debug_output_hides_command_data() {
        let s = format!("{:?}", verify(Some(b"9876")));
        assert!(!s.contains("9876") && !s.contains("39 38"), "{s}");
    }
}
