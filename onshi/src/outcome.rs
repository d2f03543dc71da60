//! Reading an answer ([`XmlMsg`]) as one clear outcome for the app (ARCHITECTURE.md, *Later
//! visits (再照会)*: an expired consent is a clear state, never a silent failure).

use crate::codes::*;
use crate::sim::SimResultCode;
use crate::types::*;
use serde::{Deserialize, Serialize};

/// What a qualification answer means for the visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum QualificationOutcome {
    /// 資格有効: the (first) result.
    Valid { result: Box<ResultOfQualificationConfirmation>, side_info: Option<(String, String)> },
    /// The person's qualification is no longer valid (2), or a newer one exists (3).
    NotValid { validity: QualificationValidity, result: Option<Box<ResultOfQualificationConfirmation>> },
    /// 4 該当資格なし.
    NotFound,
    /// 5 複数該当.
    MultipleMatches,
    /// 同意有効期限切れ: a card-based confirmation is needed.
    ConsentExpired,
    /// The patient revoked consent.
    ConsentRevoked,
    /// No consent registered for this clinic.
    NoConsent,
    /// The bulk request is still being processed (処理中).
    InProgress { reception_number: Option<String> },
    /// Any other error: code and message as given (display the message as-is).
    Error { code: String, message: String },
}

impl QualificationOutcome {
    /// Japanese message for the visiting staff.
    pub fn message_ja(&self) -> String {
        match self {
            Self::Valid { .. } => "資格を確認しました。".into(),
            Self::NotValid { validity, .. } => {
                format!("資格が{}です。資格確認書や新しい保険の情報を確認してください。", validity.label_ja())
            }
            Self::NotFound => {
                "該当する資格が見つかりません。保険者番号・記号・番号・生年月日を確認してください。".into()
            }
            Self::MultipleMatches => {
                "複数の資格が該当しました。枝番を含めて確認し、保険者に問い合わせてください。".into()
            }
            Self::ConsentExpired => SimResultCode::ConsentExpired.message_ja().into(),
            Self::ConsentRevoked => SimResultCode::ConsentRevoked.message_ja().into(),
            Self::NoConsent => SimResultCode::ConsentMissing.message_ja().into(),
            Self::InProgress { .. } => "処理中です。しばらくしてから結果を取得してください。".into(),
            Self::Error { message, .. } if !message.is_empty() => message.clone(),
            Self::Error { code, .. } => format!("エラーが発生しました（{code}）。時間をおいて再度照会してください。"),
        }
    }
}

/// Interprets a single-check / first-visit / 再照会 answer.
pub fn interpret(answer: &XmlMsg) -> QualificationOutcome {
    let h = &answer.message_header;
    let b = &answer.message_body;
    if h.segment_of_result == Some(SegmentOfResult::Failed) {
        return QualificationOutcome::Error {
            code: h.error_code.clone().unwrap_or_default(),
            message: h.error_message.clone().unwrap_or_default(),
        };
    }
    if h.segment_of_result == Some(SegmentOfResult::InProgress) {
        return QualificationOutcome::InProgress { reception_number: h.reception_number.clone() };
    }
    if b.processing_result_status == Some(ProcessingResultStatus::Error) {
        let code = b.processing_result_code.clone().unwrap_or_default();
        let expired_flag = b.result_list.iter().any(|r| {
            r.info_consents.iter().any(|c| c.cons_flg == Some(ConsentFlag::Expired))
                || r.limit_application_certificate_related_cons_flg == Some(ConsentFlag::Expired)
        });
        return match code.as_str() {
            c if c == SimResultCode::ConsentExpired.code() => QualificationOutcome::ConsentExpired,
            c if c == SimResultCode::ConsentRevoked.code() => QualificationOutcome::ConsentRevoked,
            c if c == SimResultCode::ConsentMissing.code() => QualificationOutcome::NoConsent,
            _ if expired_flag => QualificationOutcome::ConsentExpired,
            _ => QualificationOutcome::Error { code, message: b.processing_result_message.clone().unwrap_or_default() },
        };
    }
    let first = b.result_list.first().cloned().map(Box::new);
    match b.qualification_validity {
        Some(QualificationValidity::Valid) | Some(QualificationValidity::ValidUnregistered) => match first {
            Some(result) => QualificationOutcome::Valid {
                result,
                side_info: b
                    .processing_result_code
                    .clone()
                    .map(|c| (c, b.processing_result_message.clone().unwrap_or_default())),
            },
            None => QualificationOutcome::Error { code: String::new(), message: String::new() },
        },
        Some(v @ (QualificationValidity::Invalid | QualificationValidity::InvalidNewerExists)) => {
            QualificationOutcome::NotValid { validity: v, result: first }
        }
        Some(QualificationValidity::NotFound) => QualificationOutcome::NotFound,
        Some(QualificationValidity::MultipleMatches) => QualificationOutcome::MultipleMatches,
        None => {
            QualificationOutcome::Error { code: String::new(), message: "資格有効性がありません".into() }
        }
    }
}
