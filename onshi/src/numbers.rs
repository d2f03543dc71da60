//! 保険者番号・医療機関コード and their 検証番号 (check digits), and validation of
//! 記号・番号・枝番 (reference §4).
//!
//! The check digit is the MHLW 別添２ algorithm (a Luhn variant): from the rightmost body digit
//! multiply alternately by 2,1,2,1…, add the two digits of any product ≥ 10, sum, and take
//! `(10 − sum mod 10) mod 10`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a number is not acceptable. `Display` is English; [`NumberError::message_ja`] is for users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("{what}: only digits are allowed (got {value:?})")]
    NotDigits { what: &'static str, value: String },
    #[error("{what}: wrong length {len} (expected {expected})")]
    Length { what: &'static str, len: usize, expected: &'static str },
    #[error("{what}: check digit is {got} but should be {expected}")]
    CheckDigit { what: &'static str, got: u8, expected: u8 },
    #[error("{what}: {reason}")]
    Invalid { what: &'static str, reason: &'static str },
}

impl NumberError {
    /// Japanese message that says what to do next.
    pub fn message_ja(&self) -> String {
        match self {
            Self::NotDigits { what, .. } => {
                format!("{}には数字だけを入力してください。", ja_name(what))
            }
            Self::Length { what, len, expected } => format!(
                "{}の桁数が違います（{len}桁。正しくは{expected}桁）。保険証・資格確認書の記載を確認してください。",
                ja_name(what)
            ),
            Self::CheckDigit { what, .. } => {
                format!("{}の検証番号（最後の1桁）が合いません。入力間違いがないか確認してください。", ja_name(what))
            }
            Self::Invalid { what, reason } => {
                format!("{}が正しくありません（{reason}）。記載を確認してください。", ja_name(what))
            }
        }
    }
}

fn ja_name(what: &str) -> &'static str {
    match what {
        "InsurerNumber" => "保険者番号",
        "MedicalInstitutionCode" => "医療機関コード",
        "InsuredCardSymbol" => "記号",
        "InsuredIdentificationNumber" => "番号",
        "InsuredBranchNumber" => "枝番",
        _ => "番号",
    }
}

/// 検証番号 over decimal body digits (each 0..=9).
pub fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let p = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn digits(what: &'static str, s: &str) -> Result<Vec<u8>, NumberError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::NotDigits { what, value: s.to_owned() });
    }
    Ok(s.bytes().map(|b| b - b'0').collect())
}

/// Check digit for a 保険者番号 body: 7 digits (法別2+都道府県2+保険者別3) or 5 digits (国保:
/// 都道府県2+保険者別3).
pub fn insurer_check_digit(body: &str) -> Result<u8, NumberError> {
    let d = digits("InsurerNumber", body)?;
    if d.len() != 7 && d.len() != 5 {
        return Err(NumberError::Length { what: "InsurerNumber", len: d.len(), expected: "7または5（本体）" });
    }
    Ok(check_digit(&d))
}

/// Check digit for a 医療機関コード body of 9 digits.
pub fn institution_check_digit(body: &str) -> Result<u8, NumberError> {
    let d = digits("MedicalInstitutionCode", body)?;
    if d.len() != 9 {
        return Err(NumberError::Length { what: "MedicalInstitutionCode", len: d.len(), expected: "9（本体）" });
    }
    Ok(check_digit(&d))
}

/// 保険者番号, normalised: 8 digits, or 6 digits for 市町村国保 (padding of the 8-char wire
/// field with leading spaces or zeros removed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InsurerNumber(String);

/// How a 6-digit 国保 number is padded to the 8-char wire field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum KokuhoPadding {
    /// "00123456" (what most EMRs send).
    #[default]
    Zeros,
    /// "  123456".
    Spaces,
}

impl InsurerNumber {
    /// Accepts "06130488", "138057" or the padded forms "  138057" / "00138057".
    /// Does not check the check digit (see [`InsurerNumber::validate`]): a terminal's answer
    /// is authoritative even if odd.
    pub fn parse(s: &str) -> Result<Self, NumberError> {
        let t = s.trim_start_matches([' ', '\u{3000}']).trim_end();
        digits("InsurerNumber", t)?;
        let norm = match t.len() {
            6 => t,
            8 if t.starts_with("00") => &t[2..],
            8 => t,
            n => {
                return Err(NumberError::Length { what: "InsurerNumber", len: n, expected: "8（国保は6）" });
            }
        };
        Ok(Self(norm.to_owned()))
    }
    /// The normalised digits (6 or 8).
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// True for a 6-digit 市町村国保 number.
    pub fn is_kokuho(&self) -> bool {
        self.0.len() == 6
    }
    /// 法別番号 (None for 国保).
    pub fn law_number(&self) -> Option<&str> {
        (self.0.len() == 8).then(|| &self.0[..2])
    }
    /// True for 後期高齢者医療 (法別 39).
    pub fn is_late_elderly(&self) -> bool {
        self.law_number() == Some("39")
    }
    /// The 8-char wire form.
    pub fn to_wire(&self, padding: KokuhoPadding) -> String {
        match (self.is_kokuho(), padding) {
            (false, _) => self.0.clone(),
            (true, KokuhoPadding::Zeros) => format!("00{}", self.0),
            (true, KokuhoPadding::Spaces) => format!("  {}", self.0),
        }
    }
    /// Checks the 都道府県番号 and 検証番号.
    pub fn validate(&self) -> Result<(), NumberError> {
        let d = digits("InsurerNumber", &self.0)?;
        let pref_at = if self.is_kokuho() { 0 } else { 2 };
        let pref = d[pref_at] * 10 + d[pref_at + 1];
        if !valid_prefecture(pref) {
            return Err(NumberError::Invalid {
                what: "InsurerNumber",
                reason: "都道府県番号が01〜47・51〜97ではありません",
            });
        }
        let (body, last) = d.split_at(d.len() - 1);
        let expected = check_digit(body);
        if last[0] != expected {
            return Err(NumberError::CheckDigit { what: "InsurerNumber", got: last[0], expected });
        }
        Ok(())
    }
    /// Builds a number from its body (5 or 7 digits) by appending the check digit.
    pub fn from_body(body: &str) -> Result<Self, NumberError> {
        let c = insurer_check_digit(body)?;
        Ok(Self(format!("{body}{c}")))
    }
}

fn valid_prefecture(p: u8) -> bool {
    (1..=47).contains(&p) || (51..=97).contains(&p)
}

impl fmt::Display for InsurerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for InsurerNumber {
    type Error = NumberError;
    fn try_from(s: String) -> Result<Self, NumberError> {
        Self::parse(&s)
    }
}
impl From<InsurerNumber> for String {
    fn from(n: InsurerNumber) -> String {
        n.0
    }
}

/// 医療機関コード (10 digits: 都道府県2 + 点数表1 + 郡市区2 + 医療機関番号4 + 検証1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MedicalInstitutionCode(String);

impl MedicalInstitutionCode {
    /// Accepts exactly 10 digits; the check digit is verified by [`Self::validate`].
    pub fn parse(s: &str) -> Result<Self, NumberError> {
        let t = s.trim();
        digits("MedicalInstitutionCode", t)?;
        if t.len() != 10 {
            return Err(NumberError::Length { what: "MedicalInstitutionCode", len: t.len(), expected: "10" });
        }
        Ok(Self(t.to_owned()))
    }
    /// Parse and validate in one go.
    pub fn parse_valid(s: &str) -> Result<Self, NumberError> {
        let c = Self::parse(s)?;
        c.validate()?;
        Ok(c)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// 点数表番号 (1 医科, 3 歯科, 4 調剤, 6 訪問看護, 2 健診等).
    pub fn score_table(&self) -> u8 {
        self.0.as_bytes()[2] - b'0'
    }
    /// Checks 都道府県, 点数表 and 検証番号.
    pub fn validate(&self) -> Result<(), NumberError> {
        let d = digits("MedicalInstitutionCode", &self.0)?;
        if !valid_prefecture(d[0] * 10 + d[1]) {
            return Err(NumberError::Invalid {
                what: "MedicalInstitutionCode",
                reason: "都道府県番号が01〜47・51〜97ではありません",
            });
        }
        if !matches!(d[2], 1 | 2 | 3 | 4 | 6) {
            return Err(NumberError::Invalid {
                what: "MedicalInstitutionCode",
                reason: "点数表番号が1・2・3・4・6ではありません",
            });
        }
        let expected = check_digit(&d[..9]);
        if d[9] != expected {
            return Err(NumberError::CheckDigit { what: "MedicalInstitutionCode", got: d[9], expected });
        }
        Ok(())
    }
    /// Builds a code from its 9-digit body.
    pub fn from_body(body: &str) -> Result<Self, NumberError> {
        let c = institution_check_digit(body)?;
        Ok(Self(format!("{body}{c}")))
    }
}

impl fmt::Display for MedicalInstitutionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for MedicalInstitutionCode {
    type Error = NumberError;
    fn try_from(s: String) -> Result<Self, NumberError> {
        Self::parse(&s)
    }
}
impl From<MedicalInstitutionCode> for String {
    fn from(n: MedicalInstitutionCode) -> String {
        n.0
    }
}

/// Maximum length we accept for 記号 and 番号 (characters). The interface allows free text;
/// this bound only stops garbage.
pub const MAX_SYMBOL_CHARS: usize = 38;

/// Validates 記号・番号・枝番 against the claim-reception rules of reference §4.
pub fn validate_card_numbers(
    insurer: &InsurerNumber,
    symbol: Option<&str>,
    number: &str,
    branch: Option<&str>,
) -> Result<(), NumberError> {
    let symbol = symbol.map(str::trim).filter(|s| !s.is_empty());
    let number = number.trim();
    for (what, v) in [("InsuredCardSymbol", symbol.unwrap_or("")), ("InsuredIdentificationNumber", number)] {
        if v.chars().count() > MAX_SYMBOL_CHARS {
            return Err(NumberError::Length { what, len: v.chars().count(), expected: "38以下" });
        }
        if v.chars().any(char::is_control) {
            return Err(NumberError::Invalid { what, reason: "制御文字が含まれています" });
        }
    }
    if number.is_empty() {
        return Err(NumberError::Invalid { what: "InsuredIdentificationNumber", reason: "番号が空です" });
    }
    if let Some(b) = branch {
        let b = b.trim();
        if !b.is_empty() {
            digits("InsuredBranchNumber", b)?;
            if b.len() != 2 {
                return Err(NumberError::Length { what: "InsuredBranchNumber", len: b.len(), expected: "2" });
            }
        }
    }
    match insurer.law_number() {
        Some("01") => {
            let s = symbol
                .ok_or(NumberError::Invalid {
                    what: "InsuredCardSymbol", reason: "協会けんぽは記号が必要です"
                })?;
            digits("InsuredCardSymbol", s)?;
            if !(7..=8).contains(&s.len()) {
                return Err(NumberError::Length { what: "InsuredCardSymbol", len: s.len(), expected: "7〜8" });
            }
        }
        Some("06") | Some("63") => {
            if let Some(s) = symbol {
                digits("InsuredCardSymbol", s)?;
            }
        }
        Some("39") => {
            if symbol.is_some() {
                return Err(NumberError::Invalid {
                    what: "InsuredCardSymbol",
                    reason: "後期高齢者医療には記号がありません",
                });
            }
            let d = digits("InsuredIdentificationNumber", number)?;
            if d.len() != 8 {
                return Err(NumberError::Length { what: "InsuredIdentificationNumber", len: d.len(), expected: "8" });
            }
            let expected = check_digit(&d[..7]);
            if d[7] != expected {
                return Err(NumberError::CheckDigit { what: "InsuredIdentificationNumber", got: d[7], expected });
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_from_the_notification() {
        // 別添２: 保険者番号 body 0613048 → 8; 医療機関コード body 341071236 → 2.
        assert_eq!(insurer_check_digit("0613048").unwrap(), 8);
        assert_eq!(institution_check_digit("341071236").unwrap(), 2);
        InsurerNumber::parse("06130488").unwrap().validate().unwrap();
        MedicalInstitutionCode::parse_valid("3410712362").unwrap();
        MedicalInstitutionCode::parse_valid("0110113719").unwrap();
    }

    #[test]
    fn wrong_check_digit_names_the_expected_one() {
        let e = InsurerNumber::parse("06130487").unwrap().validate().unwrap_err();
        assert_eq!(e, NumberError::CheckDigit { what: "InsurerNumber", got: 7, expected: 8 });
        assert!(e.message_ja().contains("検証番号"));
        let e = MedicalInstitutionCode::parse_valid("3410712363").unwrap_err();
        assert!(matches!(e, NumberError::CheckDigit { expected: 2, .. }));
    }

    #[test]
    fn kokuho_six_digits_normalised_from_padding() {
        let body5 = "13805";
        let full = InsurerNumber::from_body(body5).unwrap();
        assert_eq!(full.as_str().len(), 6);
        full.validate().unwrap();
        for wire in [format!("  {full}"), format!("00{full}"), full.to_string(), format!("{full} ")] {
            assert_eq!(InsurerNumber::parse(&wire).unwrap(), full, "{wire:?}");
        }
        assert_eq!(full.to_wire(KokuhoPadding::Zeros), format!("00{full}"));
        assert_eq!(full.to_wire(KokuhoPadding::Spaces), format!("  {full}"));
        assert!(full.is_kokuho());
        assert_eq!(full.law_number(), None);
    }

    #[test]
    fn malformed_numbers_are_clear_errors() {
        assert!(matches!(InsurerNumber::parse("0613A488"), Err(NumberError::NotDigits { .. })));
        assert!(matches!(InsurerNumber::parse("1234567"), Err(NumberError::Length { len: 7, .. })));
        assert!(matches!(InsurerNumber::parse(""), Err(NumberError::NotDigits { .. })));
        assert!(matches!(MedicalInstitutionCode::parse("341071236"), Err(NumberError::Length { .. })));
        // 都道府県 48 is not a prefecture.
        let bad_pref = InsurerNumber::from_body("0648001").unwrap();
        assert!(matches!(bad_pref.validate(), Err(NumberError::Invalid { .. })));
        // 点数表 5 does not exist.
        let bad_table = MedicalInstitutionCode::from_body("135000012").unwrap();
        assert!(matches!(bad_table.validate(), Err(NumberError::Invalid { .. })));
    }

    #[test]
    fn check_digit_catches_every_single_digit_error() {
        let good = "3410712362";
        for pos in 0..10 {
            for d in b'0'..=b'9' {
                let mut s = good.as_bytes().to_vec();
                if s[pos] == d {
                    continue;
                }
                s[pos] = d;
                let s = String::from_utf8(s).unwrap();
                // A wrong digit may also break the prefecture/table rule; either way it is refused.
                assert!(MedicalInstitutionCode::parse_valid(&s).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn card_number_rules() {
        let kenpo = InsurerNumber::from_body("0113001").unwrap();
        validate_card_numbers(&kenpo, Some("1234567"), "89", Some("00")).unwrap();
        assert!(validate_card_numbers(&kenpo, Some("12A4567"), "89", Some("00")).is_err());
        assert!(validate_card_numbers(&kenpo, None, "89", Some("00")).is_err());
        assert!(validate_card_numbers(&kenpo, Some("1234567"), "89", Some("0")).is_err());

        let kouki = InsurerNumber::from_body("3913001").unwrap();
        let num = format!("1234567{}", check_digit(&[1, 2, 3, 4, 5, 6, 7]));
        validate_card_numbers(&kouki, None, &num, None).unwrap();
        assert!(validate_card_numbers(&kouki, Some("あ"), &num, None).is_err());
        assert!(
            matches!(validate_card_numbers(&kouki, None, "12345670", None), Err(NumberError::CheckDigit { .. }))
                || check_digit(&[1, 2, 3, 4, 5, 6, 7]) == 0
        );

        let kokuho = InsurerNumber::from_body("13805").unwrap();
        validate_card_numbers(&kokuho, Some("世田谷あ"), "12-345", Some("01")).unwrap();
        assert!(validate_card_numbers(&kokuho, Some("x"), "", None).is_err());
        assert!(validate_card_numbers(&kokuho, Some("a\u{7}"), "1", None).is_err());
    }
}
