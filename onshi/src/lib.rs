//! `houmon-onshi`: the オンライン資格確認 (online qualification confirmation) domain for Houmon
//! (ARCHITECTURE.md, *First visit (居宅同意取得型)*, *Later visits (再照会)*, *Qualification
//! travels over sync*).
//!
//! - [`codes`]: the interface's code tables with Japanese labels.
//! - [`types`]: request/result types modelled on the 資格確認端末 XML.
//! - [`xml`]: parse/write that XML (UTF-8 and Shift_JIS).
//! - [`numbers`]: 保険者番号・医療機関コード check digits, 記号・番号・枝番 validation.
//! - [`consent`]: the 居宅同意取得型 continuing-consent rules (pure functions over JST dates).
//! - [`digest`]: the canonical consent digest the card signs at a first visit.
//! - [`sim`]: a deterministic simulator of the national side (demo, training, tests).
//! - [`bridge`]: the file interface to a clinic's 資格確認端末, and a terminal emulator.
//! - [`source`]: simulator or terminal behind one type, for the gateway.
//! - [`outcome`]: an answer read as one clear outcome (valid, consent expired, …).
//!
//! Must never: model, read or store a 個人番号; log patient data or PINs; do I/O outside
//! the simulator's optional fixture loading and the file bridge.

pub mod bridge;
pub mod clock;
pub mod codes;
pub mod consent;
pub mod digest;
pub mod kana;
pub mod numbers;
pub mod outcome;
pub mod sim;
pub mod source;
pub mod types;
pub mod xml;

pub use codes::CodeTable;
pub use numbers::{InsurerNumber, MedicalInstitutionCode, NumberError};
pub use types::*;
pub use xml::{XmlEncoding, XmlError, parse, write};
