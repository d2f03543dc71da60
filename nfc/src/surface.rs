//! The 券面事項確認 AP (card face), opened with 照合番号B, for the face photo used in 目視確認.
//! Only the photo leaves this module; the rest of the face file (name, address, birth date
//! images) is discarded and zeroized. 照合番号A and EF 0005 are fenced off by the firewall.

use crate::ap::{SURFACE_AID, surface};
use crate::apdu::commands;
use crate::photo::{FacePhoto, jpeg2000_to_png};
use crate::{Card, CardError, Transport, VerificationCodeB, tlv};

/// Tag of the face file's outer template and of the photo inside it.
const FACE_TEMPLATE: u32 = 0xFF20;
const PHOTO: u32 = 0xDF27;

impl<T: Transport> Card<T> {
    /// Opens the 券面AP with 照合番号B and returns the face photo as PNG.
    pub fn read_face_photo(&mut self, code_b: &VerificationCodeB) -> Result<FacePhoto, CardError> {
        if !self.select_ap(&SURFACE_AID)? {
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
        for item in tlv::children(body) {
            let (tag, value) = item?;
            if tag == PHOTO {
                return jpeg2000_to_png(value);
            }
        }
        Err(CardError::Malformed("card face file has no photo"))
    }
}
