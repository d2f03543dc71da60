//! The patient chart document and the medical-record rules (真正性・見読性・保存性):
//! a signed note is immutable, a correction is a new version naming the one it replaces,
//! nothing is deleted, and concurrent edits to one field are kept as a conflict.

use super::tree::{Node, Tree};
use super::{
    Fields, child_map, commit, contains_individual_number, existing_map, flag, genesis, get_str, map, millis, new_map,
    read_map, resolve_field, text,
};
use crate::keys::chart as key;
use automerge::hydrate::Value;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc};
use chrono::{DateTime, Utc};
use houmon_model::check::RequestFailure;
use houmon_model::error::{CoreError, Result};
use houmon_model::*;

const CONTAINERS: [&str; 6] = [key::PATIENT, key::QUALS, key::QREQS, key::CONSENTS, key::VISITS, key::NOTES];

/// One patient's chart (カルテ) as an Automerge document.
#[derive(Debug)]
pub struct ChartDoc {
    doc: AutoCommit,
    /// Deterministic ids for the synthetic clinic generator; random otherwise.
    ids: Option<rand_chacha::ChaCha8Rng>,
}

impl ChartDoc {
    /// A new chart. Deterministic genesis: any device creating the chart for this patient
    /// produces the same first change.
    pub fn create(patient: PatientId) -> Result<Self> {
        let doc = genesis(patient.0.as_bytes(), |d| {
            d.put(ROOT, key::TYPE, key::DOC_TYPE)?;
            d.put(ROOT, key::VERSION, 1_i64)?;
            d.put(ROOT, key::ID, patient.to_string())?;
            for c in CONTAINERS {
                d.put_object(ROOT, c, ObjType::Map)?;
            }
            Ok(())
        })?;
        Ok(Self { doc, ids: None })
    }

    /// Wrap a loaded document.
    pub fn from_automerge(doc: AutoCommit) -> Self {
        Self { doc, ids: None }
    }

    /// Make ids and the Automerge actor deterministic (synthetic data only).
    pub fn seed_ids(&mut self, seed: u64) {
        use rand::{RngCore, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut actor = [0u8; 16];
        rng.fill_bytes(&mut actor);
        self.doc.set_actor(automerge::ActorId::from(actor.to_vec()));
        self.ids = Some(rng);
    }

    fn fresh_id(&mut self) -> uuid::Uuid {
        use rand::RngCore;
        match &mut self.ids {
            Some(rng) => {
                let mut b = [0u8; 16];
                rng.fill_bytes(&mut b);
                uuid::Builder::from_random_bytes(b).into_uuid()
            }
            None => uuid::Uuid::new_v4(),
        }
    }

    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }

    pub fn patient_id(&self) -> Result<PatientId> {
        get_str(&self.doc, &ROOT, key::ID)
            .and_then(|s| PatientId::parse(&s))
            .ok_or(CoreError::NotFound { what: "chart" })
    }

    fn container(&self, key: &'static str) -> Result<ObjId> {
        existing_map(&self.doc, &ROOT, key, "chart")
    }

    /// Set demographics (from a qualification result or the registration form).
    pub fn set_demographics(&mut self, d: &Demographics, at: DateTime<Utc>) -> Result<()> {
        reject_individual_number(&[&d.name, &d.name_kana, &d.address])?;
        let p = self.container(key::PATIENT)?;
        put_demographics(&mut self.doc, &p, d)?;
        commit(&mut self.doc, "demographics", at);
        Ok(())
    }

    /// Register or edit the patient's details (登録・変更): demographics, care team and
    /// contacts. Only changed fields are written, in one change whose message names the staff
    /// member, so the change history is the document's own ([`Self::patient_history`]).
    pub fn set_registration(
        &mut self,
        d: &Demographics,
        p: &PatientProfile,
        by: StaffId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        reject_individual_number(&[
            &d.name,
            &d.name_kana,
            &d.address,
            &p.phone,
            &p.key_person,
            &p.key_person_phone,
            &p.care_manager,
            &p.care_office,
            &p.primary_doctor,
        ])?;
        let m = self.container(key::PATIENT)?;
        for (k, v) in registration_fields(d, p) {
            if get_str(&self.doc, &m, k).unwrap_or_default() != v {
                self.doc.put(&m, k, v)?;
            }
        }
        commit(&mut self.doc, &format!("{}{by}", key::MSG_PATIENT), at);
        Ok(())
    }

    /// End care (訪問終了: 死亡・入院・転居・終了). Nothing is deleted; `None` resumes care.
    pub fn end_care(&mut self, end: Option<CareEnd>, by: StaffId, at: DateTime<Utc>) -> Result<()> {
        let m = self.container(key::PATIENT)?;
        let (code, date) = match end {
            Some(e) => (care_end_code(e.reason), e.date.to_string()),
            None => ("", String::new()),
        };
        self.doc.put(&m, key::CARE_END, code)?;
        self.doc.put(&m, key::CARE_END_DATE, date)?;
        commit(&mut self.doc, &format!("{}{by}", key::MSG_PATIENT), at);
        Ok(())
    }

    /// Every registration change, oldest first, with each changed field's value before and
    /// after (read from the document's changes: one per `set_registration` / `end_care`).
    pub fn patient_history(&mut self) -> Vec<PatientEdit> {
        let Ok(m) = self.container(key::PATIENT) else {
            return Vec::new();
        };
        let changes: Vec<(automerge::ChangeHash, Vec<automerge::ChangeHash>, i64, String)> = self
            .doc
            .get_changes(&[])
            .into_iter()
            .filter_map(|c| {
                let msg = c.message()?.strip_prefix(key::MSG_PATIENT)?.to_string();
                Some((c.hash(), c.deps().to_vec(), c.timestamp(), msg))
            })
            .collect();
        let fields: Vec<&str> = HISTORY_FIELDS.to_vec();
        let mut out = Vec::new();
        for (hash, deps, ts, by) in changes {
            let read = |heads: &[automerge::ChangeHash], k: &str| match self.doc.get_at(&m, k, heads) {
                Ok(Some((v, _))) => match super::Sv::from_value(&v) {
                    super::Sv::Str(s) => s,
                    _ => String::new(),
                },
                _ => String::new(),
            };
            let changed: Vec<(String, String, String)> = fields
                .iter()
                .map(|k| (k.to_string(), read(&deps, k), read(&[hash], k)))
                .filter(|(_, a, b)| a != b)
                .collect();
            if changed.is_empty() {
                continue;
            }
            out.push(PatientEdit {
                at: DateTime::from_timestamp(ts, 0).unwrap_or_default(),
                by: StaffId::parse(&by),
                fields: changed,
            });
        }
        out.sort_by_key(|e| e.at);
        out
    }

    /// Record a qualification result (資格確認結果). Also refreshes demographics.
    pub fn record_qualification(&mut self, q: &QualificationSnapshot) -> Result<()> {
        let quals = self.container(key::QUALS)?;
        let mut fields = vec![
            (key::AT, millis(q.checked_at).into()),
            (key::INSURER, text(&q.insurer_number)),
            (key::SYMBOL, text(&q.symbol)),
            (key::NUMBER, text(&q.number)),
            (key::BRANCH, text(&q.branch)),
            (key::VALIDITY, validity_code(q.validity).into()),
            (key::C_MED, flag(q.consent_medication)),
            (key::C_CLIN, flag(q.consent_clinical)),
            (key::C_CHK, flag(q.consent_checkup)),
            (key::C_SURG, flag(q.consent_surgery)),
            (key::DEMO, map(demographics_fields(&q.demographics))),
        ];
        if let Some(c) = q.copay_percent {
            fields.push((key::COPAY, (c as i64).into()));
        }
        if let Some(cd) = q.consent_date {
            fields.push((key::C_DATE, text(cd.to_string())));
        }
        if let Some(cu) = q.consent_valid_until {
            fields.push((key::C_UNTIL, text(cu.to_string())));
        }
        new_map(&mut self.doc, &quals, &q.id.to_string(), map(fields))?;
        if !q.demographics.name.is_empty() {
            let p = self.container(key::PATIENT)?;
            put_demographics(&mut self.doc, &p, &q.demographics)?;
        }
        // Mark a matching request answered (the gateway answers with the request's id).
        let reqs = self.container(key::QREQS)?;
        if let Some((automerge::Value::Object(_), r)) = self.doc.get(&reqs, q.id.to_string())? {
            self.doc.put(&r, key::ANSWERED, true)?;
        }
        commit(&mut self.doc, "qualification", q.checked_at);
        Ok(())
    }

    /// Ask the gateway for a 再照会 (ARCHITECTURE.md, *Qualification travels over sync*).
    /// Answered by [`Self::record_qualification`] with the same id.
    pub fn request_qualification(&mut self, by: StaffId, at: DateTime<Utc>) -> Result<QualificationId> {
        let id = QualificationId(self.fresh_id());
        let reqs = self.container(key::QREQS)?;
        let fields = vec![(key::AT, millis(at).into()), (key::BY, text(by.to_string())), (key::ANSWERED, flag(false))];
        new_map(&mut self.doc, &reqs, &id.to_string(), map(fields))?;
        commit(&mut self.doc, "qualification request", at);
        Ok(id)
    }

    /// Ask the gateway a specific question (a 再照会 with its numbers, or a first visit with
    /// the signed consent). Answered by [`Self::record_qualification`] or
    /// [`Self::record_qualification_failure`] with the returned id.
    pub fn request_qualification_query(
        &mut self,
        by: StaffId,
        at: DateTime<Utc>,
        query: &QualificationQuery,
    ) -> Result<QualificationId> {
        let json = serde_json::to_string(query)
            .map_err(|_| CoreError::InvalidInput { field: "qualification_query", reason: "not serialisable" })?;
        let id = QualificationId(self.fresh_id());
        let reqs = self.container(key::QREQS)?;
        let fields = vec![
            (key::AT, millis(at).into()),
            (key::BY, text(by.to_string())),
            (key::ANSWERED, flag(false)),
            (key::QUERY, text(json)),
        ];
        new_map(&mut self.doc, &reqs, &id.to_string(), map(fields))?;
        commit(&mut self.doc, "qualification request", at);
        Ok(id)
    }

    /// Answer a request with a refusal or error (no result to record). Unknown request ids
    /// are refused so an answer never lands without its question.
    pub fn record_qualification_failure(&mut self, id: QualificationId, f: &QualificationFailure) -> Result<()> {
        let reqs = self.container(key::QREQS)?;
        let Some((automerge::Value::Object(_), r)) = self.doc.get(&reqs, id.to_string())? else {
            return Err(CoreError::NotFound { what: "qualification request" });
        };
        let fields = vec![
            (key::AT, millis(f.answered_at).into()),
            (key::CODE, text(f.code.stored(f.service_code.as_deref()))),
            (key::JA, text(&f.message_ja)),
            (key::EN, text(&f.message_en)),
        ];
        new_map(&mut self.doc, &r, key::FAILURE, map(fields))?;
        self.doc.put(&r, key::ANSWERED, true)?;
        commit(&mut self.doc, "qualification failure", f.answered_at);
        Ok(())
    }

    /// Record a consent (or its revocation). Consent records are never changed afterwards.
    pub fn record_consent(&mut self, c: &ConsentRecord) -> Result<()> {
        let cs = self.container(key::CONSENTS)?;
        if self.doc.get(&cs, c.id.to_string())?.is_some() {
            // Same record delivered twice: a no-op (consent replay is harmless).
            return Ok(());
        }
        let rx = match c.prescription {
            PrescriptionForm::Electronic => key::RX_ELECTRONIC,
            PrescriptionForm::Paper => key::RX_PAPER,
        };
        let ident = match c.identity {
            IdentityMode::Pin => key::IDENT_PIN,
            IdentityMode::Visual => key::IDENT_VISUAL,
        };
        let mut fields = vec![
            (key::AT, millis(c.recorded_at).into()),
            (key::BY, text(c.recorded_by.to_string())),
            (key::DEVICE, text(c.device.to_string())),
            (key::MED, flag(c.medication)),
            (key::CLIN, flag(c.clinical)),
            (key::CHK, flag(c.checkup)),
            (key::SURG, flag(c.surgery)),
            (key::RX, rx.into()),
            (key::IDENT, ident.into()),
            (key::NONCE, text(&c.nonce_hex)),
            (key::REVOKE, flag(c.revocation)),
        ];
        if let Some(s) = &c.signature_hex {
            fields.push((key::SIG, text(s)));
        }
        if let Some(s) = &c.certificate_hex {
            fields.push((key::CERT, text(s)));
        }
        new_map(&mut self.doc, &cs, &c.id.to_string(), map(fields))?;
        commit(&mut self.doc, "consent", c.recorded_at);
        Ok(())
    }

    /// Open a visit record at arrival (訪問開始).
    pub fn start_visit(
        &mut self,
        visit: VisitId,
        kind: VisitKind,
        staff: StaffId,
        arrival: DateTime<Utc>,
    ) -> Result<()> {
        let visits = self.container(key::VISITS)?;
        if self.doc.get(&visits, visit.to_string())?.is_some() {
            return Err(CoreError::InvalidInput { field: "visit", reason: "already started" });
        }
        let fields = vec![
            (key::KIND, kind_code(kind).into()),
            (key::STAFF, text(staff.to_string())),
            (key::ARR, millis(arrival).into()),
            (key::VITALS, map(Vec::new())),
            (key::ITEMS, map(Vec::new())),
        ];
        new_map(&mut self.doc, &visits, &visit.to_string(), map(fields))?;
        commit(&mut self.doc, "start visit", arrival);
        Ok(())
    }

    fn visit_obj(&self, visit: VisitId) -> Result<ObjId> {
        let visits = self.container(key::VISITS)?;
        existing_map(&self.doc, &visits, &visit.to_string(), "visit")
    }

    /// Record departure (訪問終了).
    pub fn end_visit(&mut self, visit: VisitId, departure: DateTime<Utc>) -> Result<()> {
        let m = self.visit_obj(visit)?;
        self.doc.put(&m, key::DEP, millis(departure))?;
        commit(&mut self.doc, "end visit", departure);
        Ok(())
    }

    /// Record the vitals that were measured; fields left `None` are not touched.
    pub fn record_vitals(&mut self, visit: VisitId, v: &Vitals, at: DateTime<Utc>) -> Result<()> {
        check_vitals(v)?;
        let m = self.visit_obj(visit)?;
        let vm = child_map(&mut self.doc, &m, key::VITALS)?;
        let d = &mut self.doc;
        for (k, val) in [
            (key::SYS, v.systolic),
            (key::DIA, v.diastolic),
            (key::PULSE, v.pulse),
            (key::SPO2, v.spo2),
            (key::RESP, v.respiration),
        ] {
            if let Some(x) = val {
                d.put(&vm, k, x)?;
            }
        }
        if let Some(t) = v.temperature {
            d.put(&vm, key::TEMP, t)?;
        }
        if let Some(w) = v.weight {
            d.put(&vm, key::WEIGHT, w)?;
        }
        commit(&mut self.doc, "vitals", at);
        Ok(())
    }

    /// Add an entry to 傷病名 / アレルギー / 薬剤禁忌 / 感染症 on a visit.
    pub fn add_item(&mut self, visit: VisitId, item: &ClinicalItem) -> Result<()> {
        reject_individual_number(&[&item.label, &item.code])?;
        if item.label.trim().is_empty() {
            return Err(CoreError::InvalidInput { field: "label", reason: "empty" });
        }
        let m = self.visit_obj(visit)?;
        let items = child_map(&mut self.doc, &m, key::ITEMS)?;
        let fields = vec![
            (key::LIST, list_code(item.list).into()),
            (key::LABEL, text(&item.label)),
            (key::CODE, text(&item.code)),
            (key::BY, text(item.added_by.to_string())),
            (key::AT, millis(item.added_at).into()),
        ];
        new_map(&mut self.doc, &items, &item.id.to_string(), map(fields))?;
        commit(&mut self.doc, "clinical item", item.added_at);
        Ok(())
    }

    fn note_obj(&self, note: NoteId) -> Result<ObjId> {
        let notes = self.container(key::NOTES)?;
        existing_map(&self.doc, &notes, &note.to_string(), "note")
    }

    /// Refuse unless `who` wrote the draft: nobody saves over or signs another person's note.
    fn ensure_author(&self, obj: &ObjId, who: StaffId) -> Result<()> {
        let author = get_str(&self.doc, obj, key::AUTHOR).and_then(|a| StaffId::parse(&a));
        if author == Some(who) { Ok(()) } else { Err(CoreError::NotNoteAuthor) }
    }

    fn note_status(&self, obj: &ObjId) -> NoteStatus {
        // A conflict between "draft" and "signed" counts as signed: never reopen a signature.
        let signed = self
            .doc
            .get_all(obj, key::STATUS)
            .map(|all| all.iter().any(|(v, _)| v.as_str() == Some(key::STATUS_SIGNED)))
            .unwrap_or(false);
        if signed { NoteStatus::Signed } else { NoteStatus::Draft }
    }

    /// Save a note body (保存). `draft = None` starts a new note; `Some(id)` updates that
    /// draft. A signed note is refused: correct it instead.
    pub fn save_note(
        &mut self,
        author: StaffId,
        visit: VisitId,
        draft: Option<NoteId>,
        body: &SoapNote,
        at: DateTime<Utc>,
    ) -> Result<NoteId> {
        check_body(body)?;
        let id = match draft {
            Some(id) => {
                let m = self.note_obj(id)?;
                if self.note_status(&m) == NoteStatus::Signed {
                    return Err(CoreError::NoteSigned);
                }
                self.ensure_author(&m, author)?;
                put_body(&mut self.doc, &m, body)?;
                id
            }
            None => {
                self.visit_obj(visit)?;
                let id = NoteId(self.fresh_id());
                self.new_version(id, id, 1, visit, None, "", author, body, at)?;
                id
            }
        };
        commit(&mut self.doc, "save note", at);
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_version(
        &mut self,
        id: NoteId,
        thread: NoteId,
        version: u32,
        visit: VisitId,
        replaces: Option<NoteId>,
        reason: &str,
        author: StaffId,
        body: &SoapNote,
        at: DateTime<Utc>,
    ) -> Result<ObjId> {
        let notes = self.container(key::NOTES)?;
        let mut fields = vec![
            (key::THREAD, text(thread.to_string())),
            (key::VER, (version as i64).into()),
            (key::VISIT, text(visit.to_string())),
            (key::AUTHOR, text(author.to_string())),
            (key::CREATED, millis(at).into()),
            (key::STATUS, key::STATUS_DRAFT.into()),
        ];
        if let Some(r) = replaces {
            fields.extend([(key::REPLACES, text(r.to_string())), (key::REASON, reason.into())]);
        }
        fields.extend(body_fields(body).map(|(k, v)| (k, v.into())));
        new_map(&mut self.doc, &notes, &id.to_string(), map(fields))
    }

    /// Sign a draft (署名). From now on the version is immutable.
    pub fn sign_note(&mut self, signer: StaffId, note: NoteId, at: DateTime<Utc>) -> Result<()> {
        let m = self.note_obj(note)?;
        if self.note_status(&m) == NoteStatus::Signed {
            return Err(CoreError::NoteSigned);
        }
        self.ensure_author(&m, signer)?;
        let body = read_body(&read_map(&self.doc, &m, "", &mut Vec::new()));
        let d = &mut self.doc;
        d.put(&m, key::STATUS, key::STATUS_SIGNED)?;
        d.put(&m, key::SIGNED_BY, signer.to_string())?;
        d.put(&m, key::SIGNED_AT, millis(at))?;
        d.put(&m, key::HASH, body_hash(&body))?;
        commit(&mut self.doc, "sign note", at);
        Ok(())
    }

    /// Correct a signed note (訂正): a new draft version that names the one it replaces, with
    /// author, time and reason. The old version stays readable forever.
    pub fn correct_note(
        &mut self,
        author: StaffId,
        note: NoteId,
        body: &SoapNote,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<NoteId> {
        check_body(body)?;
        reject_individual_number(&[reason])?;
        if reason.trim().is_empty() {
            return Err(CoreError::InvalidInput { field: "reason", reason: "empty" });
        }
        let m = self.note_obj(note)?;
        if self.note_status(&m) != NoteStatus::Signed {
            return Err(CoreError::CorrectionOfDraft);
        }
        let f = read_map(&self.doc, &m, "", &mut Vec::new());
        let thread = f.opt_str(key::THREAD).and_then(|s| NoteId::parse(&s)).unwrap_or(note);
        let version = f.int(key::VER).unwrap_or(1) as u32;
        let visit =
            f.opt_str(key::VISIT).and_then(|s| VisitId::parse(&s)).ok_or(CoreError::NotFound { what: "visit" })?;
        // Refuse to fork the history locally: correct the latest version instead.
        let notes = self.container(key::NOTES)?;
        let target = note.to_string();
        for item in self.doc.map_range(&notes, ..) {
            let Ok(Some((_, child))) = self.doc.get(&notes, item.key.as_ref()) else {
                continue;
            };
            if get_str(&self.doc, &child, key::REPLACES).as_deref() == Some(target.as_str()) {
                return Err(CoreError::NoteAlreadyCorrected);
            }
        }
        let id = NoteId(self.fresh_id());
        self.new_version(id, thread, version + 1, visit, Some(note), reason, author, body, at)?;
        commit(&mut self.doc, "correct note", at);
        Ok(id)
    }

    /// Resolve a conflict by writing the chosen value. Fields of a signed note cannot be
    /// resolved in place: write a correction.
    pub fn resolve_conflict(&mut self, path: &str, value: &str, at: DateTime<Utc>) -> Result<()> {
        let parts: Vec<&str> = path.split('/').collect();
        if parts.first() == Some(&key::NOTES) && parts.len() >= 3 {
            let note = NoteId::parse(parts[1]).ok_or(CoreError::NotFound { what: "note" })?;
            let m = self.note_obj(note)?;
            if self.note_status(&m) == NoteStatus::Signed {
                return Err(CoreError::NoteSigned);
            }
        }
        reject_individual_number(&[value])?;
        resolve_field(&mut self.doc, path, value)?;
        commit(&mut self.doc, "resolve conflict", at);
        Ok(())
    }

    /// Read the whole chart for display, in one sequential pass over the document (see
    /// [`Tree`]): this is what opening a chart costs on top of loading it.
    pub fn read(&self) -> Result<Chart> {
        let tree = Tree::read(&self.doc);
        let root = tree.root();
        let patient = root.opt_str(key::ID).and_then(PatientId::parse).ok_or(CoreError::NotFound { what: "chart" })?;
        let container = |key: &'static str| tree.container(key).ok_or(CoreError::NotFound { what: "chart" });
        let demographics = tree_demographics(container(key::PATIENT)?);
        let (profile, care_end) = tree_profile(container(key::PATIENT)?);

        let mut qualifications = Vec::new();
        for (key, i) in container(key::QUALS)?.children() {
            let f = tree.node(i);
            let Some(id) = QualificationId::parse(key) else {
                continue;
            };
            qualifications.push(QualificationSnapshot {
                id,
                checked_at: f.time(key::AT).unwrap_or_default(),
                insurer_number: f.str(key::INSURER),
                symbol: f.str(key::SYMBOL),
                number: f.str(key::NUMBER),
                branch: f.str(key::BRANCH),
                copay_percent: f.int(key::COPAY).map(|c| c as u8),
                validity: validity_from(f.opt_str(key::VALIDITY).unwrap_or_default()),
                consent_medication: f.bool(key::C_MED),
                consent_clinical: f.bool(key::C_CLIN),
                consent_checkup: f.bool(key::C_CHK),
                consent_surgery: f.bool(key::C_SURG),
                consent_date: f.opt_str(key::C_DATE).and_then(|s| s.parse().ok()),
                consent_valid_until: f.opt_str(key::C_UNTIL).and_then(|s| s.parse().ok()),
                demographics: f.child(key::DEMO).map(|d| tree_demographics(tree.node(d))).unwrap_or_default(),
            });
        }
        qualifications.sort_by_key(|q| q.checked_at);

        let mut qualification_requests = Vec::new();
        for (key, i) in container(key::QREQS)?.children() {
            let f = tree.node(i);
            let (Some(id), Some(by)) = (QualificationId::parse(key), f.opt_str(key::BY).and_then(StaffId::parse))
            else {
                continue;
            };
            let query = f
                .opt_str(key::QUERY)
                .map(|j| serde_json::from_str::<QualificationQuery>(j).unwrap_or(QualificationQuery::Unreadable));
            let failure = f.child(key::FAILURE).map(|o| {
                let ff = tree.node(o);
                let (code, service_code) = RequestFailure::from_stored(&ff.str(key::CODE));
                QualificationFailure {
                    answered_at: ff.time(key::AT).unwrap_or_default(),
                    code,
                    service_code,
                    message_ja: ff.str(key::JA),
                    message_en: ff.str(key::EN),
                }
            });
            qualification_requests.push(QualificationRequest {
                id,
                requested_at: f.time(key::AT).unwrap_or_default(),
                requested_by: by,
                answered: f.bool(key::ANSWERED),
                query,
                failure,
            });
        }
        qualification_requests.sort_by_key(|r| r.requested_at);

        let mut consents = Vec::new();
        for (key, i) in container(key::CONSENTS)?.children() {
            let f = tree.node(i);
            let (Some(id), Some(by), Some(dev)) = (
                ConsentId::parse(key),
                f.opt_str(key::BY).and_then(StaffId::parse),
                f.opt_str(key::DEVICE).and_then(DeviceId::parse),
            ) else {
                continue;
            };
            consents.push(ConsentRecord {
                id,
                recorded_at: f.time(key::AT).unwrap_or_default(),
                recorded_by: by,
                device: dev,
                medication: f.bool(key::MED),
                clinical: f.bool(key::CLIN),
                checkup: f.bool(key::CHK),
                surgery: f.bool(key::SURG),
                prescription: if f.opt_str(key::RX) == Some(key::RX_PAPER) {
                    PrescriptionForm::Paper
                } else {
                    PrescriptionForm::Electronic
                },
                identity: if f.opt_str(key::IDENT) == Some(key::IDENT_PIN) {
                    IdentityMode::Pin
                } else {
                    IdentityMode::Visual
                },
                signature_hex: f.opt_str(key::SIG).map(str::to_string),
                certificate_hex: f.opt_str(key::CERT).map(str::to_string),
                nonce_hex: f.str(key::NONCE),
                revocation: f.bool(key::REVOKE),
            });
        }
        consents.sort_by_key(|c| c.recorded_at);

        let mut visits = Vec::new();
        for (key, i) in container(key::VISITS)?.children() {
            let f = tree.node(i);
            let (Some(id), Some(staff)) = (VisitId::parse(key), f.opt_str(key::STAFF).and_then(StaffId::parse)) else {
                continue;
            };
            let vitals = f
                .child(key::VITALS)
                .map(|o| {
                    let v = tree.node(o);
                    Vitals {
                        systolic: v.int(key::SYS),
                        diastolic: v.int(key::DIA),
                        pulse: v.int(key::PULSE),
                        spo2: v.int(key::SPO2),
                        temperature: v.f64(key::TEMP),
                        respiration: v.int(key::RESP),
                        weight: v.f64(key::WEIGHT),
                    }
                })
                .unwrap_or_default();
            let mut items = Vec::new();
            if let Some(io) = f.child(key::ITEMS) {
                for (ik, ii) in tree.node(io).children() {
                    let i = tree.node(ii);
                    let list = i.opt_str(key::LIST).and_then(list_from);
                    let (Some(iid), Some(list), Some(by)) =
                        (ItemId::parse(ik), list, i.opt_str(key::BY).and_then(StaffId::parse))
                    else {
                        continue;
                    };
                    items.push(ClinicalItem {
                        id: iid,
                        list,
                        label: i.str(key::LABEL),
                        code: i.str(key::CODE),
                        added_by: by,
                        added_at: i.time(key::AT).unwrap_or_default(),
                    });
                }
                items.sort_by_key(|i| i.added_at);
            }
            visits.push(VisitRecord {
                id,
                kind: kind_from(f.opt_str(key::KIND).unwrap_or_default()),
                staff,
                arrival: f.time(key::ARR),
                departure: f.time(key::DEP),
                vitals,
                items,
            });
        }
        visits.sort_by_key(|v| v.arrival);

        let mut notes = Vec::new();
        for (key, i) in container(key::NOTES)?.children() {
            let f = tree.node(i);
            let (Some(id), Some(visit), Some(author)) = (
                NoteId::parse(key),
                f.opt_str(key::VISIT).and_then(VisitId::parse),
                f.opt_str(key::AUTHOR).and_then(StaffId::parse),
            ) else {
                continue;
            };
            let body = SoapNote {
                subjective: f.str(key::S),
                objective: f.str(key::O),
                assessment: f.str(key::A),
                plan: f.str(key::P),
            };
            // A conflict between "draft" and "signed" counts as signed: never reopen a signature.
            let status =
                if f.any_str_is(key::STATUS, key::STATUS_SIGNED) { NoteStatus::Signed } else { NoteStatus::Draft };
            let content_hash = f.str(key::HASH);
            let intact = status == NoteStatus::Draft || content_hash == body_hash(&body);
            notes.push(NoteVersion {
                id,
                thread: f.opt_str(key::THREAD).and_then(NoteId::parse).unwrap_or(id),
                version: f.int(key::VER).unwrap_or(1) as u32,
                visit,
                replaces: f.opt_str(key::REPLACES).and_then(NoteId::parse),
                correction_reason: f.str(key::REASON),
                author,
                created_at: f.time(key::CREATED).unwrap_or_default(),
                status,
                signed_by: f.opt_str(key::SIGNED_BY).and_then(StaffId::parse),
                signed_at: f.time(key::SIGNED_AT),
                content_hash,
                body,
                intact,
            });
        }
        notes.sort_by_key(|n| (n.created_at, n.version));
        let mut conflicts = tree.conflicts;
        // Two corrections of the same version made on different devices: both kept, flagged.
        flag_rival_corrections(&notes, &mut conflicts);
        Ok(Chart {
            patient,
            demographics,
            profile,
            care_end,
            qualifications,
            qualification_requests,
            consents,
            visits,
            notes,
            conflicts,
        })
    }
}

fn demographics_fields(x: &Demographics) -> Vec<(&'static str, Value)> {
    vec![
        (key::NAME, text(&x.name)),
        (key::KANA, text(&x.name_kana)),
        (key::BIRTH, text(x.birth_date.map(|b| b.to_string()).unwrap_or_default())),
        (key::SEX, text(&x.sex)),
        (key::ADDR, text(&x.address)),
    ]
}

fn put_demographics(d: &mut AutoCommit, m: &ObjId, x: &Demographics) -> Result<()> {
    d.put(m, key::NAME, x.name.as_str())?;
    d.put(m, key::KANA, x.name_kana.as_str())?;
    d.put(m, key::BIRTH, x.birth_date.map(|b| b.to_string()).unwrap_or_default())?;
    d.put(m, key::SEX, x.sex.as_str())?;
    d.put(m, key::ADDR, x.address.as_str())?;
    Ok(())
}

fn tree_demographics(f: &Node<'_>) -> Demographics {
    Demographics {
        name: f.str(key::NAME),
        name_kana: f.str(key::KANA),
        birth_date: f.opt_str(key::BIRTH).and_then(|s| s.parse().ok()),
        sex: f.str(key::SEX),
        address: f.str(key::ADDR),
    }
}

/// The registration fields written by `set_registration`, by document key.
fn registration_fields(d: &Demographics, p: &PatientProfile) -> [(&'static str, String); 12] {
    [
        (key::NAME, d.name.clone()),
        (key::KANA, d.name_kana.clone()),
        (key::BIRTH, d.birth_date.map(|b| b.to_string()).unwrap_or_default()),
        (key::SEX, d.sex.clone()),
        (key::ADDR, d.address.clone()),
        (key::TEL, p.phone.clone()),
        (key::KP, p.key_person.clone()),
        (key::KP_TEL, p.key_person_phone.clone()),
        (key::CM, p.care_manager.clone()),
        (key::CM_OFFICE, p.care_office.clone()),
        (key::DOCTOR, p.primary_doctor.clone()),
        (key::IDOC, id_document_code(p.id_document).to_string()),
    ]
}

/// The fields the change history compares.
const HISTORY_FIELDS: [&str; 14] = [
    key::NAME,
    key::KANA,
    key::BIRTH,
    key::SEX,
    key::ADDR,
    key::TEL,
    key::KP,
    key::KP_TEL,
    key::CM,
    key::CM_OFFICE,
    key::DOCTOR,
    key::IDOC,
    key::CARE_END,
    key::CARE_END_DATE,
];

pub fn id_document_code(d: IdDocument) -> &'static str {
    match d {
        IdDocument::MyNumberCard => key::IDOC_CARD,
        IdDocument::QualificationCertificate => key::IDOC_CERT,
        IdDocument::Unknown => "",
    }
}

pub fn care_end_code(r: CareEndReason) -> &'static str {
    match r {
        CareEndReason::Death => key::END_DEATH,
        CareEndReason::Hospitalised => key::END_HOSPITAL,
        CareEndReason::Moved => key::END_MOVED,
        CareEndReason::Ended => key::END_ENDED,
    }
}

pub fn care_end_from(s: &str) -> Option<CareEndReason> {
    match s {
        key::END_DEATH => Some(CareEndReason::Death),
        key::END_HOSPITAL => Some(CareEndReason::Hospitalised),
        key::END_MOVED => Some(CareEndReason::Moved),
        key::END_ENDED => Some(CareEndReason::Ended),
        _ => None,
    }
}

fn tree_profile(f: &Node<'_>) -> (PatientProfile, Option<CareEnd>) {
    let profile = PatientProfile {
        phone: f.str(key::TEL),
        key_person: f.str(key::KP),
        key_person_phone: f.str(key::KP_TEL),
        care_manager: f.str(key::CM),
        care_office: f.str(key::CM_OFFICE),
        primary_doctor: f.str(key::DOCTOR),
        id_document: match f.str(key::IDOC).as_str() {
            key::IDOC_CARD => IdDocument::MyNumberCard,
            key::IDOC_CERT => IdDocument::QualificationCertificate,
            _ => IdDocument::Unknown,
        },
    };
    let end = care_end_from(&f.str(key::CARE_END)).map(|reason| CareEnd {
        reason,
        date: f.opt_str(key::CARE_END_DATE).and_then(|d| d.parse().ok()).unwrap_or_default(),
    });
    (profile, end)
}

/// Two corrections of the same version (made on different devices) are both kept and flagged.
fn flag_rival_corrections(notes: &[NoteVersion], conflicts: &mut Vec<FieldConflict>) {
    let mut by_replaced: std::collections::HashMap<NoteId, Vec<&NoteVersion>> = std::collections::HashMap::new();
    for n in notes {
        if let Some(r) = n.replaces {
            by_replaced.entry(r).or_default().push(n);
        }
    }
    // In note order, so the flags come out in a stable order.
    for n in notes {
        if let Some(r) = n.replaces
            && let Some(rivals) = by_replaced.get(&r)
            && rivals.len() > 1
            && rivals[0].id == n.id
        {
            conflicts.push(FieldConflict {
                path: format!("{}/{r}/{}", key::NOTES, key::CORRECTIONS),
                values: rivals.iter().map(|m| m.id.to_string()).collect(),
            });
        }
    }
}

fn put_body(d: &mut AutoCommit, m: &ObjId, body: &SoapNote) -> Result<()> {
    for (k, v) in body_fields(body) {
        // Plain strings written at save time, not character-level Text (see module doc).
        d.put(m, k, v)?;
    }
    Ok(())
}

fn read_body(f: &Fields) -> SoapNote {
    SoapNote { subjective: f.str(key::S), objective: f.str(key::O), assessment: f.str(key::A), plan: f.str(key::P) }
}

/// SHA-256 over the four SOAP parts, each length-prefixed, hex.
pub fn body_hash(b: &SoapNote) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for (_, v) in b.fields() {
        ctx.update(&(v.len() as u64).to_be_bytes());
        ctx.update(v.as_bytes());
    }
    hex::encode(ctx.finish().as_ref())
}

const MAX_NOTE_PART: usize = 64 * 1024;

fn check_body(b: &SoapNote) -> Result<()> {
    for (_, v) in b.fields() {
        if v.len() > MAX_NOTE_PART {
            return Err(CoreError::InvalidInput { field: "note", reason: "too long" });
        }
    }
    let parts: Vec<&str> = b.fields().iter().map(|(_, v)| *v).collect();
    reject_individual_number(&parts)
}

fn reject_individual_number(texts: &[&str]) -> Result<()> {
    if texts.iter().any(|t| contains_individual_number(t)) { Err(CoreError::LooksLikeIndividualNumber) } else { Ok(()) }
}

/// Refuses a reading no patient can have (the one range table: `houmon_model::vitals`).
fn check_vitals(v: &Vitals) -> Result<()> {
    match houmon_model::vitals::first_impossible(v) {
        Some(sign) => Err(CoreError::InvalidInput { field: sign.key(), reason: "out of range" }),
        None => Ok(()),
    }
}

pub fn kind_code(k: VisitKind) -> &'static str {
    match k {
        VisitKind::HomeMedical => key::KIND_HOME,
        VisitKind::UrgentCall => key::KIND_URGENT_CALL,
        VisitKind::HomeNursing => key::KIND_NURSING,
    }
}

pub fn kind_from(s: &str) -> VisitKind {
    match s {
        key::KIND_URGENT_CALL => VisitKind::UrgentCall,
        key::KIND_NURSING => VisitKind::HomeNursing,
        _ => VisitKind::HomeMedical,
    }
}

/// The stored code of a clinical list (the same strings as `ClinicalList::key`).
fn list_code(l: ClinicalList) -> &'static str {
    match l {
        ClinicalList::Diagnoses => key::LIST_DIAGNOSES,
        ClinicalList::Allergies => key::LIST_ALLERGIES,
        ClinicalList::Contraindications => key::LIST_CONTRAINDICATIONS,
        ClinicalList::Infections => key::LIST_INFECTIONS,
    }
}

/// The clinical list stored as `s`; `None` for a code this version does not know.
fn list_from(s: &str) -> Option<ClinicalList> {
    ClinicalList::ALL.into_iter().find(|l| list_code(*l) == s)
}

/// The four SOAP parts under their note keys (the same keys as `SoapNote::fields`).
fn body_fields(b: &SoapNote) -> [(&'static str, &str); 4] {
    [(key::S, &b.subjective), (key::O, &b.objective), (key::A, &b.assessment), (key::P, &b.plan)]
}

fn validity_code(v: QualificationValidity) -> &'static str {
    match v {
        QualificationValidity::Valid => key::VALIDITY_VALID,
        QualificationValidity::Invalid => key::VALIDITY_INVALID,
        QualificationValidity::InvalidNewerExists => key::VALIDITY_INVALID_NEWER,
        QualificationValidity::NotFound => key::VALIDITY_NOT_FOUND,
        QualificationValidity::Unknown => key::VALIDITY_UNKNOWN,
    }
}

fn validity_from(s: &str) -> QualificationValidity {
    match s {
        key::VALIDITY_VALID => QualificationValidity::Valid,
        key::VALIDITY_INVALID => QualificationValidity::Invalid,
        key::VALIDITY_INVALID_NEWER => QualificationValidity::InvalidNewerExists,
        key::VALIDITY_NOT_FOUND => QualificationValidity::NotFound,
        _ => QualificationValidity::Unknown,
    }
}

#[cfg(test)]
mod tests;
