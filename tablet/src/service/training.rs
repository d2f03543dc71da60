//! 訓練モード (the `training` feature): the seeded synthetic clinic, the demo day, and the
//! synthetic cards on an in-process reader.

use super::*;
use chrono::NaiveTime;
use houmon_nfc::{VirtualCard, VirtualTransport};
use houmon_training::{self as synth, ClinicSpec};

const DEMO_DEVICE: &str = "0d0c7e11-0000-4000-8000-0000000de71c";

/// The card reader in training mode: which synthetic card lies on it. Each card keeps its
/// PIN counter for the whole session, as a real card would.
#[derive(Debug, Default)]
pub(crate) struct TrainingReader {
    pub(crate) cards: HashMap<String, VirtualTransport>,
    pub(crate) on_reader: Option<String>,
    /// Simulate the card leaving the reader after this many APDUs (training the error).
    pub(crate) remove_after: Option<u32>,
}

impl Service {
    /// Open the store in `data_dir`, seeding the demo clinic on first start, and make sure
    /// the training doctor has visits today.
    pub fn open(opts: &ServiceOptions) -> Result<Self, UiError> {
        let dir = opts.data_dir.join("store");
        std::fs::create_dir_all(&dir).map_err(|e| UiError::from(CoreError::Io(e)))?;
        let today = opts.today.unwrap_or_else(jst_today);
        // The OS keystore where there is one; else the marked file fallback, which the UI
        // shows as a warning (core's KeyProtection::FileFallback).
        let mut store = Store::open(&dir, &*crate::device::os_keystore(&opts.data_dir))?;
        let staff_id = StaffId::parse(DEMO_STAFF).unwrap_or_default();
        let actor = Actor { staff: staff_id, device: DeviceId::parse(DEMO_DEVICE).unwrap_or_default() };
        if store.patient_list()?.is_empty() {
            let spec = ClinicSpec { today, ..ClinicSpec::small(DEMO_SEED) };
            synth::generate(&spec, &mut store)?;
            store.set_clock(Utc::now);
            store.put_staff(
                &actor,
                &m::Staff {
                    id: staff_id,
                    name: "訓練 医師".into(),
                    kana: "クンレン イシ".into(),
                    role: m::StaffRole::Doctor,
                    qualifications: String::new(),
                    active: true,
                },
            )?;
        }
        store.set_clock(Utc::now);
        let clinic = store.clinic()?;
        let me = clinic.staff.iter().find(|s| s.id == staff_id).cloned();
        let institution = MedicalInstitutionCode::parse(&clinic.institution_code)
            .or_else(|_| MedicalInstitutionCode::parse("1319999999"))
            .map_err(|_| {
                UiError::new(
                    AppErrorCode::Config,
                    "医療機関コードが正しくありません。管理者に連絡してください。",
                    "The institution code is invalid. Contact your administrator.",
                )
            })?;
        let mut svc = Self::assemble(opts, store, actor, me, clinic.name, institution, true);
        svc.apply_settings();
        svc.ensure_demo_day()?;
        svc.replay_consents_to_simulator();
        svc.store.session_started(&svc.actor)?;
        Ok(svc)
    }

    /// The synthetic card holders are the training patients: each gets a visit today for the
    /// training doctor (first visits, a 往診, the revoked and the expired card).
    pub(crate) fn ensure_demo_day(&mut self) -> Result<(), UiError> {
        let doctor = StaffId::parse(DEMO_STAFF).unwrap_or(self.actor.staff);
        if !self.store.todays_roster(doctor, self.today())?.is_empty() {
            return Ok(());
        }
        let existing = self.store.patient_list()?;
        for (i, h) in houmon_nfc::synthetic_holders().iter().enumerate() {
            let name = format!("{} {}", h.family_name, h.given_name);
            // By birth date: after a qualification check the name is the official one
            // (full-width space), so it no longer equals the card holder's spelling.
            let patient = match existing.iter().find(|p| p.birth_date == Some(h.birth_date)) {
                Some(p) => p.id,
                None => self.store.register_patient(
                    &self.actor,
                    &m::Demographics {
                        name,
                        name_kana: format!("{} {}", h.family_kana, h.given_kana),
                        birth_date: Some(h.birth_date),
                        sex: h.sex.clone(),
                        address: h.address.clone(),
                    },
                )?,
            };
            let hour = 9 + 2 * i as u32;
            let kind = if h.id == "vc-03" { m::VisitKind::UrgentCall } else { m::VisitKind::HomeMedical };
            self.store.plan_visit(
                &self.actor,
                &m::RosterVisit {
                    id: VisitId::new(),
                    date: self.today(),
                    start: NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default(),
                    end: NaiveTime::from_hms_opt(hour, 45, 0).unwrap_or_default(),
                    patient,
                    staff: vec![doctor],
                    kind,
                    status: m::VisitStatus::Planned,
                    cancel_reason: String::new(),
                    series: None,
                },
            )?;
        }
        Ok(())
    }

    /// The in-process simulator forgets everything when the app stops; give it back the
    /// card-signed consents this device holds, so 再照会 keeps working after a restart.
    pub(crate) fn replay_consents_to_simulator(&mut self) {
        let Ok(patients) = self.store.patient_list() else { return };
        let holders = houmon_nfc::synthetic_holders();
        for p in patients {
            if !holders.iter().any(|h| p.birth_date == Some(h.birth_date)) {
                continue;
            }
            let Ok(chart) = self.store.read_chart(p.id) else { continue };
            for c in chart.consents.iter().filter(|c| c.identity == m::IdentityMode::Pin && !c.revocation) {
                let (Some(sig), Some(cert)) = (&c.signature_hex, &c.certificate_hex) else { continue };
                let (Ok(sig), Ok(cert), Ok(nonce)) = (hex::decode(sig), hex::decode(cert), hex::decode(&c.nonce_hex))
                else {
                    continue;
                };
                let kind = chart
                    .visits
                    .iter()
                    .filter(|v| v.arrival.is_some_and(|a| (a - c.recorded_at).num_seconds().abs() < 600))
                    .map(|v| v.kind)
                    .next()
                    .unwrap_or(m::VisitKind::HomeMedical);
                let choices = ConsentChoices {
                    medication: c.medication,
                    clinical: c.clinical,
                    checkup: c.checkup,
                    surgery: c.surgery,
                    prescription: c.prescription,
                };
                let record = self.onshi_record(&choices, kind.into(), digest::IdentityMode::Pin, &cert);
                let _ = self.sim.first_visit(&FirstVisitRequest {
                    record,
                    nonce,
                    signed_at: c.recorded_at.with_timezone(&rules::jst()),
                    certificate_der: cert,
                    proof: IdentityProof::Pin { signature: sig },
                    arbitrary_file_identifier: None,
                });
            }
            self.cache_chart(p.id, &chart);
        }
    }

    pub fn demo_cards(&self) -> Vec<DemoCard> {
        houmon_nfc::synthetic_holders()
            .into_iter()
            .map(|h| DemoCard {
                on_reader: self.reader.on_reader.as_deref() == Some(h.id.as_str()),
                label: format!("{} {} {}", h.id, h.family_name, h.given_name),
                note: h.note.clone(),
                id: h.id,
            })
            .collect()
    }

    /// Training reader: put a synthetic card on it (None = take it off), optionally making it
    /// leave the reader during the next read.
    pub fn demo_place_card(&mut self, id: Option<&str>, remove_after: Option<u32>) -> Result<(), UiError> {
        if let Some(id) = id
            && !houmon_nfc::synthetic_holders().iter().any(|h| h.id == id)
        {
            return Err(bad_id("カード"));
        }
        self.reader.on_reader = id.map(str::to_string);
        self.reader.remove_after = remove_after;
        Ok(())
    }
}

impl TrainingReader {
    pub(crate) fn card(&mut self) -> Result<&mut VirtualTransport, CardError> {
        let id = self.on_reader.clone().ok_or(CardError::NoCard)?;
        if !self.cards.contains_key(&id) {
            let vc = VirtualCard::new(&id)?;
            self.cards.insert(id.clone(), VirtualTransport::new(vc));
        }
        let t = self.cards.get_mut(&id).ok_or(CardError::NoCard)?;
        t.remove_after = self.remove_after.take();
        Ok(t)
    }
}
