//! The patient chart document and the medical-record rules (真正性・見読性・保存性):
//! a signed note is immutable, a correction is a new version naming the one it replaces,
//! nothing is deleted, and concurrent edits to one field are kept as a conflict.

use super::tree::{Node, Tree};
use super::{
    Fields, child_map, commit, contains_individual_number, existing_map, flag, genesis, get_str, map, millis, new_map,
    read_map, resolve_field, text,
};
use automerge::hydrate::Value;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc};
use chrono::{DateTime, Utc};
use houmon_model::error::{CoreError, Result};
use houmon_model::*;

const CONTAINERS: [&str; 6] = ["patient", "quals", "qreqs", "consents", "visits", "notes"];

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
            d.put(ROOT, "type", "chart")?;
            d.put(ROOT, "v", 1_i64)?;
            d.put(ROOT, "id", patient.to_string())?;
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
        get_str(&self.doc, &ROOT, "id").and_then(|s| PatientId::parse(&s)).ok_or(CoreError::NotFound { what: "chart" })
    }

    fn container(&self, key: &'static str) -> Result<ObjId> {
        existing_map(&self.doc, &ROOT, key, "chart")
    }

    /// Set demographics (from a qualification result or the registration form).
    pub fn set_demographics(&mut self, d: &Demographics, at: DateTime<Utc>) -> Result<()> {
        reject_individual_number(&[&d.name, &d.name_kana, &d.address])?;
        let p = self.container("patient")?;
        put_demographics(&mut self.doc, &p, d)?;
        commit(&mut self.doc, "demographics", at);
        Ok(())
    }

    /// Record a qualification result (資格確認結果). Also refreshes demographics.
    pub fn record_qualification(&mut self, q: &QualificationSnapshot) -> Result<()> {
        let quals = self.container("quals")?;
        let mut fields = vec![
            ("at", millis(q.checked_at).into()),
            ("insurer", text(&q.insurer_number)),
            ("symbol", text(&q.symbol)),
            ("number", text(&q.number)),
            ("branch", text(&q.branch)),
            ("validity", validity_code(q.validity).into()),
            ("c_med", flag(q.consent_medication)),
            ("c_clin", flag(q.consent_clinical)),
            ("c_chk", flag(q.consent_checkup)),
            ("c_surg", flag(q.consent_surgery)),
            ("demo", map(demographics_fields(&q.demographics))),
        ];
        if let Some(c) = q.copay_percent {
            fields.push(("copay", (c as i64).into()));
        }
        if let Some(cd) = q.consent_date {
            fields.push(("c_date", text(cd.to_string())));
        }
        if let Some(cu) = q.consent_valid_until {
            fields.push(("c_until", text(cu.to_string())));
        }
        new_map(&mut self.doc, &quals, &q.id.to_string(), map(fields))?;
        if !q.demographics.name.is_empty() {
            let p = self.container("patient")?;
            put_demographics(&mut self.doc, &p, &q.demographics)?;
        }
        // Mark a matching request answered (the gateway answers with the request's id).
        let reqs = self.container("qreqs")?;
        if let Some((automerge::Value::Object(_), r)) = self.doc.get(&reqs, q.id.to_string())? {
            self.doc.put(&r, "answered", true)?;
        }
        commit(&mut self.doc, "qualification", q.checked_at);
        Ok(())
    }

    /// Ask the gateway for a 再照会 (ARCHITECTURE.md, *Qualification travels over sync*).
    /// Answered by [`Self::record_qualification`] with the same id.
    pub fn request_qualification(&mut self, by: StaffId, at: DateTime<Utc>) -> Result<QualificationId> {
        let id = QualificationId(self.fresh_id());
        let reqs = self.container("qreqs")?;
        let fields = vec![("at", millis(at).into()), ("by", text(by.to_string())), ("answered", flag(false))];
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
        let reqs = self.container("qreqs")?;
        let fields = vec![
            ("at", millis(at).into()),
            ("by", text(by.to_string())),
            ("answered", flag(false)),
            ("query", text(json)),
        ];
        new_map(&mut self.doc, &reqs, &id.to_string(), map(fields))?;
        commit(&mut self.doc, "qualification request", at);
        Ok(id)
    }

    /// Answer a request with a refusal or error (no result to record). Unknown request ids
    /// are refused so an answer never lands without its question.
    pub fn record_qualification_failure(&mut self, id: QualificationId, f: &QualificationFailure) -> Result<()> {
        let reqs = self.container("qreqs")?;
        let Some((automerge::Value::Object(_), r)) = self.doc.get(&reqs, id.to_string())? else {
            return Err(CoreError::NotFound { what: "qualification request" });
        };
        let fields = vec![
            ("at", millis(f.answered_at).into()),
            ("code", text(&f.code)),
            ("ja", text(&f.message_ja)),
            ("en", text(&f.message_en)),
        ];
        new_map(&mut self.doc, &r, "failure", map(fields))?;
        self.doc.put(&r, "answered", true)?;
        commit(&mut self.doc, "qualification failure", f.answered_at);
        Ok(())
    }

    /// Record a consent (or its revocation). Consent records are never changed afterwards.
    pub fn record_consent(&mut self, c: &ConsentRecord) -> Result<()> {
        let cs = self.container("consents")?;
        if self.doc.get(&cs, c.id.to_string())?.is_some() {
            // Same record delivered twice: a no-op (consent replay is harmless).
            return Ok(());
        }
        let rx = match c.prescription {
            PrescriptionForm::Electronic => "electronic",
            PrescriptionForm::Paper => "paper",
        };
        let ident = match c.identity {
            IdentityMode::Pin => "pin",
            IdentityMode::Visual => "visual",
        };
        let mut fields = vec![
            ("at", millis(c.recorded_at).into()),
            ("by", text(c.recorded_by.to_string())),
            ("device", text(c.device.to_string())),
            ("med", flag(c.medication)),
            ("clin", flag(c.clinical)),
            ("chk", flag(c.checkup)),
            ("surg", flag(c.surgery)),
            ("rx", rx.into()),
            ("ident", ident.into()),
            ("nonce", text(&c.nonce_hex)),
            ("revoke", flag(c.revocation)),
        ];
        if let Some(s) = &c.signature_hex {
            fields.push(("sig", text(s)));
        }
        if let Some(s) = &c.certificate_hex {
            fields.push(("cert", text(s)));
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
        let visits = self.container("visits")?;
        if self.doc.get(&visits, visit.to_string())?.is_some() {
            return Err(CoreError::InvalidInput { field: "visit", reason: "already started" });
        }
        let fields = vec![
            ("kind", kind_code(kind).into()),
            ("staff", text(staff.to_string())),
            ("arr", millis(arrival).into()),
            ("vitals", map(Vec::new())),
            ("items", map(Vec::new())),
        ];
        new_map(&mut self.doc, &visits, &visit.to_string(), map(fields))?;
        commit(&mut self.doc, "start visit", arrival);
        Ok(())
    }

    fn visit_obj(&self, visit: VisitId) -> Result<ObjId> {
        let visits = self.container("visits")?;
        existing_map(&self.doc, &visits, &visit.to_string(), "visit")
    }

    /// Record departure (訪問終了).
    pub fn end_visit(&mut self, visit: VisitId, departure: DateTime<Utc>) -> Result<()> {
        let m = self.visit_obj(visit)?;
        self.doc.put(&m, "dep", millis(departure))?;
        commit(&mut self.doc, "end visit", departure);
        Ok(())
    }

    /// Record the vitals that were measured; fields left `None` are not touched.
    pub fn record_vitals(&mut self, visit: VisitId, v: &Vitals, at: DateTime<Utc>) -> Result<()> {
        check_vitals(v)?;
        let m = self.visit_obj(visit)?;
        let vm = child_map(&mut self.doc, &m, "vitals")?;
        let d = &mut self.doc;
        for (k, val) in
            [("sys", v.systolic), ("dia", v.diastolic), ("pulse", v.pulse), ("spo2", v.spo2), ("resp", v.respiration)]
        {
            if let Some(x) = val {
                d.put(&vm, k, x)?;
            }
        }
        if let Some(t) = v.temperature {
            d.put(&vm, "temp", t)?;
        }
        if let Some(w) = v.weight {
            d.put(&vm, "weight", w)?;
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
        let items = child_map(&mut self.doc, &m, "items")?;
        let fields = vec![
            ("list", item.list.key().into()),
            ("label", text(&item.label)),
            ("code", text(&item.code)),
            ("by", text(item.added_by.to_string())),
            ("at", millis(item.added_at).into()),
        ];
        new_map(&mut self.doc, &items, &item.id.to_string(), map(fields))?;
        commit(&mut self.doc, "clinical item", item.added_at);
        Ok(())
    }

    fn note_obj(&self, note: NoteId) -> Result<ObjId> {
        let notes = self.container("notes")?;
        existing_map(&self.doc, &notes, &note.to_string(), "note")
    }

    fn note_status(&self, obj: &ObjId) -> NoteStatus {
        // A conflict between "draft" and "signed" counts as signed: never reopen a signature.
        let signed = self
            .doc
            .get_all(obj, "status")
            .map(|all| all.iter().any(|(v, _)| v.as_str() == Some("signed")))
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
        let notes = self.container("notes")?;
        let mut fields = vec![
            ("thread", text(thread.to_string())),
            ("ver", (version as i64).into()),
            ("visit", text(visit.to_string())),
            ("author", text(author.to_string())),
            ("created", millis(at).into()),
            ("status", "draft".into()),
        ];
        if let Some(r) = replaces {
            fields.extend([("replaces", text(r.to_string())), ("reason", reason.into())]);
        }
        fields.extend(body.fields().map(|(k, v)| (k, v.into())));
        new_map(&mut self.doc, &notes, &id.to_string(), map(fields))
    }

    /// Sign a draft (署名). From now on the version is immutable.
    pub fn sign_note(&mut self, signer: StaffId, note: NoteId, at: DateTime<Utc>) -> Result<()> {
        let m = self.note_obj(note)?;
        if self.note_status(&m) == NoteStatus::Signed {
            return Err(CoreError::NoteSigned);
        }
        let body = read_body(&read_map(&self.doc, &m, "", &mut Vec::new()));
        let d = &mut self.doc;
        d.put(&m, "status", "signed")?;
        d.put(&m, "signed_by", signer.to_string())?;
        d.put(&m, "signed_at", millis(at))?;
        d.put(&m, "hash", body_hash(&body))?;
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
        let thread = f.opt_str("thread").and_then(|s| NoteId::parse(&s)).unwrap_or(note);
        let version = f.int("ver").unwrap_or(1) as u32;
        let visit = f.opt_str("visit").and_then(|s| VisitId::parse(&s)).ok_or(CoreError::NotFound { what: "visit" })?;
        // Refuse to fork the history locally: correct the latest version instead.
        let notes = self.container("notes")?;
        let target = note.to_string();
        for item in self.doc.map_range(&notes, ..) {
            let Ok(Some((_, child))) = self.doc.get(&notes, item.key.as_ref()) else {
                continue;
            };
            if get_str(&self.doc, &child, "replaces").as_deref() == Some(target.as_str()) {
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
        if parts.first() == Some(&"notes") && parts.len() >= 3 {
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
        let patient = root.opt_str("id").and_then(PatientId::parse).ok_or(CoreError::NotFound { what: "chart" })?;
        let container = |key: &'static str| tree.container(key).ok_or(CoreError::NotFound { what: "chart" });
        let demographics = tree_demographics(container("patient")?);

        let mut qualifications = Vec::new();
        for (key, i) in container("quals")?.children() {
            let f = tree.node(i);
            let Some(id) = QualificationId::parse(key) else {
                continue;
            };
            qualifications.push(QualificationSnapshot {
                id,
                checked_at: f.time("at").unwrap_or_default(),
                insurer_number: f.str("insurer"),
                symbol: f.str("symbol"),
                number: f.str("number"),
                branch: f.str("branch"),
                copay_percent: f.int("copay").map(|c| c as u8),
                validity: validity_from(f.opt_str("validity").unwrap_or_default()),
                consent_medication: f.bool("c_med"),
                consent_clinical: f.bool("c_clin"),
                consent_checkup: f.bool("c_chk"),
                consent_surgery: f.bool("c_surg"),
                consent_date: f.opt_str("c_date").and_then(|s| s.parse().ok()),
                consent_valid_until: f.opt_str("c_until").and_then(|s| s.parse().ok()),
                demographics: f.child("demo").map(|d| tree_demographics(tree.node(d))).unwrap_or_default(),
            });
        }
        qualifications.sort_by_key(|q| q.checked_at);

        let mut qualification_requests = Vec::new();
        for (key, i) in container("qreqs")?.children() {
            let f = tree.node(i);
            let (Some(id), Some(by)) = (QualificationId::parse(key), f.opt_str("by").and_then(StaffId::parse)) else {
                continue;
            };
            let query = f
                .opt_str("query")
                .map(|j| serde_json::from_str::<QualificationQuery>(j).unwrap_or(QualificationQuery::Unreadable));
            let failure = f.child("failure").map(|o| {
                let ff = tree.node(o);
                QualificationFailure {
                    answered_at: ff.time("at").unwrap_or_default(),
                    code: ff.str("code"),
                    message_ja: ff.str("ja"),
                    message_en: ff.str("en"),
                }
            });
            qualification_requests.push(QualificationRequest {
                id,
                requested_at: f.time("at").unwrap_or_default(),
                requested_by: by,
                answered: f.bool("answered"),
                query,
                failure,
            });
        }
        qualification_requests.sort_by_key(|r| r.requested_at);

        let mut consents = Vec::new();
        for (key, i) in container("consents")?.children() {
            let f = tree.node(i);
            let (Some(id), Some(by), Some(dev)) = (
                ConsentId::parse(key),
                f.opt_str("by").and_then(StaffId::parse),
                f.opt_str("device").and_then(DeviceId::parse),
            ) else {
                continue;
            };
            consents.push(ConsentRecord {
                id,
                recorded_at: f.time("at").unwrap_or_default(),
                recorded_by: by,
                device: dev,
                medication: f.bool("med"),
                clinical: f.bool("clin"),
                checkup: f.bool("chk"),
                surgery: f.bool("surg"),
                prescription: if f.opt_str("rx") == Some("paper") {
                    PrescriptionForm::Paper
                } else {
                    PrescriptionForm::Electronic
                },
                identity: if f.opt_str("ident") == Some("pin") { IdentityMode::Pin } else { IdentityMode::Visual },
                signature_hex: f.opt_str("sig").map(str::to_string),
                certificate_hex: f.opt_str("cert").map(str::to_string),
                nonce_hex: f.str("nonce"),
                revocation: f.bool("revoke"),
            });
        }
        consents.sort_by_key(|c| c.recorded_at);

        let mut visits = Vec::new();
        for (key, i) in container("visits")?.children() {
            let f = tree.node(i);
            let (Some(id), Some(staff)) = (VisitId::parse(key), f.opt_str("staff").and_then(StaffId::parse)) else {
                continue;
            };
            let vitals = f
                .child("vitals")
                .map(|o| {
                    let v = tree.node(o);
                    Vitals {
                        systolic: v.int("sys"),
                        diastolic: v.int("dia"),
                        pulse: v.int("pulse"),
                        spo2: v.int("spo2"),
                        temperature: v.f64("temp"),
                        respiration: v.int("resp"),
                        weight: v.f64("weight"),
                    }
                })
                .unwrap_or_default();
            let mut items = Vec::new();
            if let Some(io) = f.child("items") {
                for (ik, ii) in tree.node(io).children() {
                    let i = tree.node(ii);
                    let list = ClinicalList::ALL.into_iter().find(|l| Some(l.key()) == i.opt_str("list"));
                    let (Some(iid), Some(list), Some(by)) =
                        (ItemId::parse(ik), list, i.opt_str("by").and_then(StaffId::parse))
                    else {
                        continue;
                    };
                    items.push(ClinicalItem {
                        id: iid,
                        list,
                        label: i.str("label"),
                        code: i.str("code"),
                        added_by: by,
                        added_at: i.time("at").unwrap_or_default(),
                    });
                }
                items.sort_by_key(|i| i.added_at);
            }
            visits.push(VisitRecord {
                id,
                kind: kind_from(f.opt_str("kind").unwrap_or_default()),
                staff,
                arrival: f.time("arr"),
                departure: f.time("dep"),
                vitals,
                items,
            });
        }
        visits.sort_by_key(|v| v.arrival);

        let mut notes = Vec::new();
        for (key, i) in container("notes")?.children() {
            let f = tree.node(i);
            let (Some(id), Some(visit), Some(author)) = (
                NoteId::parse(key),
                f.opt_str("visit").and_then(VisitId::parse),
                f.opt_str("author").and_then(StaffId::parse),
            ) else {
                continue;
            };
            let body =
                SoapNote { subjective: f.str("s"), objective: f.str("o"), assessment: f.str("a"), plan: f.str("p") };
            // A conflict between "draft" and "signed" counts as signed: never reopen a signature.
            let status = if f.any_str_is("status", "signed") { NoteStatus::Signed } else { NoteStatus::Draft };
            let content_hash = f.str("hash");
            let intact = status == NoteStatus::Draft || content_hash == body_hash(&body);
            notes.push(NoteVersion {
                id,
                thread: f.opt_str("thread").and_then(NoteId::parse).unwrap_or(id),
                version: f.int("ver").unwrap_or(1) as u32,
                visit,
                replaces: f.opt_str("replaces").and_then(NoteId::parse),
                correction_reason: f.str("reason"),
                author,
                created_at: f.time("created").unwrap_or_default(),
                status,
                signed_by: f.opt_str("signed_by").and_then(StaffId::parse),
                signed_at: f.time("signed_at"),
                content_hash,
                body,
                intact,
            });
        }
        notes.sort_by_key(|n| (n.created_at, n.version));
        let mut conflicts = tree.conflicts;
        // Two corrections of the same version made on different devices: both kept, flagged.
        flag_rival_corrections(&notes, &mut conflicts);
        Ok(Chart { patient, demographics, qualifications, qualification_requests, consents, visits, notes, conflicts })
    }
}

fn demographics_fields(x: &Demographics) -> Vec<(&'static str, Value)> {
    vec![
        ("name", text(&x.name)),
        ("kana", text(&x.name_kana)),
        ("birth", text(x.birth_date.map(|b| b.to_string()).unwrap_or_default())),
        ("sex", text(&x.sex)),
        ("addr", text(&x.address)),
    ]
}

fn put_demographics(d: &mut AutoCommit, m: &ObjId, x: &Demographics) -> Result<()> {
    d.put(m, "name", x.name.as_str())?;
    d.put(m, "kana", x.name_kana.as_str())?;
    d.put(m, "birth", x.birth_date.map(|b| b.to_string()).unwrap_or_default())?;
    d.put(m, "sex", x.sex.as_str())?;
    d.put(m, "addr", x.address.as_str())?;
    Ok(())
}

fn tree_demographics(f: &Node<'_>) -> Demographics {
    Demographics {
        name: f.str("name"),
        name_kana: f.str("kana"),
        birth_date: f.opt_str("birth").and_then(|s| s.parse().ok()),
        sex: f.str("sex"),
        address: f.str("addr"),
    }
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
                path: format!("notes/{r}/corrections"),
                values: rivals.iter().map(|m| m.id.to_string()).collect(),
            });
        }
    }
}

fn put_body(d: &mut AutoCommit, m: &ObjId, body: &SoapNote) -> Result<()> {
    for (k, v) in body.fields() {
        // Plain strings written at save time, not character-level Text (see module doc).
        d.put(m, k, v)?;
    }
    Ok(())
}

fn read_body(f: &Fields) -> SoapNote {
    SoapNote { subjective: f.str("s"), objective: f.str("o"), assessment: f.str("a"), plan: f.str("p") }
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
        VisitKind::HomeMedical => "home",
        VisitKind::UrgentCall => "oushin",
        VisitKind::HomeNursing => "nursing",
    }
}

pub fn kind_from(s: &str) -> VisitKind {
    match s {
        "oushin" => VisitKind::UrgentCall,
        "nursing" => VisitKind::HomeNursing,
        _ => VisitKind::HomeMedical,
    }
}

fn validity_code(v: QualificationValidity) -> &'static str {
    match v {
        QualificationValidity::Valid => "valid",
        QualificationValidity::Invalid => "invalid",
        QualificationValidity::InvalidNewerExists => "invalid_newer",
        QualificationValidity::NotFound => "notfound",
        QualificationValidity::Unknown => "unknown",
    }
}

fn validity_from(s: &str) -> QualificationValidity {
    match s {
        "valid" => QualificationValidity::Valid,
        "invalid" => QualificationValidity::Invalid,
        "invalid_newer" => QualificationValidity::InvalidNewerExists,
        "notfound" => QualificationValidity::NotFound,
        _ => QualificationValidity::Unknown,
    }
}

#[cfg(test)]
mod tests;
