//! `Card<T>`: a session with one card over a transport. Sends commands through the session's
//! [`Firewall`], follows `61xx` (GET RESPONSE) and `6Cxx` (resend with Le, only for commands
//! without data: a PIN is never re-sent), counts APDUs, and reads TLV-sized files in as few
//! short READ BINARYs as possible.

use zeroize::Zeroizing;

use crate::apdu::{Command, Response, SW_OK, commands};
use crate::firewall::{Ap, Firewall};
use crate::{CardError, Transport, tlv};

/// Largest file this app will read (offsets are 15 bits).
const MAX_FILE: usize = 0x7FFF;
/// A card may chain at most this many GET RESPONSEs before we call it broken.
const MAX_GET_RESPONSE: usize = 32;

#[derive(Debug)]
pub struct Card<T: Transport> {
    transport: T,
    apdus: u32,
    /// Also knows what is selected, which spares redundant SELECTs.
    firewall: Firewall,
}

impl<T: Transport> Card<T> {
    pub fn new(transport: T) -> Self {
        Self { transport, apdus: 0, firewall: Firewall::new() }
    }

    /// APDUs sent so far, including GET RESPONSE and resends.
    pub fn apdu_count(&self) -> u32 {
        self.apdus
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn transport_mut(&mut self) -> &mut T {
        // Commands sent around this session may change the selection: forget it.
        self.firewall.forget();
        &mut self.transport
    }

    pub fn into_transport(self) -> T {
        self.transport
    }

    fn send(&mut self, cmd: &Command) -> Result<Response, CardError> {
        let bytes = cmd.encode()?;
        let checked = self.firewall.check(&bytes)?;
        let raw = Zeroizing::new(self.transport.transmit(checked)?);
        self.apdus += 1;
        let resp = Response::parse(raw.to_vec())?;
        self.firewall.observe(&bytes, resp.sw);
        Ok(resp)
    }

    /// Sends `cmd`, resolving `6Cxx` and `61xx` so the caller sees the final answer.
    pub fn exchange(&mut self, cmd: &Command) -> Result<Response, CardError> {
        let result = self.exchange_inner(cmd);
        // After a transport or card error the selection is uncertain; a refused command never
        // left this session, so it changed nothing.
        if result.as_ref().is_err_and(|e| !matches!(e, CardError::Refused(_))) {
            self.firewall.forget();
        }
        result
    }

    fn exchange_inner(&mut self, cmd: &Command) -> Result<Response, CardError> {
        let mut resp = self.send(cmd)?;
        // Resend with the Le the card asks for, but never a command with data (a PIN is sent
        // at most once per user action); for those 6Cxx is the answer.
        if resp.sw & 0xFF00 == 0x6C00 && cmd.data.is_empty() {
            resp = self.send(&cmd.clone().expect(le_from(resp.sw)))?;
        }
        let mut data = std::mem::take(&mut resp.data);
        for _ in 0..MAX_GET_RESPONSE {
            if resp.sw & 0xFF00 != 0x6100 {
                resp.data = data;
                return Ok(resp);
            }
            resp = self.send(&commands::get_response(le_from(resp.sw)))?;
            data.append(&mut resp.data);
        }
        Err(CardError::Malformed("endless GET RESPONSE chain"))
    }

    /// SELECT an application. Returns whether the card has it.
    pub fn select_ap(&mut self, ap: Ap) -> Result<bool, CardError> {
        if self.firewall.selected().0 == Some(ap) {
            return Ok(true);
        }
        Ok(self.exchange(&commands::select_ap(ap.aid()))?.is_ok())
    }

    /// SELECT an EF in the current application.
    pub fn select_ef(&mut self, fid: u16, during: &'static str) -> Result<(), CardError> {
        if matches!(self.firewall.selected(), (Some(_), Some(ef)) if ef == fid) {
            return Ok(());
        }
        let resp = self.exchange(&commands::select_ef(fid))?;
        if !resp.is_ok() {
            return Err(CardError::UnexpectedStatus { sw: resp.sw, during });
        }
        Ok(())
    }

    /// Reads the whole current EF, whose length comes from the TLV header at its start.
    ///
    /// The first READ BINARY asks for 256 bytes (the most a short APDU can return), which
    /// always covers the header; the rest follows in 256-byte chunks, the last one exact.
    /// A 1,590-byte certificate therefore takes 7 APDUs.
    pub fn read_tlv_file(&mut self, during: &'static str) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let first = self.read_chunk(0, 256, during)?;
        let total = tlv::total_len(&first)?;
        if total > MAX_FILE {
            return Err(CardError::Malformed("file length beyond the 15-bit offset range"));
        }
        let mut buf = first;
        while buf.len() < total {
            let le = (total - buf.len()).min(256) as u16;
            let chunk = self.read_chunk(buf.len() as u16, le, during)?;
            if chunk.is_empty() {
                return Err(CardError::Malformed("file shorter than its header says"));
            }
            buf.extend_from_slice(&chunk);
        }
        buf.truncate(total);
        Ok(buf)
    }

    fn read_chunk(&mut self, offset: u16, le: u16, during: &'static str) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let resp = self.exchange(&commands::read_binary(offset, le))?;
        match resp.sw {
            // 6282: end of file reached before Le bytes; the data is still good.
            SW_OK | 0x6282 => Ok(Zeroizing::new(resp.data)),
            0x6B00 => Err(CardError::Malformed("read past the end of the file")),
            sw => Err(CardError::UnexpectedStatus { sw, during }),
        }
    }

    /// Asks the selected key how many tries are left (VERIFY with no data consumes none).
    /// `None` when the card does not say (e.g. the key is already verified in this session):
    /// callers must then ask before sending a secret, never assume a count.
    pub fn tries_left(&mut self) -> Result<Option<u8>, CardError> {
        let resp = self.exchange(&commands::verify(None))?;
        Ok(match resp.tries_left() {
            Some(n) => Some(n),
            None if resp.is_blocked() => Some(0),
            None => None,
        })
    }
}

fn le_from(sw: u16) -> u16 {
    match sw & 0xFF {
        0 => 256,
        n => n,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ap::{TEXT_AID, jpki, surface};
    use crate::firewall::CheckedApdu;
    use std::collections::VecDeque;

    /// A scripted transport: answers from a queue and records what it was sent.
    #[derive(Debug, Default)]
    pub(crate) struct Scripted {
        pub sent: Vec<Vec<u8>>,
        pub answers: VecDeque<Vec<u8>>,
    }

    impl Scripted {
        pub fn new(answers: &[&str]) -> Self {
            let answers = answers.iter().map(|a| hex::decode(a.replace(' ', "")).unwrap()).collect();
            Self { sent: Vec::new(), answers }
        }
    }

    impl Transport for Scripted {
        fn transmit(&mut self, apdu: CheckedApdu<'_>) -> Result<Vec<u8>, CardError> {
            self.sent.push(apdu.bytes().to_vec());
            self.answers.pop_front().ok_or(CardError::CardRemoved)
        }
    }

    fn hexs(v: &[Vec<u8>]) -> Vec<String> {
        v.iter().map(hex::encode_upper).collect()
    }

    #[test]
    fn follows_61xx_with_get_response() {
        let mut card = at(Ap::Jpki, jpki::AUTH_KEY, &["AABB 61 02", "CCDD 9000"]);
        let r = card.exchange(&commands::compute_signature(&[0; 51])).unwrap();
        assert_eq!(r.data, vec![0xAA, 0xBB, 0xCC, 0xDD]);
        assert!(r.is_ok());
        assert_eq!(hexs(&card.transport().sent)[1], "00C0000002");
        assert_eq!(card.apdu_count(), 2);
    }

    /// A card session whose firewall has seen `SELECT ap` and `SELECT ef` accepted.
    fn at(ap: Ap, ef: u16, answers: &[&str]) -> Card<Scripted> {
        let mut all = vec!["9000", "9000"];
        all.extend_from_slice(answers);
        let mut card = Card::new(Scripted::new(&all));
        assert!(card.select_ap(ap).unwrap());
        card.select_ef(ef, "test").unwrap();
        card.transport_mut().sent.clear();
        card.firewall.observe(&commands::select_ap(ap.aid()).encode().unwrap(), 0x9000);
        card.firewall.observe(&commands::select_ef(ef).encode().unwrap(), 0x9000);
        card.apdus = 0;
        card
    }

    #[test]
    fn resends_with_the_le_a_6cxx_asks_for() {
        let mut card = at(Ap::Jpki, jpki::AUTH_CERT, &["6C04", "01020304 9000"]);
        let r = card.exchange(&commands::read_binary(0, 256)).unwrap();
        assert_eq!(r.data, vec![1, 2, 3, 4]);
        assert_eq!(hexs(&card.transport().sent), vec!["00B0000000", "00B0000004"]);
    }

    #[test]
    fn never_resends_a_pin_on_6cxx() {
        let mut card = at(Ap::Jpki, jpki::AUTH_PIN, &["6C00", "9000"]);
        let r = card.exchange(&commands::verify(Some(b"1234"))).unwrap();
        assert_eq!(r.sw, 0x6C00, "the answer goes to the caller");
        assert_eq!(card.transport().sent.len(), 1, "the PIN went out once");
        // Control: the same answer to a data-less command is followed.
        let mut card = at(Ap::Jpki, jpki::AUTH_PIN, &["6C00", "63C3"]);
        assert_eq!(card.exchange(&commands::verify(None)).unwrap().sw, 0x63C3);
        assert_eq!(card.transport().sent.len(), 2);
    }

    #[test]
    fn reads_a_certificate_in_seven_short_reads() {
        // A 1,590-byte DER certificate: 30 82 06 32 ...
        let mut file = vec![0x30, 0x82, 0x06, 0x32];
        file.resize(1590, 0x5A);
        let mut answers: Vec<String> = Vec::new();
        let mut off = 0;
        let mut le = 256;
        while off < file.len() {
            answers.push(format!("{}9000", hex::encode(&file[off..off + le])));
            off += le;
            le = (file.len() - off).min(256);
        }
        let refs: Vec<&str> = answers.iter().map(String::as_str).collect();
        let mut card = at(Ap::Jpki, jpki::AUTH_CERT, &refs);
        let got = card.read_tlv_file("test").unwrap();
        assert_eq!(*got, file);
        assert_eq!(card.apdu_count(), 7);
        assert_eq!(hexs(&card.transport().sent).last().unwrap(), "00B0060036", "last read is exact");
    }

    #[test]
    fn a_file_shorter_than_its_header_is_an_error_not_a_loop() {
        let mut card = at(Ap::Surface, surface::FACE, &["30820632 9000", "6B00"]);
        assert!(matches!(card.read_tlv_file("test"), Err(CardError::Malformed(_))));
    }

    #[test]
    fn refused_commands_never_reach_the_transport() {
        let mut card = at(Ap::Surface, surface::CODE_B, &["9000"; 8]);
        for fid in [0x0001, 0x0003, 0x0005, 0x0013] {
            assert!(matches!(card.select_ef(fid, "test"), Err(CardError::Refused(_))), "{fid:04X}");
        }
        assert!(matches!(card.exchange(&commands::select_ap(&TEXT_AID)), Err(CardError::Refused(_))));
        assert!(matches!(card.exchange(&commands::read_binary(0, 256)), Err(CardError::Refused(_))));
        assert!(card.transport().sent.is_empty());
        assert_eq!(card.apdu_count(), 0);
    }
}
