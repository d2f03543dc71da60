//! `houmon-nfc`: card I/O for the マイナンバーカード (ARCHITECTURE.md, *Never the 個人番号*,
//! *PIN safety*), in layers:
//!
//! transport ([`Transport`]: [`PcscReader`], [`VirtualTransport`]; [`vpcd`] serves the
//! virtual card to pcscd; a mobile NFC plugin is the one missing, see README) → [`firewall`]
//! (the allow-list per selected application; only it makes the [`firewall::CheckedApdu`] a
//! transport accepts) → [`apdu`] codec → [`Card`] (GET RESPONSE, resend, file reads) →
//! applications ([`jpki`], the 券面AP photo and its issuer signature) → flows
//! ([`jpki::pin_mode_sign`]).
//!
//! Must never: reach the 個人番号 by any route (the text AP, 券面 EF 0005, 照合番号A — enforced
//! by the firewall's allow-list, not by convention); store, log or print a PIN or 照合番号B;
//! send a PIN twice for one user action or retry one by itself.
//! Knows nothing of patients or storage. The synthetic cards (and their private keys), the
//! virtual card and vpcd exist only with the `virtual-card` feature (training, tests), never in a
//! production build.

pub mod ap;
pub mod apdu;
mod card;
mod error;
pub mod firewall;
#[cfg(feature = "virtual-card")]
mod holders;
pub mod jpki;
mod pcsc_reader;
mod photo;
mod secret;
mod surface;
pub mod tlv;
#[cfg(feature = "virtual-card")]
pub mod virtual_card;
#[cfg(feature = "virtual-card")]
pub mod vpcd;

pub use card::Card;
pub use error::{CardError, CardErrorCode};
#[cfg(feature = "virtual-card")]
pub use holders::{
    CardMaterial, DEMO_HOLDER, SyntheticCardHolder, TEST_CA_CERT, synthetic_card, synthetic_face_issuer_spki,
    synthetic_face_issuers, synthetic_holders, wareki_yymmdd,
};
pub use pcsc_reader::{PcscReader, list_readers, reader_has_card};
pub use photo::{FacePhoto, jpeg2000_to_png};
pub use secret::{AuthPin, VerificationCodeB};
pub use surface::{CardFacePhoto, FaceAuthenticity, FaceIssuers};
pub use transport::Transport;
#[cfg(feature = "virtual-card")]
pub use virtual_card::{VirtualCard, VirtualTransport};

mod transport;
