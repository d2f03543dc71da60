//! Code tables of the 資格確認端末 interface (別紙5-1 業務コード as rebuilt in the reference, §1).
//!
//! Every table is an enum with its wire code and a Japanese label (English for the second
//! language). Parsing an unknown code is an error that names the table, never a silent default.

use serde::{Deserialize, Serialize};

/// A value from one of the interface's code tables.
pub trait CodeTable: Sized + Copy + 'static {
    /// Name of the table (the XML element it usually appears in).
    const TABLE: &'static str;
    /// Every value, in code order.
    const ALL: &'static [Self];
    /// The code as written on the wire.
    fn code(self) -> &'static str;
    /// 日本語の表示名.
    fn label_ja(self) -> &'static str;
    /// English label.
    fn label_en(self) -> &'static str;
    /// Look a wire code up (surrounding spaces are ignored).
    fn from_code(code: &str) -> Option<Self> {
        let code = code.trim();
        Self::ALL.iter().copied().find(|v| v.code() == code)
    }
}

macro_rules! code_table {
    ($(#[$m:meta])* $name:ident, $table:literal { $($(#[$vm:meta])* $var:ident = $code:literal, $ja:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $var,)+ }

        impl CodeTable for $name {
            const TABLE: &'static str = $table;
            const ALL: &'static [Self] = &[$(Self::$var,)+];
            fn code(self) -> &'static str { match self { $(Self::$var => $code,)+ } }
            fn label_ja(self) -> &'static str { match self { $(Self::$var => $ja,)+ } }
            fn label_en(self) -> &'static str { match self { $(Self::$var => $en,)+ } }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} {}", self.code(), self.label_ja())
            }
        }

        // Serialised as the wire code so JSON stays stable across label edits.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::from_code(&s).ok_or_else(|| serde::de::Error::custom(format!(
                    "unknown code {s:?} for {}", $table)))
            }
        }
    };
}

code_table!(
    /// 照会区分 — how the person was identified.
    ReferenceClassification, "ReferenceClassification" {
        MyNumberCard = "1", "マイナンバーカード", "My Number Card";
        InsuranceNumbers = "2", "被保険者証情報", "insurance card numbers";
    }
);

code_table!(
    /// 処理結果区分 of a message header.
    SegmentOfResult, "SegmentOfResult" {
        Completed = "1", "正常終了", "completed";
        InProgress = "2", "処理中", "in progress";
        Failed = "9", "異常終了", "failed";
    }
);

code_table!(
    /// 文字コード識別.
    CharacterCodeIdentifier, "CharacterCodeIdentifier" {
        Utf8 = "0", "UTF-8", "UTF-8";
        ShiftJis = "1", "Shift_JIS", "Shift_JIS";
    }
);

code_table!(
    /// 処理結果状況 (OQSCD004).
    ProcessingResultStatus, "ProcessingResultStatus" {
        Normal = "1", "正常終了", "normal";
        Error = "2", "エラー", "error";
    }
);

code_table!(
    /// 資格有効性 (OQSCD006).
    QualificationValidity, "QualificationValidity" {
        Valid = "1", "有効", "valid";
        Invalid = "2", "無効", "invalid";
        InvalidNewerExists = "3", "無効（新しい資格あり）", "invalid (a newer qualification exists)";
        NotFound = "4", "該当資格なし", "no matching qualification";
        MultipleMatches = "5", "複数該当", "several matches";
        ValidUnregistered = "6", "有効（未登録）", "valid (not registered; 医療扶助 only)";
    }
);

code_table!(
    /// 処方箋発行形態 chosen by the patient.
    PrescriptionIssueSelect, "PrescriptionIssueSelect" {
        Electronic = "1", "電子処方箋", "electronic prescription";
        Paper = "2", "紙の処方箋", "paper prescription";
    }
);

code_table!(
    /// 被保険者証区分.
    InsuredCardClassification, "InsuredCardClassification" {
        General = "01", "被保険者証（一般）", "insurance card (general)";
        Retired = "02", "被保険者証（退職）", "insurance card (retired)";
        ShortTermGeneral = "03", "短期被保険者証（一般）", "short-term card (general)";
        ShortTermRetired = "04", "短期被保険者証（退職）", "short-term card (retired)";
        QualificationCertificate = "05", "被保険者資格証明書", "qualification certificate";
        SpecialRetired = "06", "特例退職被保険者証", "special retired card";
        SelfDefenseForces = "07", "自衛官診療証", "SDF medical card";
        MedicalAid = "A1", "医療券等", "medical aid ticket";
    }
);

code_table!(
    /// 本人・家族の別.
    PersonalFamilyClassification, "PersonalFamilyClassification" {
        Insured = "1", "本人", "insured person";
        Dependent = "2", "家族", "dependent";
    }
);

code_table!(
    /// 性別 (Sex1 / Sex2).
    Sex, "Sex1" {
        Male = "1", "男", "male";
        Female = "2", "女", "female";
        Unset = "3", "未設定", "not set";
    }
);

code_table!(
    /// 未就学区分.
    PreschoolClassification, "PreschoolClassification" {
        Preschool = "1", "未就学者", "preschool child";
    }
);

code_table!(
    /// 資格喪失事由.
    ReasonOfLoss, "ReasonOfLoss" {
        Death = "01", "死亡", "death";
        PublicAssistance = "02", "生活保護受給開始", "public assistance began";
        OtherInsurance = "03", "医療保険等の資格取得", "joined other insurance";
        Other = "99", "その他", "other";
    }
);

code_table!(
    /// 同意フラグ (OQSCD016). 2 is set only by the 訪問診療等・オンライン診療等 interfaces,
    /// 3 only by 救急.
    ConsentFlag, "ConsFlg" {
        NotConsented = "0", "同意なし", "no consent";
        Consented = "1", "同意あり", "consented";
        Expired = "2", "同意有効期限切れ", "consent expired";
        HardToObtain = "3", "同意取得困難", "consent could not be obtained (emergency)";
    }
);

code_table!(
    /// 限度額適用認定証 区分.
    LimitApplicationClassification, "LimitApplicationCertificateClassification" {
        LimitApplication = "01", "限度額適用", "high-cost limit";
        LimitAndStandardReduction = "02", "限度額適用・標準負担額減額", "limit and standard meal-cost reduction";
        StandardReduction = "03", "標準負担額減額", "standard meal-cost reduction";
    }
);

code_table!(
    /// 限度額適用認定証 適用区分 (所得区分).
    LimitClassificationFlag, "LimitApplicationCertificateClassificationFlag" {
        A01 = "A01", "ア", "a (highest income)";
        A02 = "A02", "イ", "i";
        A03 = "A03", "ウ", "u";
        A04 = "A04", "エ", "e";
        A05 = "A05", "オ", "o (tax-exempt)";
        A06 = "A06", "オ（境）", "o (borderline)";
        B01 = "B01", "現役並みⅢ", "working-level III";
        B02 = "B02", "現役並みⅡ", "working-level II";
        B03 = "B03", "現役並みⅠ", "working-level I";
        B04 = "B04", "一般", "general";
        B05 = "B05", "低所得Ⅱ", "low income II";
        B06 = "B06", "低所得Ⅰ", "low income I";
        B07 = "B07", "低所得Ⅰ（老福）", "low income I (old-age welfare)";
        B08 = "B08", "低所得Ⅰ（境）", "low income I (borderline)";
        B09 = "B09", "一般Ⅱ", "general II";
        B10 = "B10", "一般Ⅰ", "general I";
    }
);

code_table!(
    /// 特定疾病 (特定疾病療養受療証) 区分.
    SpecificDiseaseCategory, "DiseaseCategory" {
        ChronicRenalFailureDialysis = "1", "人工透析を要する慢性腎不全", "chronic renal failure on dialysis";
        CongenitalCoagulationDisorder = "2", "先天性血液凝固因子障害", "congenital coagulation factor disorder";
        BloodProductHiv = "3", "血液製剤の投与に起因するHIV感染症", "HIV from blood products";
    }
);

code_table!(
    /// 診療区分 of 薬剤/健診/訪問 requests.
    MedicalTreatmentFlag, "MedicalTreatmentFlag" {
        Outpatient = "1", "通常", "ordinary";
        HomeVisit = "2", "訪問診療等", "home-visit care";
        Online = "3", "オンライン診療等", "online care";
    }
);

/// 一部負担金割合 as the 3-digit percentage of the wire ("010" = 1割, "030" = 3割).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContributionRatio(pub u8);

impl ContributionRatio {
    /// Parse "010", "020", "030" (any 1–3 digit percent 0..=100).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u8 = s.parse().ok()?;
        (v <= 100).then_some(Self(v))
    }
    /// Wire form, zero-padded to 3 digits.
    pub fn code(self) -> String {
        format!("{:03}", self.0)
    }
    /// "3割" style label (or "15%" when not a whole 割).
    pub fn label_ja(self) -> String {
        if self.0.is_multiple_of(10) { format!("{}割", self.0 / 10) } else { format!("{}%", self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_table<T: CodeTable + std::fmt::Debug + PartialEq>() {
        let mut seen = std::collections::HashSet::new();
        for &v in T::ALL {
            assert!(seen.insert(v.code()), "{} has duplicate code {}", T::TABLE, v.code());
            assert_eq!(T::from_code(v.code()), Some(v));
            assert!(!v.label_ja().is_empty() && !v.label_en().is_empty());
        }
        assert_eq!(T::from_code("ZZ"), None);
    }

    #[test]
    fn every_table_round_trips_and_has_labels() {
        check_table::<ReferenceClassification>();
        check_table::<SegmentOfResult>();
        check_table::<CharacterCodeIdentifier>();
        check_table::<ProcessingResultStatus>();
        check_table::<QualificationValidity>();
        check_table::<PrescriptionIssueSelect>();
        check_table::<InsuredCardClassification>();
        check_table::<PersonalFamilyClassification>();
        check_table::<Sex>();
        check_table::<PreschoolClassification>();
        check_table::<ReasonOfLoss>();
        check_table::<ConsentFlag>();
        check_table::<LimitApplicationClassification>();
        check_table::<LimitClassificationFlag>();
        check_table::<SpecificDiseaseCategory>();
        check_table::<MedicalTreatmentFlag>();
    }

    #[test]
    fn labels_match_the_interface_tables() {
        assert_eq!(QualificationValidity::from_code("5").unwrap().label_ja(), "複数該当");
        assert_eq!(ConsentFlag::from_code("2").unwrap().label_ja(), "同意有効期限切れ");
        assert_eq!(LimitClassificationFlag::B01.label_ja(), "現役並みⅢ");
        assert_eq!(InsuredCardClassification::from_code(" 01 "), Some(InsuredCardClassification::General));
        assert_eq!(format!("{}", Sex::Female), "2 女");
    }

    #[test]
    fn codes_serialise_as_wire_codes() {
        assert_eq!(serde_json::to_string(&QualificationValidity::Valid).unwrap(), "\"1\"");
        let v: ConsentFlag = serde_json::from_str("\"2\"").unwrap();
        assert_eq!(v, ConsentFlag::Expired);
        assert!(serde_json::from_str::<ConsentFlag>("\"7\"").is_err());
    }

    #[test]
    fn contribution_ratio() {
        assert_eq!(ContributionRatio::parse("030"), Some(ContributionRatio(30)));
        assert_eq!(ContributionRatio(10).code(), "010");
        assert_eq!(ContributionRatio(30).label_ja(), "3割");
        assert_eq!(ContributionRatio::parse("101"), None);
        assert_eq!(ContributionRatio::parse("-1"), None);
    }
}
