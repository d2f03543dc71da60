//! Where the gateway gets qualification answers: the in-process simulator (training/demo,
//! tests) or the clinic's 資格確認端末 through its file interface.

use crate::bridge::{Bridge, BridgeError};
use crate::numbers::MedicalInstitutionCode;
use crate::sim::{FirstVisitOutcome, FirstVisitRequest, ReinquiryRequest, Simulator};
use crate::types::XmlMsg;
use chrono::NaiveDate;
use std::sync::Arc;
use std::time::Duration;

/// Failures of a source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    /// A real terminal cannot verify a card signature: first visits go through マイナ在宅受付Web
    /// or the マイナ資格確認アプリ, and their results are pulled with `bulk_visit_pull`.
    #[error("a 資格確認端末 cannot take first-visit confirmations from this app")]
    FirstVisitUnsupported,
}

impl SourceError {
    pub fn message_ja(&self) -> String {
        match self {
            Self::Bridge(e) => e.message_ja(),
            Self::FirstVisitUnsupported => "資格確認端末への接続では、初回の確認はマイナ在宅受付Webまたはマイナ資格確認アプリで行ってください。結果は一括取得で取り込まれます。".into(),
        }
    }
}

/// A qualification source.
#[derive(Debug, Clone)]
pub enum QualificationSource {
    /// The simulator (訓練モード).
    Simulator(Arc<Simulator>),
    /// A real (or emulated) 資格確認端末 folder.
    Terminal { bridge: Arc<Bridge>, poll_interval: Duration, timeout: Duration },
}

impl QualificationSource {
    /// First-visit confirmation (simulator only).
    pub fn first_visit(&self, req: &FirstVisitRequest) -> Result<FirstVisitOutcome, SourceError> {
        match self {
            Self::Simulator(sim) => Ok(sim.first_visit(req)),
            Self::Terminal { .. } => Err(SourceError::FirstVisitUnsupported),
        }
    }

    /// 再照会 by the numbers kept from the first visit. (The caller has already applied
    /// [`crate::consent::confirmation_path`]; 往診 never gets here.)
    pub fn reinquire(&self, req: &ReinquiryRequest) -> Result<XmlMsg, SourceError> {
        match self {
            Self::Simulator(sim) => Ok(sim.reinquire(req)),
            Self::Terminal { bridge, poll_interval, timeout } => Ok(bridge.single_check(
                &req.medical_institution_code,
                &req.search,
                req.arbitrary_file_identifier.as_deref(),
                *poll_interval,
                *timeout,
            )?),
        }
    }

    /// Bulk pull of 居宅同意取得型 results whose consent date is in `from..=to`.
    pub fn bulk_visit_pull(
        &self,
        inst: &MedicalInstitutionCode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<XmlMsg, SourceError> {
        match self {
            Self::Simulator(sim) => {
                let accepted = sim.bulk_visit_request(inst, from, to, None);
                let reception = accepted.message_header.reception_number.clone().unwrap_or_default();
                // The simulator may be configured slow; keep fetching like the bridge does.
                loop {
                    let m = sim.bulk_visit_fetch(inst, &reception, None);
                    if m.message_header.segment_of_result != Some(crate::codes::SegmentOfResult::InProgress) {
                        return Ok(m);
                    }
                }
            }
            Self::Terminal { bridge, poll_interval, timeout } => {
                Ok(bridge.bulk_visit_pull(inst, from, to, *poll_interval, *timeout)?)
            }
        }
    }
}
