//! `houmon-training`: the seeded, deterministic synthetic clinic for 訓練モード, demos, tests and
//! benchmarks (ARCHITECTURE.md, *Embedded defaults*), written into a [`Store`].
//! Same seed and spec → the same clinic, patients, visits, notes and roster, byte for byte.
//! Every name is invented; nothing here is real patient data.
//!
//! Must never: contain or derive from real patient data, or draw randomness from anything but
//! the seed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use houmon_docs::{ChartDoc, RosterMonthDoc, month_key};
use houmon_model::error::Result;
use houmon_model::*;
use houmon_store::Store;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Size of the clinic to generate.
#[derive(Debug, Clone)]
pub struct ClinicSpec {
    pub seed: u64,
    pub patients: usize,
    pub visits_per_patient: usize,
    /// Approximate UTF-8 bytes per SOAP note.
    pub note_bytes: usize,
    pub staff: usize,
    /// Roster entries in the current month.
    pub visits_per_month: usize,
    /// "Today" for the roster and the visit history.
    pub today: NaiveDate,
}

impl ClinicSpec {
    /// The full clinic the benchmarks use: 1,000 patients × 200 visits × ~2 KB notes, 30 staff,
    /// ~3,000 visits a month.
    pub fn full(seed: u64) -> Self {
        Self {
            seed,
            patients: 1000,
            visits_per_patient: 200,
            note_bytes: 2048,
            staff: 30,
            visits_per_month: 3000,
            today: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
        }
    }

    /// A small clinic for tests.
    pub fn small(seed: u64) -> Self {
        Self { patients: 12, visits_per_patient: 6, staff: 5, visits_per_month: 60, ..Self::full(seed) }
    }
}

/// What was generated (ids the caller may want).
#[derive(Debug, Clone)]
pub struct SyntheticClinic {
    pub clinic: ClinicId,
    pub staff: Vec<Staff>,
    pub patients: Vec<PatientId>,
    pub today: NaiveDate,
    /// The generator's own actor (audit entries of the import).
    pub actor: Actor,
}

const SURNAMES: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
];
const GIVEN: &[(&str, &str, &str)] = &[
    ("花子", "ハナコ", "2"),
    ("太郎", "タロウ", "1"),
    ("幸子", "サチコ", "2"),
    ("一郎", "イチロウ", "1"),
    ("和子", "カズコ", "2"),
    ("茂", "シゲル", "1"),
    ("節子", "セツコ", "2"),
    ("清", "キヨシ", "1"),
    ("久子", "ヒサコ", "2"),
    ("勇", "イサム", "1"),
];
const WARDS: &[&str] = &["世田谷区", "杉並区", "練馬区", "大田区", "足立区", "江戸川区"];
const S_PHRASES: &[&str] = &[
    "夜間はよく眠れたとのこと。",
    "食欲はやや低下している。",
    "腰の痛みが続いている。",
    "家族より最近物忘れが増えたと聞く。",
    "息切れは先週より軽くなった。",
    "便通は二日に一回。",
    "足のむくみが気になると話す。",
    "内服は家族が管理しており飲み忘れなし。",
];
const O_PHRASES: &[&str] = &[
    "意識清明、会話は良好。",
    "両下腿に軽度の浮腫を認める。",
    "呼吸音清、副雑音なし。",
    "仙骨部に発赤なし。",
    "皮膚の乾燥あり。",
    "歩行は杖にて自立。",
    "口腔内は清潔に保たれている。",
    "腹部は平坦、軟、圧痛なし。",
];
const A_PHRASES: &[&str] = &[
    "心不全は安定している。",
    "褥瘡リスクは中等度。",
    "脱水の兆候なし。",
    "認知機能は緩やかに低下。",
    "疼痛コントロールは概ね良好。",
    "血糖は目標範囲内。",
];
const P_PHRASES: &[&str] = &[
    "現行の処方を継続する。",
    "次回は二週間後に訪問する。",
    "水分摂取を促すよう家族に説明した。",
    "体重を毎日記録するよう指導した。",
    "訪問看護と情報を共有する。",
    "必要時は往診を依頼するよう伝えた。",
];

fn text(rng: &mut ChaCha8Rng, phrases: &[&str], bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 64);
    while s.len() < bytes {
        s.push_str(phrases[rng.gen_range(0..phrases.len())]);
    }
    s
}

fn id_from(rng: &mut ChaCha8Rng) -> uuid::Uuid {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

fn at(date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    // Times are JST wall-clock; stored as UTC.
    let naive = date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default());
    Utc.from_utc_datetime(&naive) - Duration::hours(9)
}

/// Build one patient's chart in memory (deterministic for `seed`).
pub fn build_chart(spec: &ClinicSpec, staff: &[Staff], index: usize) -> Result<ChartDoc> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(index as u64 + 1)));
    let patient = PatientId(id_from(&mut rng));
    let mut c = ChartDoc::create(patient)?;
    c.seed_ids(rng.next_u64());
    let (sur, sur_k) = SURNAMES[rng.gen_range(0..SURNAMES.len())];
    let (given, given_k, sex) = GIVEN[rng.gen_range(0..GIVEN.len())];
    let demo = Demographics {
        name: format!("{sur} {given}"),
        name_kana: format!("{sur_k} {given_k}"),
        birth_date: NaiveDate::from_ymd_opt(rng.gen_range(1925..1960), rng.gen_range(1..13), rng.gen_range(1..29)),
        sex: sex.into(),
        address: format!(
            "東京都{}{}丁目{}番",
            WARDS[rng.gen_range(0..WARDS.len())],
            rng.gen_range(1..9),
            rng.gen_range(1..30)
        ),
    };
    let n = spec.visits_per_patient.max(1);
    // Visits roughly every 10 days, ending yesterday.
    let first = spec.today - Duration::days(10 * n as i64);
    c.set_demographics(&demo, at(first, 9, 0))?;
    let clinicians: Vec<&Staff> =
        staff.iter().filter(|s| matches!(s.role, StaffRole::Doctor | StaffRole::Nurse)).collect();
    let consent_by = clinicians.first().map(|s| s.id).unwrap_or_default();
    c.record_consent(&ConsentRecord {
        id: ConsentId(id_from(&mut rng)),
        recorded_at: at(first, 9, 5),
        recorded_by: consent_by,
        device: DeviceId(id_from(&mut rng)),
        medication: true,
        clinical: true,
        checkup: rng.gen_bool(0.5),
        surgery: rng.gen_bool(0.5),
        prescription: PrescriptionForm::Electronic,
        identity: IdentityMode::Visual,
        signature_hex: None,
        certificate_hex: None,
        nonce_hex: hex::encode(id_from(&mut rng).as_bytes()),
        revocation: false,
    })?;
    c.record_qualification(&QualificationSnapshot {
        id: QualificationId(id_from(&mut rng)),
        checked_at: at(first, 9, 10),
        insurer_number: format!("3913{:04}", rng.gen_range(0..10000)),
        symbol: String::new(),
        number: format!("{:08}", rng.gen_range(0..100_000_000u32)),
        branch: "00".into(),
        copay_percent: Some(*[10u8, 20, 30].choose(&mut rng).unwrap_or(&10)),
        validity: QualificationValidity::Valid,
        consent_medication: true,
        consent_clinical: true,
        consent_checkup: false,
        consent_surgery: false,
        consent_date: Some(first),
        consent_valid_until: Some(first + Duration::days(90)),
        demographics: demo.clone(),
    })?;
    let part = spec.note_bytes / 4;
    for v in 0..n {
        let day = first + Duration::days(10 * v as i64 + rng.gen_range(0..3));
        let who = clinicians[rng.gen_range(0..clinicians.len().max(1)).min(clinicians.len().saturating_sub(1))];
        let kind = if who.role == StaffRole::Doctor { VisitKind::HomeMedical } else { VisitKind::HomeNursing };
        let visit = VisitId(id_from(&mut rng));
        let hour = rng.gen_range(9..17);
        c.start_visit(visit, kind, who.id, at(day, hour, 0))?;
        c.record_vitals(
            visit,
            &Vitals {
                systolic: Some(rng.gen_range(100..160)),
                diastolic: Some(rng.gen_range(55..95)),
                pulse: Some(rng.gen_range(55..100)),
                spo2: Some(rng.gen_range(92..100)),
                temperature: Some(35.8 + rng.gen_range(0..15) as f64 / 10.0),
                respiration: Some(rng.gen_range(12..22)),
                weight: Some(40.0 + rng.gen_range(0..300) as f64 / 10.0),
            },
            at(day, hour, 10),
        )?;
        if v == 0 {
            c.add_item(
                visit,
                &ClinicalItem {
                    id: ItemId(id_from(&mut rng)),
                    list: ClinicalList::Diagnoses,
                    label: "慢性心不全".into(),
                    code: "8833421".into(),
                    added_by: who.id,
                    added_at: at(day, hour, 15),
                },
            )?;
        }
        let body = SoapNote {
            subjective: text(&mut rng, S_PHRASES, part),
            objective: text(&mut rng, O_PHRASES, part),
            assessment: text(&mut rng, A_PHRASES, part),
            plan: text(&mut rng, P_PHRASES, part),
        };
        let note = c.save_note(who.id, visit, None, &body, at(day, hour, 40))?;
        c.sign_note(who.id, note, at(day, hour, 45))?;
        c.end_visit(visit, at(day, hour, 50))?;
    }
    Ok(c)
}

/// The staff list for a spec: about 1 doctor in 5, mostly nurses, a few office and admin (the
/// demo's five: a doctor, two nurses, office, admin).
pub fn build_staff(spec: &ClinicSpec) -> Vec<Staff> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x5AFF);
    (0..spec.staff)
        .map(|i| {
            let role = match i % 10 {
                0 | 5 => StaffRole::Doctor,
                3 => StaffRole::Office,
                4 if i % 20 == 4 => StaffRole::Admin,
                _ => StaffRole::Nurse,
            };
            let (sur, sur_kana) = SURNAMES[rng.gen_range(0..SURNAMES.len())];
            let (given, given_kana, _) = GIVEN[rng.gen_range(0..GIVEN.len())];
            Staff {
                id: StaffId(id_from(&mut rng)),
                name: format!("{sur} {given}"),
                kana: format!("{sur_kana} {given_kana}"),
                role,
                qualifications: String::new(),
                active: true,
            }
        })
        .collect()
}

/// Build the current month's roster (deterministic).
pub fn build_roster(
    spec: &ClinicSpec,
    clinic: ClinicId,
    staff: &[Staff],
    patients: &[PatientId],
) -> Result<RosterMonthDoc> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x0705_7E12);
    let month = month_key(spec.today);
    let mut r = RosterMonthDoc::create(clinic, &month)?;
    r.automerge().set_actor(automerge::ActorId::from(id_from(&mut rng).as_bytes().to_vec()));
    let first = spec.today.with_day(1).unwrap_or(spec.today);
    let days: Vec<NaiveDate> = (0..31)
        .map(|d| first + Duration::days(d))
        .filter(|d| d.month() == first.month() && d.weekday().number_from_monday() <= 5)
        .collect();
    let clinicians: Vec<&Staff> =
        staff.iter().filter(|s| matches!(s.role, StaffRole::Doctor | StaffRole::Nurse)).collect();
    if clinicians.is_empty() || patients.is_empty() || days.is_empty() {
        return Ok(r);
    }
    for i in 0..spec.visits_per_month {
        let date = days[i % days.len()];
        let who = clinicians[(i / days.len()) % clinicians.len()];
        let slot = (i / (days.len() * clinicians.len())) as u32 % 8;
        let kind = if who.role == StaffRole::Doctor { VisitKind::HomeMedical } else { VisitKind::HomeNursing };
        let status = if date < spec.today {
            if rng.gen_bool(0.03) { VisitStatus::Cancelled } else { VisitStatus::Done }
        } else {
            VisitStatus::Planned
        };
        r.plan_visit(
            &RosterVisit {
                id: VisitId(id_from(&mut rng)),
                date,
                start: NaiveTime::from_hms_opt(9 + slot, 0, 0).unwrap_or_default(),
                end: NaiveTime::from_hms_opt(9 + slot, 45, 0).unwrap_or_default(),
                patient: patients[rng.gen_range(0..patients.len())],
                staff: vec![who.id],
                kind,
                status,
                cancel_reason: String::new(),
                series: None,
            },
            at(first, 8, 0),
        )?;
    }
    Ok(r)
}

/// Generate the whole clinic into `store` (one chart at a time, so memory stays flat).
pub fn generate(spec: &ClinicSpec, store: &mut Store) -> Result<SyntheticClinic> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let clinic = ClinicId(id_from(&mut rng));
    let actor = Actor { staff: StaffId(id_from(&mut rng)), device: DeviceId(id_from(&mut rng)) };
    let now = at(spec.today, 8, 0);
    store.set_clock(move || now);
    store.init_clinic(&actor, clinic, "訓練用 在宅クリニック", "1319999999")?;
    let staff = build_staff(spec);
    for s in &staff {
        store.put_staff(&actor, s)?;
    }
    let mut patients = Vec::with_capacity(spec.patients);
    for i in 0..spec.patients {
        let mut chart = build_chart(spec, &staff, i)?;
        patients.push(store.import_chart(&actor, &mut chart)?);
    }
    let mut roster = build_roster(spec, clinic, &staff, &patients)?;
    store.import_roster(&actor, &month_key(spec.today), &mut roster)?;
    Ok(SyntheticClinic { clinic, staff, patients, today: spec.today, actor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use houmon_keys::FileFallback;

    #[test]
    fn same_seed_same_clinic_byte_for_byte() {
        let spec = ClinicSpec::small(7);
        let staff = build_staff(&spec);
        let a = build_chart(&spec, &staff, 3).unwrap().automerge().save();
        let b = build_chart(&spec, &staff, 3).unwrap().automerge().save();
        assert_eq!(a, b);
        let other =
            build_chart(&ClinicSpec::small(8), &build_staff(&ClinicSpec::small(8)), 3).unwrap().automerge().save();
        assert_ne!(a, other);
    }

    #[test]
    fn small_clinic_is_generated_and_usable() {
        let dir = tempfile::tempdir().unwrap();
        let spec = ClinicSpec::small(1);
        let mut store = Store::open(dir.path(), &FileFallback).unwrap();
        let clinic = generate(&spec, &mut store).unwrap();
        assert_eq!(store.patient_list().unwrap().len(), spec.patients);
        assert_eq!(store.clinic().unwrap().staff.len(), spec.staff);
        let chart = store.open_chart(&clinic.actor, clinic.patients[0]).unwrap();
        assert_eq!(chart.visits.len(), spec.visits_per_patient);
        assert_eq!(chart.notes.len(), spec.visits_per_patient);
        assert!(chart.notes.iter().all(|n| n.status == NoteStatus::Signed && n.intact));
        let note_len = chart.notes[0].body.subjective.len() * 4;
        assert!((2048..2600).contains(&note_len), "note ~2 KB, got {note_len}");
        let (month, _) = store.roster_month(&month_key(spec.today)).unwrap();
        assert_eq!(month.len(), spec.visits_per_month);
        let busy = clinic.staff.iter().map(|s| store.todays_roster(s.id, spec.today).unwrap().len()).sum::<usize>();
        assert!(busy > 0, "someone visits today");
        assert!(store.verify_audit().unwrap().ok());
    }
}
