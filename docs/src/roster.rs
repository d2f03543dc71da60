//! A roster month (月間訪問予定) as an Automerge document.

use super::chart::{kind_code, kind_from};
use super::{commit, existing_map, flag, genesis, map, new_map, read_map, text};
use crate::keys::roster as key;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use houmon_model::error::{CoreError, Result};
use houmon_model::*;

/// One month of planned visits, e.g. `2026-11`.
#[derive(Debug)]
pub struct RosterMonthDoc {
    doc: AutoCommit,
}

/// The document id of a roster month: the month itself, `YYYY-MM`.
pub fn month_key(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

impl RosterMonthDoc {
    /// A new roster month (deterministic genesis per clinic and month).
    pub fn create(clinic: ClinicId, month: &str) -> Result<Self> {
        let mut id = [0u8; 16];
        let digest = ring::digest::digest(&ring::digest::SHA256, format!("roster:{clinic}:{month}").as_bytes());
        id.copy_from_slice(&digest.as_ref()[..16]);
        let doc = genesis(&id, |d| {
            d.put(ROOT, key::TYPE, key::DOC_TYPE)?;
            d.put(ROOT, key::VERSION, 1_i64)?;
            d.put(ROOT, key::MONTH, month)?;
            d.put_object(ROOT, key::VISITS, ObjType::Map)?;
            Ok(())
        })?;
        Ok(Self { doc })
    }

    pub fn from_automerge(doc: AutoCommit) -> Self {
        Self { doc }
    }

    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }

    fn visits(&self) -> Result<ObjId> {
        existing_map(&self.doc, &ROOT, key::VISITS, "roster")
    }

    /// Plan a visit (訪問予定の登録).
    pub fn plan_visit(&mut self, v: &RosterVisit, at: DateTime<Utc>) -> Result<()> {
        self.plan_visits(std::slice::from_ref(v), at)
    }

    /// Plan several visits of this month in one change (a recurring plan).
    pub fn plan_visits(&mut self, vs: &[RosterVisit], at: DateTime<Utc>) -> Result<()> {
        let visits = self.visits()?;
        for v in vs {
            if v.end <= v.start {
                return Err(CoreError::InvalidInput { field: "time_window", reason: "end before start" });
            }
            // A map of staff id → assigned, so concurrent assignments merge.
            let staff: Vec<String> = v.staff.iter().map(|s| s.to_string()).collect();
            let mut fields = vec![
                (key::DATE, text(v.date.to_string())),
                (key::START, text(v.start.format("%H:%M").to_string())),
                (key::END, text(v.end.format("%H:%M").to_string())),
                (key::PATIENT, text(v.patient.to_string())),
                (key::KIND, kind_code(v.kind).into()),
                (key::STATUS, status_code(v.status).into()),
                (key::STAFF, map(staff.iter().map(|s| (s.as_str(), flag(true))).collect())),
            ];
            if let Some(series) = &v.series {
                fields.push((key::SERIES, text(series)));
            }
            new_map(&mut self.doc, &visits, &v.id.to_string(), map(fields))?;
        }
        commit(&mut self.doc, "plan visit", at);
        Ok(())
    }

    fn visit(&self, visit: VisitId) -> Result<ObjId> {
        existing_map(&self.doc, &self.visits()?, &visit.to_string(), "visit")
    }

    /// Change a visit's status (予定/訪問中/完了/中止). Cancelling keeps the entry.
    pub fn set_status(&mut self, visit: VisitId, status: VisitStatus, at: DateTime<Utc>) -> Result<()> {
        let m = self.visit(visit)?;
        self.doc.put(&m, key::STATUS, status_code(status))?;
        commit(&mut self.doc, "visit status", at);
        Ok(())
    }

    /// Cancel a visit (中止) with its reason; the entry stays.
    pub fn cancel(&mut self, visit: VisitId, reason: &str, at: DateTime<Utc>) -> Result<()> {
        let m = self.visit(visit)?;
        self.doc.put(&m, key::STATUS, key::STATUS_CANCELLED)?;
        self.doc.put(&m, key::REASON, reason)?;
        commit(&mut self.doc, "visit cancelled", at);
        Ok(())
    }

    /// Edit a visit's date (within this month), time window and kind: only what changed is
    /// written, so a concurrent edit of another field merges.
    pub fn edit(&mut self, v: &RosterVisit, at: DateTime<Utc>) -> Result<()> {
        if v.end <= v.start {
            return Err(CoreError::InvalidInput { field: "time_window", reason: "end before start" });
        }
        if month_key(v.date) != super::get_str(&self.doc, &ROOT, key::MONTH).unwrap_or_default() {
            return Err(CoreError::InvalidInput { field: "date", reason: "another month" });
        }
        let m = self.visit(v.id)?;
        let want = [
            (key::DATE, v.date.to_string()),
            (key::START, v.start.format("%H:%M").to_string()),
            (key::END, v.end.format("%H:%M").to_string()),
            (key::KIND, kind_code(v.kind).to_string()),
        ];
        for (k, val) in want {
            if super::get_str(&self.doc, &m, k).as_deref() != Some(val.as_str()) {
                self.doc.put(&m, k, val)?;
            }
        }
        commit(&mut self.doc, "visit edited", at);
        Ok(())
    }

    /// Assign or unassign a staff member.
    pub fn assign(&mut self, visit: VisitId, staff: StaffId, assigned: bool, at: DateTime<Utc>) -> Result<()> {
        let m = self.visit(visit)?;
        let s = super::child_map(&mut self.doc, &m, key::STAFF)?;
        self.doc.put(&s, staff.to_string(), assigned)?;
        commit(&mut self.doc, "assign", at);
        Ok(())
    }

    /// Hand a visit over to `to` (担当の変更): everyone else is unassigned, in one change.
    pub fn reassign(&mut self, visit: VisitId, to: &[StaffId], at: DateTime<Utc>) -> Result<()> {
        let m = self.visit(visit)?;
        let s = super::child_map(&mut self.doc, &m, key::STAFF)?;
        let now: Vec<String> = self.doc.keys(&s).collect();
        for k in now {
            if !to.iter().any(|t| t.to_string() == k) {
                self.doc.put(&s, k, false)?;
            }
        }
        for t in to {
            self.doc.put(&s, t.to_string(), true)?;
        }
        commit(&mut self.doc, "reassign", at);
        Ok(())
    }

    /// All visits of the month, by date and start time, and any conflicts.
    pub fn read(&self) -> Result<(Vec<RosterVisit>, Vec<FieldConflict>)> {
        let mut conflicts = Vec::new();
        let mut out = Vec::new();
        for (key, obj) in read_map(&self.doc, &self.visits()?, key::VISITS, &mut conflicts).objects {
            let path = format!("{}/{key}", key::VISITS);
            let f = read_map(&self.doc, &obj, &path, &mut conflicts);
            let staff = f
                .obj(key::STAFF)
                .map(|o| {
                    read_map(&self.doc, o, &format!("{path}/{}", key::STAFF), &mut conflicts)
                        .scalars
                        .into_iter()
                        .filter(|(_, v)| *v == super::Sv::Bool(true))
                        .filter_map(|(k, _)| StaffId::parse(&k))
                        .collect()
                })
                .unwrap_or_default();
            let (Some(id), Some(patient), Some(date), Some(start), Some(end)) = (
                VisitId::parse(&key),
                f.opt_str(key::PATIENT).and_then(|s| PatientId::parse(&s)),
                f.opt_str(key::DATE).and_then(|s| s.parse().ok()),
                f.opt_str(key::START).and_then(|s| chrono::NaiveTime::parse_from_str(&s, "%H:%M").ok()),
                f.opt_str(key::END).and_then(|s| chrono::NaiveTime::parse_from_str(&s, "%H:%M").ok()),
            ) else {
                continue;
            };
            let mut staff: Vec<StaffId> = staff;
            staff.sort();
            out.push(RosterVisit {
                id,
                date,
                start,
                end,
                patient,
                staff,
                kind: kind_from(&f.str(key::KIND)),
                status: status_from(&f.str(key::STATUS)),
                cancel_reason: f.opt_str(key::REASON).unwrap_or_default(),
                series: f.opt_str(key::SERIES),
            });
        }
        out.sort_by_key(|v| (v.date, v.start, v.id));
        Ok((out, conflicts))
    }
}

pub fn status_code(s: VisitStatus) -> &'static str {
    match s {
        VisitStatus::Planned => key::STATUS_PLANNED,
        VisitStatus::InProgress => key::STATUS_IN_PROGRESS,
        VisitStatus::Done => key::STATUS_DONE,
        VisitStatus::Cancelled => key::STATUS_CANCELLED,
    }
}

pub fn status_from(s: &str) -> VisitStatus {
    match s {
        key::STATUS_IN_PROGRESS => VisitStatus::InProgress,
        key::STATUS_DONE => VisitStatus::Done,
        key::STATUS_CANCELLED => VisitStatus::Cancelled,
        _ => VisitStatus::Planned,
    }
}
