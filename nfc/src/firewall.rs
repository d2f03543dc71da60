//! The APDU firewall: the lowest layer, through which every command must pass before any
//! transport can see it (ARCHITECTURE.md, *Never the 個人番号*).
//!
//! A [`Transport`](crate::Transport) only accepts a [`CheckedApdu`], and only [`check`] can
//! make one, so no code path can send an unchecked command. The rules are an allow-list of
//! the commands this app needs plus a deny-list of the files that hold the 個人番号:
//!
//! - SELECT only by AID (`P1=04`) or by EF id under the current AP (`P1=02`); never EF `0001`
//!   (text AP: the 個人番号; JPKI: the 署名用 certificate with the 基本4情報, also not needed),
//!   `0005` (券面AP: the 個人番号 image), `0013`/`0014` (照合番号A in the 券面/text AP).
//!   The check is the same in every AP, so it cannot be fooled by a SELECT the card refused.
//! - VERIFY only of the currently selected key (`P2=80`), so 照合番号A is unreachable.
//! - READ BINARY only by offset, never by short file identifier.
//! - COMPUTE DIGITAL SIGNATURE (`80 2A 00 80`) and GET RESPONSE; nothing else.

use crate::CardError;
use crate::apdu::Header;

/// EF ids that hold or unlock the 個人番号, refused in every application.
pub const DENIED_EF_IDS: [u16; 4] = [0x0001, 0x0005, 0x0013, 0x0014];

/// A command APDU that passed [`check`]. Only this module can construct one.
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

/// Checks one encoded command against the rules above.
pub fn check(apdu: &[u8]) -> Result<CheckedApdu<'_>, CardError> {
    let h = Header::parse(apdu).ok_or(CardError::Refused("not a well-formed short APDU"))?;
    match (h.cla, h.ins) {
        (0x00, 0xA4) => match h.p1 {
            0x04 if !h.data.is_empty() => {}
            0x02 => {
                let fid = <[u8; 2]>::try_from(h.data)
                    .map(u16::from_be_bytes)
                    .map_err(|_| CardError::Refused("SELECT EF needs a 2-byte file id"))?;
                if DENIED_EF_IDS.contains(&fid) {
                    return Err(CardError::Refused("SELECT of a file that holds the 個人番号"));
                }
            }
            _ => return Err(CardError::Refused("SELECT only by AID or by EF id")),
        },
        (0x00, 0xB0) if h.p1 & 0x80 == 0 => {}
        (0x00, 0xB0) => return Err(CardError::Refused("READ BINARY by short file id")),
        (0x00, 0x20) if h.p1 == 0x00 && h.p2 == 0x80 => {}
        (0x00, 0x20) => {
            return Err(CardError::Refused("VERIFY of a key other than the selected one"));
        }
        (0x80, 0x2A) if h.p1 == 0x00 && h.p2 == 0x80 => {}
        (0x00, 0xC0) => {}
        _ => return Err(CardError::Refused("command not needed by this app")),
    }
    Ok(CheckedApdu(apdu))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ap::{SURFACE_AID, TEXT_AID};
    use crate::apdu::Command;
    use crate::apdu::commands::*;

    fn allowed(cmd: &Command) -> bool {
        check(&cmd.encode().unwrap()).is_ok()
    }

    #[test]
    fn allows_what_the_app_needs() {
        assert!(allowed(&select_ap(&TEXT_AID)));
        assert!(allowed(&select_ef(0x000A)));
        assert!(allowed(&select_ef(0x0012)));
        assert!(allowed(&read_binary(0x0700, 256)));
        assert!(allowed(&verify(None)));
        assert!(allowed(&verify(Some(b"1234"))));
        assert!(allowed(&compute_signature(&[0; 51])));
        assert!(allowed(&get_response(256)));
    }

    #[test]
    fn refuses_every_route_to_the_individual_number() {
        // SELECT text EF 0001 / 券面 EF 0005, and the 照合番号A key EFs.
        for fid in DENIED_EF_IDS {
            assert!(!allowed(&select_ef(fid)), "EF {fid:04X}");
        }
        // The same files by short file id, by path, or by FID with P1=00.
        assert!(check(&[0x00, 0xB0, 0x81, 0x00, 0x00]).is_err(), "READ BINARY SFI 01");
        assert!(check(&[0x00, 0xB0, 0x85, 0x00, 0x00]).is_err(), "READ BINARY SFI 05");
        assert!(check(&[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x00, 0x01]).is_err());
        assert!(check(&[0x00, 0xA4, 0x08, 0x0C, 0x02, 0x00, 0x01]).is_err());
        // VERIFY 照合番号A by SFI (text 0014, 券面 0013).
        let code_a =
            [0x00, 0x20, 0x00, 0x94, 0x0C, b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'0', b'1', b'2'];
        assert!(check(&code_a).is_err());
        assert!(check(&[0x00, 0x20, 0x00, 0x93]).is_err());
        // Anything else: CHANGE REFERENCE DATA, GET DATA, secure messaging, garbage.
        assert!(check(&[0x00, 0x24, 0x01, 0x80, 0x04, 1, 2, 3, 4]).is_err());
        assert!(check(&[0x00, 0xCA, 0x01, 0x00, 0x00]).is_err());
        assert!(check(&[0x0C, 0xB0, 0x00, 0x00, 0x00]).is_err());
        assert!(check(&[0x00]).is_err());
        let _ = SURFACE_AID;
    }
}
