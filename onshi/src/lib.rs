//! オンライン資格確認 (online qualification confirmation) domain.
//!
//! Filled by the qualification issue: result and consent types, the 資格確認端末 XML codec,
//! check digits, the continuing-consent rules and a simulator of the national side.
//! Must never: do I/O outside the simulator and file bridge, or touch the 個人番号.
