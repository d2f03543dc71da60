//! Qualification request and result types, modelled on the 資格確認端末 XML (reference §1).
//!
//! Field names follow the XML element names (snake_case). Every field is optional because
//! real terminals omit what does not apply; absence is not an error at this layer.
//! Dates and times are Japan local time (JST, UTC+9, no daylight saving) as on the wire.
//!
//! Versioning: the 閲覧同意 items (`…InfoConsFlg/ConsTime/AvailableTime`) are kept in
//! [`ResultOfQualificationConfirmation::info_consents`] keyed by [`ConsentItem`]; items added
//! by later revisions (e.g. the 2025 電子カルテ情報共有サービス items) arrive as
//! [`ConsentItem::Other`] and survive a round trip. All structs use `#[serde(default)]` so JSON
//! written by an older version still loads.

use crate::codes::*;
use crate::numbers::{InsurerNumber, MedicalInstitutionCode};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// One whole message (`XmlMsg`): a request or a result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct XmlMsg {
    pub message_header: MessageHeader,
    pub message_body: MessageBody,
}

/// `MessageHeader`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageHeader {
    /// 処理実行日時 (YYYYMMDDHHmmss, JST).
    pub process_execution_time: Option<NaiveDateTime>,
    /// 資格確認日.
    pub qualification_confirmation_date: Option<NaiveDate>,
    /// 医療機関コード.
    pub medical_institution_code: Option<MedicalInstitutionCode>,
    /// Chosen by the requester and echoed back, to correlate request and result.
    pub arbitrary_file_identifier: Option<String>,
    /// 照会区分.
    pub reference_classification: Option<ReferenceClassification>,
    /// 処理結果区分.
    pub segment_of_result: Option<SegmentOfResult>,
    /// エラーコード (when `segment_of_result` is not 1).
    pub error_code: Option<String>,
    /// エラーメッセージ.
    pub error_message: Option<String>,
    /// 文字コード識別.
    pub character_code_identifier: Option<CharacterCodeIdentifier>,
    /// 受付番号 of a bulk request (`OQSmu…01res`, then `02req`).
    pub reception_number: Option<String>,
    /// 処理件数 (bulk).
    pub number_of_processing_result: Option<u32>,
    /// 正常件数 (bulk).
    pub number_of_normal_processing: Option<u32>,
    /// エラー件数 (bulk).
    pub number_of_error: Option<u32>,
}

/// `QualificationConfirmSearchInfo`: what a request searches by, echoed in the result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QualificationConfirmSearchInfo {
    /// 保険者番号.
    pub insurer_number: Option<InsurerNumber>,
    /// 被保険者証記号.
    pub insured_card_symbol: Option<String>,
    /// 被保険者証番号.
    pub insured_identification_number: Option<String>,
    /// 被保険者証枝番 (2 digits).
    pub insured_branch_number: Option<String>,
    /// 生年月日.
    pub birthdate: Option<NaiveDate>,
    /// 限度額適用認定証提供同意フラグ.
    pub limit_application_certificate_related_cons_flg: Option<ConsentFlag>,
    /// 同意日 from (bulk 訪問診療等 pull).
    pub consent_date_from: Option<NaiveDate>,
    /// 同意日 to (bulk 訪問診療等 pull).
    pub consent_date_to: Option<NaiveDate>,
    /// 診療区分 (1 通常, 2 訪問診療等, 3 オンライン診療等).
    pub medical_treatment_flag: Option<MedicalTreatmentFlag>,
}

impl QualificationConfirmSearchInfo {
    /// The numbers that identify a person at an insurer (保険者番号・記号・番号・枝番・生年月日).
    pub fn by_numbers(
        insurer_number: InsurerNumber,
        symbol: Option<&str>,
        number: &str,
        branch: Option<&str>,
        birthdate: NaiveDate,
    ) -> Self {
        Self {
            insurer_number: Some(insurer_number),
            insured_card_symbol: symbol.map(str::to_owned),
            insured_identification_number: Some(number.to_owned()),
            insured_branch_number: branch.map(str::to_owned),
            birthdate: Some(birthdate),
            ..Self::default()
        }
    }
}

/// `MessageBody`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageBody {
    /// 処理結果状況.
    pub processing_result_status: Option<ProcessingResultStatus>,
    /// 処理結果コード (on error, or side information on success).
    pub processing_result_code: Option<String>,
    /// 処理結果メッセージ (display as-is).
    pub processing_result_message: Option<String>,
    /// 資格有効性.
    pub qualification_validity: Option<QualificationValidity>,
    /// 処方箋発行形態.
    pub prescription_issue_select: Option<PrescriptionIssueSelect>,
    /// Echo of the request.
    pub qualification_confirm_search_info: Option<QualificationConfirmSearchInfo>,
    /// `ResultList/ResultOfQualificationConfirmation*`.
    pub result_list: Vec<ResultOfQualificationConfirmation>,
    /// Bulk results (`BulkConfirmUnit*`).
    pub bulk_confirm_units: Vec<BulkConfirmUnit>,
}

/// One unit of a bulk result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BulkConfirmUnit {
    pub qualification_confirm_search_info: Option<QualificationConfirmSearchInfo>,
    pub processing_result_status: Option<ProcessingResultStatus>,
    pub processing_result_code: Option<String>,
    pub processing_result_message: Option<String>,
    pub qualification_validity: Option<QualificationValidity>,
    pub prescription_issue_select: Option<PrescriptionIssueSelect>,
    pub result_of_qualification_confirmation: Option<ResultOfQualificationConfirmation>,
    /// 照会番号 (the clinic's patient id registered at the terminal).
    pub reference_number: Option<String>,
}

/// A 閲覧同意 item (`<Prefix>ConsFlg`, `<Prefix>ConsTime`, `<Prefix>AvailableTime`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum ConsentItem {
    /// 特定健診等情報 (`SpecificHealthCheckupsInfo`).
    SpecificHealthCheckups,
    /// 薬剤情報 (`PharmacistsInfo`).
    Pharmacists,
    /// 診療情報 (`DiagnosisInfo`).
    Diagnosis,
    /// 手術情報 (`OperationInfo`).
    Operation,
    /// An item added by a later revision; holds the element prefix, e.g. `AllergyInfo`.
    Other(String),
}

impl ConsentItem {
    /// The four items of the first revision, in display order.
    pub const BASE: [ConsentItem; 4] =
        [Self::Pharmacists, Self::Diagnosis, Self::SpecificHealthCheckups, Self::Operation];

    /// The XML element prefix.
    pub fn prefix(&self) -> &str {
        match self {
            Self::SpecificHealthCheckups => "SpecificHealthCheckupsInfo",
            Self::Pharmacists => "PharmacistsInfo",
            Self::Diagnosis => "DiagnosisInfo",
            Self::Operation => "OperationInfo",
            Self::Other(p) => p,
        }
    }
    /// From an XML element prefix.
    pub fn from_prefix(p: &str) -> Self {
        match p {
            "SpecificHealthCheckupsInfo" => Self::SpecificHealthCheckups,
            "PharmacistsInfo" => Self::Pharmacists,
            "DiagnosisInfo" => Self::Diagnosis,
            "OperationInfo" => Self::Operation,
            other => Self::Other(other.to_owned()),
        }
    }
    /// 日本語の表示名.
    pub fn label_ja(&self) -> &str {
        match self {
            Self::SpecificHealthCheckups => "特定健診等情報",
            Self::Pharmacists => "薬剤情報",
            Self::Diagnosis => "診療情報",
            Self::Operation => "手術情報",
            Self::Other(p) => p,
        }
    }
}

impl From<ConsentItem> for String {
    fn from(c: ConsentItem) -> String {
        c.prefix().to_owned()
    }
}
impl From<String> for ConsentItem {
    fn from(s: String) -> Self {
        Self::from_prefix(&s)
    }
}

/// The state of one 閲覧同意 item in a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoConsent {
    pub item: ConsentItem,
    /// 閲覧同意フラグ.
    pub cons_flg: Option<ConsentFlag>,
    /// 閲覧同意日時.
    pub cons_time: Option<NaiveDateTime>,
    /// 閲覧有効期限.
    pub available_time: Option<NaiveDateTime>,
}

/// `ElderlyRecipientCertificateInfo` (高齢受給者証).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ElderlyRecipientCertificateInfo {
    pub certificate_date: Option<NaiveDate>,
    pub valid_start_date: Option<NaiveDate>,
    pub valid_end_date: Option<NaiveDate>,
    pub contribution_ratio: Option<ContributionRatio>,
}

/// `LimitApplicationCertificateRelatedInfo` (限度額適用認定証).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitApplicationCertificateInfo {
    pub classification: Option<LimitApplicationClassification>,
    pub classification_flag: Option<LimitClassificationFlag>,
    pub certificate_date: Option<NaiveDate>,
    pub valid_start_date: Option<NaiveDate>,
    pub valid_end_date: Option<NaiveDate>,
    /// 長期入院該当年月日.
    pub long_term_date: Option<NaiveDate>,
}

/// `SpecificDiseasesCertificateInfo` (特定疾病療養受療証).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SpecificDiseasesCertificateInfo {
    pub disease_category: Option<SpecificDiseaseCategory>,
    pub certificate_date: Option<NaiveDate>,
    pub valid_start_date: Option<NaiveDate>,
    pub valid_end_date: Option<NaiveDate>,
    /// 自己負担限度額 (円).
    pub self_pay: Option<u32>,
}

/// `ResultOfQualificationConfirmation`: one person's qualification as the insurer records it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ResultOfQualificationConfirmation {
    /// 被保険者証区分.
    pub insured_card_classification: Option<InsuredCardClassification>,
    /// 保険者番号.
    pub insurer_number: Option<InsurerNumber>,
    /// 記号.
    pub insured_card_symbol: Option<String>,
    /// 番号.
    pub insured_identification_number: Option<String>,
    /// 枝番.
    pub insured_branch_number: Option<String>,
    /// 本人・家族の別.
    pub personal_family_classification: Option<PersonalFamilyClassification>,
    /// 被保険者氏名 (世帯主).
    pub insured_name: Option<String>,
    /// 氏名.
    pub name: Option<String>,
    /// 氏名（その他）.
    pub name_of_other: Option<String>,
    /// 氏名カナ (半角).
    pub name_kana: Option<String>,
    /// 氏名カナ（その他）.
    pub name_of_other_kana: Option<String>,
    /// 性別1.
    pub sex1: Option<Sex>,
    /// 性別2.
    pub sex2: Option<Sex>,
    /// 生年月日.
    pub birthdate: Option<NaiveDate>,
    /// 住所 (as the insurer records it).
    pub address: Option<String>,
    /// 郵便番号.
    pub post_number: Option<String>,
    /// 資格取得年月日.
    pub qualification_date: Option<NaiveDate>,
    /// 資格喪失年月日.
    pub disqualification_date: Option<NaiveDate>,
    /// 交付年月日.
    pub insured_certificate_issuance_date: Option<NaiveDate>,
    /// 有効開始年月日.
    pub insured_card_valid_date: Option<NaiveDate>,
    /// 有効終了年月日.
    pub insured_card_expiration_date: Option<NaiveDate>,
    /// 一部負担金割合.
    pub insured_partial_contribution_ratio: Option<ContributionRatio>,
    /// 未就学区分.
    pub preschool_classification: Option<PreschoolClassification>,
    /// 資格喪失事由.
    pub reason_of_loss: Option<ReasonOfLoss>,
    /// 保険者名称.
    pub insurer_name: Option<String>,
    /// 高齢受給者証.
    pub elderly_recipient_certificate_info: Option<ElderlyRecipientCertificateInfo>,
    /// 限度額適用認定証提供同意フラグ.
    pub limit_application_certificate_related_cons_flg: Option<ConsentFlag>,
    /// 限度額適用認定証提供同意日時.
    pub limit_application_certificate_related_cons_time: Option<NaiveDateTime>,
    /// 限度額適用認定証.
    pub limit_application_certificate_related_info: Option<LimitApplicationCertificateInfo>,
    /// 特定疾病療養受療証提供同意フラグ.
    pub specific_diseases_certificate_related_cons_flg: Option<ConsentFlag>,
    /// 特定疾病療養受療証提供同意日時.
    pub specific_diseases_certificate_related_cons_time: Option<NaiveDateTime>,
    /// 特定疾病療養受療証 (several).
    pub specific_diseases_certificate_list: Vec<SpecificDiseasesCertificateInfo>,
    /// 閲覧同意 items (薬剤・診療・特定健診・手術, and later additions).
    pub info_consents: Vec<InfoConsent>,
}

impl ResultOfQualificationConfirmation {
    /// The 閲覧同意 state of one item, if the result carries it.
    pub fn info_consent(&self, item: &ConsentItem) -> Option<&InfoConsent> {
        self.info_consents.iter().find(|c| &c.item == item)
    }
    /// True when the item's flag is 1 同意あり.
    pub fn consented_to(&self, item: &ConsentItem) -> bool {
        self.info_consent(item).and_then(|c| c.cons_flg) == Some(ConsentFlag::Consented)
    }
}
