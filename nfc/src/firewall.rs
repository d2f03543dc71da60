//! The APDU firewall: the lowest layer, through which every command must pass before any
//! transport can see it (ARCHITECTURE.md, *Never the 個人番号*).
//!
//! A [`Transport`](crate::Transport) only accepts a [`CheckedApdu`], and only
//! [`Firewall::check`] can make one, so no code path can send an unchecked command. The rules
//! are an allow-list that knows which application is selected:
//!
//! | selected | SELECT EF | READ BINARY | VERIFY | COMPUTE DIGITAL SIGNATURE |
//! |---|---|---|---|---|
//! | nothing | — | — | — | — |
//! | JPKI AP | `000A` `000B` `0018` `0017` | `000A` 利用者証明用 cert, `000B` its CA cert | `0018` 利用者証明用 PIN | `0017` 利用者証明用 key |
//! | 券面AP | `0002` `0012` | `0002` card face | `0012` 照合番号B | — |
//!
//! SELECT by AID reaches only those two applications: the 券面事項入力補助AP (text AP, whose
//! EF 0003 holds digests over the 個人番号 that open with the PIN or 照合番号B) and every other
//! AID are refused by AID before any transport. Everything else is refused too: SELECT by path
//! or with FCI, READ BINARY by short file id, VERIFY of any key but the selected one (so
//! 照合番号A, `0013`, is unreachable), the 署名用 certificate and key, and every other
//! instruction except GET RESPONSE.
//!
//! Because no firewall ever lets a SELECT of another file or AID through, what the card has
//! selected is always one of the rows above, whatever state a firewall believes; the state
//! only narrows further which command may follow which. When unsure (a refused SELECT, an
//! error) the firewall forgets the selection and allows less, never more.

use crate::CardError;
use crate::ap::{JPKI_AID, SURFACE_AID, jpki, surface};
use crate::apdu::Header;

/// An application this app may select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ap {
    /// 公的個人認証 (JPKI) AP: the 利用者証明用 certificate, PIN and key.
    Jpki,
    /// 券面事項確認AP (券面AP): the card face photo, opened with 照合番号B.
    Surface,
}

impl Ap {
    pub fn aid(self) -> &'static [u8] {
        match self {
            Ap::Jpki => &JPKI_AID,
            Ap::Surface => &SURFACE_AID,
        }
    }

    fn from_aid(aid: &[u8]) -> Option<Self> {
        [Ap::Jpki, Ap::Surface].into_iter().find(|ap| ap.aid() == aid)
    }
}

/// What may be done with an allowed EF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Read,
    Verify,
    Sign,
}

/// The allow-list: every EF this app may select, per application, and its one use.
const ALLOWED_EFS: [(Ap, u16, Use); 6] = [
    (Ap::Jpki, jpki::AUTH_CERT, Use::Read),
    (Ap::Jpki, jpki::AUTH_CA_CERT, Use::Read),
    (Ap::Jpki, jpki::AUTH_PIN, Use::Verify),
    (Ap::Jpki, jpki::AUTH_KEY, Use::Sign),
    (Ap::Surface, surface::FACE, Use::Read),
    (Ap::Surface, surface::CODE_B, Use::Verify),
];

fn use_of(ap: Ap, fid: u16) -> Option<Use> {
    ALLOWED_EFS.iter().find(|(a, f, _)| *a == ap && *f == fid).map(|(_, _, u)| *u)
}

/// A command APDU that passed [`Firewall::check`]. Only this module can construct one.
#[derive(Clone, Copy)]
pub struct CheckedApdu<'a>(&'a [u8]);

impl<'a> CheckedApdu<'a> {
    /// The encoded command, for the transport to send.
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl std::fmt::Debug for CheckedApdu<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the body: it may be a PIN.
        write!(f, "CheckedApdu({} bytes)", self.0.len())
    }
}

/// The firewall of one card session: the rules above plus what the card has selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Firewall {
    ap: Option<Ap>,
    ef: Option<u16>,
}

impl Firewall {
    pub fn new() -> Self {
        Self::default()
    }

    /// The application and EF the card has selected, as far as this session knows.
    pub fn selected(&self) -> (Option<Ap>, Option<u16>) {
        (self.ap, self.ef)
    }

    /// Forgets the selection (a reset, a command sent around this session).
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    /// Checks one encoded command against the rules and the current selection.
    pub fn check<'a>(&self, apdu: &'a [u8]) -> Result<CheckedApdu<'a>, CardError> {
        let h = Header::parse(apdu).ok_or(CardError::Refused("not a well-formed short APDU"))?;
        let current = self.ap.zip(self.ef).and_then(|(ap, ef)| use_of(ap, ef));
        match (h.cla, h.ins) {
            (0x00, 0xA4) => {
                if h.p2 != 0x0C {
                    return Err(CardError::Refused("SELECT only without FCI (P2=0C)"));
                }
                match h.p1 {
                    0x04 if Ap::from_aid(h.data).is_some() => {}
                    0x04 => return Err(CardError::Refused("SELECT of an application this app does not use")),
                    0x02 => {
                        let fid = <[u8; 2]>::try_from(h.data)
                            .map(u16::from_be_bytes)
                            .map_err(|_| CardError::Refused("SELECT EF needs a 2-byte file id"))?;
                        let Some(ap) = self.ap else {
                            return Err(CardError::Refused("SELECT EF before an application is selected"));
                        };
                        if use_of(ap, fid).is_none() {
                            return Err(CardError::Refused("SELECT of a file this app does not use"));
                        }
                    }
                    _ => return Err(CardError::Refused("SELECT only by AID or by EF id")),
                }
            }
            (0x00, 0xB0) if h.p1 & 0x80 != 0 => return Err(CardError::Refused("READ BINARY by short file id")),
            (0x00, 0xB0) if current == Some(Use::Read) && h.data.is_empty() => {}
            (0x00, 0xB0) => return Err(CardError::Refused("READ BINARY of a file that is not to be read")),
            (0x00, 0x20) if h.p1 == 0x00 && h.p2 == 0x80 && current == Some(Use::Verify) => {}
            (0x00, 0x20) => return Err(CardError::Refused("VERIFY of a key other than the selected PIN")),
            (0x80, 0x2A) if h.p1 == 0x00 && h.p2 == 0x80 && current == Some(Use::Sign) => {}
            (0x80, 0x2A) => return Err(CardError::Refused("signing with a key other than the 利用者証明用 key")),
            (0x00, 0xC0) if h.p1 == 0 && h.p2 == 0 && h.data.is_empty() => {}
            _ => return Err(CardError::Refused("command not needed by this app")),
        }
        Ok(CheckedApdu(apdu))
    }

    /// Learns from the card's answer to a command that passed [`Firewall::check`].
    pub fn observe(&mut self, apdu: &[u8], sw: u16) {
        let Some(h) = Header::parse(apdu) else {
            return self.forget();
        };
        if (h.cla, h.ins) != (0x00, 0xA4) {
            return;
        }
        let ok = sw == 0x9000;
        match h.p1 {
            0x04 => {
                self.ap = Ap::from_aid(h.data).filter(|_| ok);
                self.ef = None;
            }
            _ => self.ef = <[u8; 2]>::try_from(h.data).ok().map(u16::from_be_bytes).filter(|_| ok),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ap::TEXT_AID;
    use crate::apdu::commands::*;

    /// A firewall that has seen the card accept `SELECT ap` and, if given, `SELECT ef`.
    fn at(ap: Option<Ap>, ef: Option<u16>) -> Firewall {
        let mut fw = Firewall::new();
        if let Some(ap) = ap {
            fw.observe(&select_ap(ap.aid()).encode().unwrap(), 0x9000);
        }
        if let Some(ef) = ef {
            fw.observe(&select_ef(ef).encode().unwrap(), 0x9000);
        }
        fw
    }

    fn allowed(fw: &Firewall, apdu: &[u8]) -> bool {
        fw.check(apdu).is_ok()
    }

    fn enc(cmd: crate::apdu::Command) -> Vec<u8> {
        cmd.encode().unwrap().to_vec()
    }

    #[test]
    fn allows_exactly_what_the_app_needs() {
        assert!(allowed(&at(None, None), &enc(select_ap(&JPKI_AID))));
        assert!(allowed(&at(None, None), &enc(select_ap(&SURFACE_AID))));
        for (ap, fid, u) in ALLOWED_EFS {
            assert!(allowed(&at(Some(ap), None), &enc(select_ef(fid))), "{ap:?} {fid:04X}");
            let fw = at(Some(ap), Some(fid));
            assert_eq!(allowed(&fw, &enc(read_binary(0x0100, 256))), u == Use::Read, "{fid:04X}");
            assert_eq!(allowed(&fw, &enc(verify(None))), u == Use::Verify, "{fid:04X}");
            assert_eq!(allowed(&fw, &enc(verify(Some(b"1234")))), u == Use::Verify, "{fid:04X}");
            assert_eq!(allowed(&fw, &enc(compute_signature(&[0; 51]))), u == Use::Sign, "{fid:04X}");
            assert!(allowed(&fw, &enc(get_response(256))));
        }
    }

    #[test]
    fn the_text_ap_is_refused_by_aid_and_no_other_aid_passes() {
        for fw in [at(None, None), at(Some(Ap::Jpki), None), at(Some(Ap::Surface), Some(surface::FACE))] {
            assert!(!allowed(&fw, &enc(select_ap(&TEXT_AID))));
            // Every AID of the card's family but the two, and prefixes of allowed ones.
            for last in 0..=0xFFu8 {
                let mut aid = TEXT_AID;
                aid[9] = last;
                assert_eq!(allowed(&fw, &enc(select_ap(&aid))), aid == SURFACE_AID, "{aid:02X?}");
            }
            assert!(!allowed(&fw, &enc(select_ap(&JPKI_AID[..9]))));
            assert!(!allowed(&fw, &enc(select_ap(&[0xA0, 0, 0, 0, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35]))));
        }
    }

    #[test]
    fn every_other_ef_is_refused_in_every_application() {
        for ap in [None, Some(Ap::Jpki), Some(Ap::Surface)] {
            let fw = at(ap, None);
            for fid in 0..=0xFFFFu16 {
                let expected = ap.is_some_and(|ap| use_of(ap, fid).is_some());
                assert_eq!(allowed(&fw, &enc(select_ef(fid))), expected, "{ap:?} {fid:04X}");
            }
        }
        // The files that hold or unlock the 個人番号, and the 署名用 certificate, key and password.
        let jpki = at(Some(Ap::Jpki), None);
        let face = at(Some(Ap::Surface), None);
        for fid in [0x0001, 0x0002, 0x0006, 0x001A, 0x001B] {
            assert!(!allowed(&jpki, &enc(select_ef(fid))), "JPKI {fid:04X}");
        }
        for fid in [0x0001, 0x0003, 0x0005, 0x0011, 0x0013] {
            assert!(!allowed(&face, &enc(select_ef(fid))), "券面 {fid:04X}");
        }
    }

    #[test]
    fn a_refused_select_leaves_the_firewall_allowing_less() {
        let mut fw = at(Some(Ap::Surface), Some(surface::FACE));
        fw.observe(&enc(select_ef(surface::CODE_B)), 0x6A82);
        assert!(!allowed(&fw, &enc(read_binary(0, 256))), "not sure the face is still selected");
        assert!(!allowed(&fw, &enc(verify(None))));
        fw.observe(&enc(select_ap(&JPKI_AID)), 0x6A82);
        assert_eq!(fw.selected(), (None, None));
        assert!(!allowed(&fw, &enc(select_ef(jpki::AUTH_CERT))));
    }

    #[test]
    fn refuses_other_forms_of_the_allowed_commands() {
        let face = at(Some(Ap::Surface), Some(surface::FACE));
        let pin = at(Some(Ap::Jpki), Some(jpki::AUTH_PIN));
        // SELECT with FCI, by path, by FID with P1=00, of the MF.
        assert!(!allowed(&face, &[0x00, 0xA4, 0x02, 0x00, 0x02, 0x00, 0x02]));
        assert!(!allowed(&face, &[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x00, 0x02]));
        assert!(!allowed(&face, &[0x00, 0xA4, 0x08, 0x0C, 0x02, 0x00, 0x05]));
        assert!(!allowed(&face, &[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00]));
        // READ BINARY by short file id (券面 0005: SFI 05).
        assert!(!allowed(&face, &[0x00, 0xB0, 0x85, 0x00, 0x00]));
        // VERIFY 照合番号A by SFI, or another key than the selected one.
        let code_a =
            [0x00, 0x20, 0x00, 0x93, 0x0C, b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'0', b'1', b'2'];
        assert!(!allowed(&face, &code_a));
        assert!(!allowed(&pin, &[0x00, 0x20, 0x00, 0x81, 0x04, b'1', b'2', b'3', b'4']));
        // CHANGE REFERENCE DATA, RESET RETRY COUNTER, GET DATA, secure messaging, garbage.
        assert!(!allowed(&pin, &[0x00, 0x24, 0x01, 0x80, 0x04, 1, 2, 3, 4]));
        assert!(!allowed(&pin, &[0x00, 0x2C, 0x03, 0x80]));
        assert!(!allowed(&pin, &[0x00, 0xCA, 0x01, 0x00, 0x00]));
        assert!(!allowed(&face, &[0x0C, 0xB0, 0x00, 0x00, 0x00]));
        assert!(!allowed(&face, &[0x00]));
        assert!(!allowed(&face, &[0x00, 0xC0, 0x01, 0x00, 0x00]));
    }
}
