//! The simulator's deterministic synthetic registry: people, their insurance records and the
//! link from a card's 利用者証明用 certificate to a person.
//!
//! Everyone here is invented. Insurer numbers use 保険者別番号 9xx (not real insurers) with valid
//! check digits. No 個人番号 exists anywhere in this model.

use crate::codes::*;
use crate::kana::to_halfwidth_kana;
use crate::numbers::{InsurerNumber, check_digit};
use crate::types::*;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// A synthetic card holder as listed in `fixtures/jpki-test/people.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardHolder {
    pub id: String,
    pub family_name: String,
    pub given_name: String,
    pub family_kana: String,
    pub given_kana: String,
    pub birth_date: NaiveDate,
    /// ISO 5218: 1 male, 2 female.
    pub sex: String,
    pub address: String,
    pub cert_serial: String,
    pub cert_sha256: String,
    #[serde(default)]
    pub note: String,
}

/// The card holders of the workspace's test CA (PINs and security codes are not read).
pub const FIXTURE_PEOPLE_JSON: &str = include_str!("../../../fixtures/jpki-test/people.json");

/// Parses a people.json list (unknown fields such as `pin` are ignored, not kept).
pub fn parse_card_holders(json: &str) -> Result<Vec<CardHolder>, serde_json::Error> {
    serde_json::from_str(json)
}

/// One insured person, with the history of their qualifications (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimPerson {
    /// Stable id: the card holder id (`vc-01`) or `sp-NNN`.
    pub id: String,
    /// SHA-256 (hex) of the person's 利用者証明用 certificate, when they hold a test card.
    pub certificate_sha256: Option<String>,
    /// Serial (hex) of that certificate.
    pub certificate_serial: Option<String>,
    /// What this person is for in training (Japanese).
    pub note_ja: String,
    /// Insurance records, oldest first; the last valid one is current.
    pub qualifications: Vec<ResultOfQualificationConfirmation>,
}

impl SimPerson {
    pub fn name(&self) -> &str {
        self.qualifications.last().and_then(|q| q.name.as_deref()).unwrap_or("")
    }
    pub fn birthdate(&self) -> Option<NaiveDate> {
        self.qualifications.last().and_then(|q| q.birthdate)
    }
    /// The qualification valid on `date`, if any.
    pub fn valid_on(&self, date: NaiveDate) -> Option<&ResultOfQualificationConfirmation> {
        self.qualifications.iter().rev().find(|q| is_valid_on(q, date))
    }
}

/// True when the record is in force on `date`.
pub fn is_valid_on(q: &ResultOfQualificationConfirmation, date: NaiveDate) -> bool {
    q.qualification_date.is_none_or(|d| d <= date) && q.disqualification_date.is_none_or(|d| date < d)
}

/// The registry: every person, searchable by numbers or certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    pub persons: Vec<SimPerson>,
}

/// A search hit.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub person: &'a SimPerson,
    pub qualification: &'a ResultOfQualificationConfirmation,
}

/// Compares 記号・番号 as a clerk would: ignoring spaces, full-width ASCII as half-width.
fn norm(s: Option<&str>) -> String {
    s.unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect()
}

impl Registry {
    /// The standard synthetic registry including the workspace's test card holders.
    pub fn synthetic() -> Self {
        let holders = parse_card_holders(FIXTURE_PEOPLE_JSON).unwrap_or_default();
        Self::with_card_holders(&holders)
    }

    /// The synthetic registry with these card holders added.
    pub fn with_card_holders(holders: &[CardHolder]) -> Self {
        let mut persons: Vec<SimPerson> = holders.iter().enumerate().map(|(i, h)| card_holder_person(i, h)).collect();
        persons.extend(special_people());
        persons.extend((0..24).map(ordinary_person));
        Self { persons }
    }

    pub fn person(&self, id: &str) -> Option<&SimPerson> {
        self.persons.iter().find(|p| p.id == id)
    }

    /// The person holding the card whose certificate has this SHA-256 (hex).
    pub fn by_certificate(&self, sha256_hex: &str) -> Option<&SimPerson> {
        let h = sha256_hex.to_ascii_lowercase();
        self.persons.iter().find(|p| p.certificate_sha256.as_deref() == Some(h.as_str()))
    }

    /// Every record matching 保険者番号・記号・番号・枝番・生年月日 (empty parts of the search
    /// other than 番号 are not compared).
    pub fn by_numbers(&self, s: &QualificationConfirmSearchInfo) -> Vec<Hit<'_>> {
        let Some(insurer) = &s.insurer_number else { return vec![] };
        let number = norm(s.insured_identification_number.as_deref());
        if number.is_empty() {
            return vec![];
        }
        let mut hits = vec![];
        for p in &self.persons {
            for q in &p.qualifications {
                let same = q.insurer_number.as_ref() == Some(insurer)
                    && norm(q.insured_identification_number.as_deref()) == number
                    && norm(q.insured_card_symbol.as_deref()) == norm(s.insured_card_symbol.as_deref())
                    && (s.insured_branch_number.is_none() || q.insured_branch_number == s.insured_branch_number)
                    && (s.birthdate.is_none() || q.birthdate == s.birthdate);
                if same {
                    hits.push(Hit { person: p, qualification: q });
                }
            }
        }
        hits
    }

    /// The search info a clinic would keep after a first visit for this record.
    pub fn search_info_for(q: &ResultOfQualificationConfirmation) -> QualificationConfirmSearchInfo {
        QualificationConfirmSearchInfo {
            insurer_number: q.insurer_number.clone(),
            insured_card_symbol: q.insured_card_symbol.clone(),
            insured_identification_number: q.insured_identification_number.clone(),
            insured_branch_number: q.insured_branch_number.clone(),
            birthdate: q.birthdate,
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------- data

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

#[derive(Clone, Copy)]
enum Plan {
    /// 市町村国保 (6-digit insurer).
    Kokuho(usize),
    /// 協会けんぽ.
    Kyokai,
    /// 健康保険組合.
    Kumiai,
    /// 後期高齢者医療.
    Kouki,
}

const KOKUHO: [(&str, &str); 3] = [("13901", "訪問台市"), ("13902", "模擬区"), ("11903", "試験町")];

fn insurer(plan: Plan) -> (InsurerNumber, &'static str) {
    let (body, name) = match plan {
        Plan::Kokuho(i) => KOKUHO[i % KOKUHO.len()],
        Plan::Kyokai => ("0113901", "全国健康保険協会 東京支部（模擬）"),
        Plan::Kumiai => ("0613902", "模擬商事健康保険組合"),
        Plan::Kouki => ("3913903", "東京都後期高齢者医療広域連合（模擬）"),
    };
    (InsurerNumber::from_body(body).unwrap_or_else(|_| InsurerNumber::parse("06130488").expect("valid")), name)
}

/// 後期高齢 番号: 8 digits, last is the check digit over the first 7.
fn kouki_number(seed: u32) -> String {
    let body = format!("{:07}", 1_300_000 + seed * 37);
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    format!("{body}{}", check_digit(&digits))
}

struct Base<'a> {
    family: &'a str,
    given: &'a str,
    family_kana: &'a str,
    given_kana: &'a str,
    birth: NaiveDate,
    sex: Sex,
    address: &'a str,
    post: &'a str,
}

fn record(b: &Base, plan: Plan, seed: u32) -> ResultOfQualificationConfirmation {
    let (ins, ins_name) = insurer(plan);
    let name = format!("{}　{}", b.family, b.given);
    let (symbol, number, ratio) = match plan {
        Plan::Kokuho(_) => (Some(format!("模{:02}", seed % 50)), format!("{:06}", 400_000 + seed * 113), 30),
        Plan::Kyokai => (Some(format!("{:07}", 3_900_000 + seed)), format!("{}", 10 + seed % 80), 30),
        Plan::Kumiai => (Some(format!("{:03}", 100 + seed % 400)), format!("{}", 1000 + seed), 30),
        Plan::Kouki => (None, kouki_number(seed), 10),
    };
    ResultOfQualificationConfirmation {
        insured_card_classification: Some(InsuredCardClassification::General),
        insurer_number: Some(ins),
        insured_card_symbol: symbol,
        insured_identification_number: Some(number),
        insured_branch_number: Some("00".into()),
        personal_family_classification: Some(PersonalFamilyClassification::Insured),
        insured_name: Some(name.clone()),
        name: Some(name),
        name_kana: Some(to_halfwidth_kana(&format!("{} {}", b.family_kana, b.given_kana))),
        sex1: Some(b.sex),
        birthdate: Some(b.birth),
        address: Some(b.address.to_owned()),
        post_number: Some(b.post.to_owned()),
        qualification_date: Some(match plan {
            // 後期高齢 starts on the 75th birthday.
            Plan::Kouki => b.birth.with_year(b.birth.year() + 75).unwrap_or(date(2008, 4, 1)).max(date(2008, 4, 1)),
            _ => date(2016 + (seed % 6) as i32, 4, 1),
        }),
        insured_certificate_issuance_date: Some(date(2024, 8, 1)),
        insured_card_valid_date: Some(date(2024, 8, 1)),
        insured_card_expiration_date: Some(date(2029, 7, 31)),
        insured_partial_contribution_ratio: Some(ContributionRatio(ratio)),
        insurer_name: Some(ins_name.to_owned()),
        ..Default::default()
    }
}

fn sex_of(iso5218: &str) -> Sex {
    match iso5218.trim() {
        "1" => Sex::Male,
        "2" => Sex::Female,
        _ => Sex::Unset,
    }
}

fn card_holder_person(i: usize, h: &CardHolder) -> SimPerson {
    let base = Base {
        family: &h.family_name,
        given: &h.given_name,
        family_kana: &h.family_kana,
        given_kana: &h.given_kana,
        birth: h.birth_date,
        sex: sex_of(&h.sex),
        address: &h.address,
        post: "176-0090",
    };
    let age_2026 = 2026 - h.birth_date.year();
    let plan = if age_2026 >= 75 {
        Plan::Kouki
    } else if i.is_multiple_of(2) {
        Plan::Kokuho(i)
    } else {
        Plan::Kyokai
    };
    let mut q = record(&base, plan, 900 + i as u32);
    let mut note = format!("テストカード {}", h.id);
    match i % 4 {
        0 => {
            q.limit_application_certificate_related_info = Some(LimitApplicationCertificateInfo {
                classification: Some(LimitApplicationClassification::LimitAndStandardReduction),
                classification_flag: Some(if matches!(plan, Plan::Kouki) {
                    LimitClassificationFlag::B05
                } else {
                    LimitClassificationFlag::A05
                }),
                certificate_date: Some(date(2025, 8, 1)),
                valid_start_date: Some(date(2025, 8, 1)),
                valid_end_date: Some(date(2027, 7, 31)),
                long_term_date: None,
            });
            note.push_str("・限度額適用認定証あり");
        }
        1 => {
            q.specific_diseases_certificate_list.push(SpecificDiseasesCertificateInfo {
                disease_category: Some(SpecificDiseaseCategory::ChronicRenalFailureDialysis),
                certificate_date: Some(date(2022, 4, 1)),
                valid_start_date: Some(date(2022, 4, 1)),
                valid_end_date: None,
                self_pay: Some(10_000),
            });
            note.push_str("・特定疾病（人工透析）あり");
        }
        _ => {}
    }
    let mut history = vec![];
    if matches!(plan, Plan::Kouki) {
        note.push_str("・後期高齢者");
        // Everyone moves to 後期高齢者医療 on the 75th birthday: the old 国保 numbers then
        // answer 3 無効（新しい資格あり）.
        if let Some(q0) = q.qualification_date.filter(|d| *d > date(2016, 4, 1)) {
            let mut old = record(&base, Plan::Kokuho(i), 800 + i as u32);
            old.qualification_date = Some(date(2016, 4, 1));
            old.disqualification_date = Some(q0);
            old.reason_of_loss = Some(ReasonOfLoss::OtherInsurance);
            history.push(old);
            note.push_str("・旧国保番号あり（資格有効性 3）");
        }
    }
    if i == 2 {
        // Loses the qualification on 2027-01-01 (生活保護 begins): 再照会 after that answers
        // 資格有効性 2 無効.
        q.disqualification_date = Some(date(2027, 1, 1));
        q.reason_of_loss = Some(ReasonOfLoss::PublicAssistance);
        note.push_str("・2027-01-01 資格喪失（生活保護開始）");
    }
    history.push(q);
    if !h.note.is_empty() {
        note.push_str(&format!("（{}）", h.note));
    }
    SimPerson {
        id: h.id.clone(),
        certificate_sha256: Some(h.cert_sha256.to_ascii_lowercase()),
        certificate_serial: Some(h.cert_serial.to_ascii_lowercase()),
        note_ja: note,
        qualifications: history,
    }
}

fn special_people() -> Vec<SimPerson> {
    let addr = "東京都模擬区訪問台二丁目5番8号";
    let mut out = vec![];
    // A family on 協会けんぽ: 本人, 配偶者, 未就学の子 sharing 記号・番号 with 枝番 00/01/02.
    let members = [
        ("誠", "マコト", date(1978, 7, 7), Sex::Male, "00"),
        ("久美子", "クミコ", date(1980, 12, 31), Sex::Female, "01"),
        ("蓮", "レン", date(2021, 5, 5), Sex::Male, "02"),
    ];
    for (k, (given, kana, birth, sex, branch)) in members.into_iter().enumerate() {
        let b = Base {
            family: "山田",
            given,
            family_kana: "ヤマダ",
            given_kana: kana,
            birth,
            sex,
            address: addr,
            post: "176-0091",
        };
        let mut q = record(&b, Plan::Kyokai, 501);
        q.insured_branch_number = Some(branch.into());
        q.insured_name = Some("山田　誠".into());
        if k > 0 {
            q.personal_family_classification = Some(PersonalFamilyClassification::Dependent);
        }
        if k == 2 {
            q.preschool_classification = Some(PreschoolClassification::Preschool);
            q.insured_partial_contribution_ratio = Some(ContributionRatio(20));
        }
        out.push(SimPerson {
            id: format!("sp-10{k}"),
            certificate_sha256: None,
            certificate_serial: None,
            note_ja: ["家族（本人）", "家族（配偶者）", "家族（未就学の子）"][k].into(),
            qualifications: vec![q],
        });
    }
    // 特定疾病 on 後期高齢.
    let b = Base {
        family: "小林",
        given: "勇",
        family_kana: "コバヤシ",
        given_kana: "イサム",
        birth: date(1943, 3, 3),
        sex: Sex::Male,
        address: addr,
        post: "176-0092",
    };
    let mut q = record(&b, Plan::Kouki, 510);
    q.insured_partial_contribution_ratio = Some(ContributionRatio(20));
    q.specific_diseases_certificate_list.push(SpecificDiseasesCertificateInfo {
        disease_category: Some(SpecificDiseaseCategory::ChronicRenalFailureDialysis),
        certificate_date: Some(date(2019, 6, 1)),
        valid_start_date: Some(date(2019, 6, 1)),
        valid_end_date: None,
        self_pay: Some(10_000),
    });
    out.push(SimPerson {
        id: "sp-110".into(),
        certificate_sha256: None,
        certificate_serial: None,
        note_ja: "後期高齢者・特定疾病（人工透析）".into(),
        qualifications: vec![q],
    });
    // 限度額 on 国保 with 高齢受給者証 (70–74).
    let b = Base {
        family: "中村",
        given: "和夫",
        family_kana: "ナカムラ",
        given_kana: "カズオ",
        birth: date(1954, 10, 10),
        sex: Sex::Male,
        address: addr,
        post: "176-0093",
    };
    let mut q = record(&b, Plan::Kokuho(0), 511);
    q.insured_partial_contribution_ratio = Some(ContributionRatio(20));
    q.elderly_recipient_certificate_info = Some(ElderlyRecipientCertificateInfo {
        certificate_date: Some(date(2024, 10, 1)),
        valid_start_date: Some(date(2024, 11, 1)),
        valid_end_date: Some(date(2027, 7, 31)),
        contribution_ratio: Some(ContributionRatio(20)),
    });
    q.limit_application_certificate_related_info = Some(LimitApplicationCertificateInfo {
        classification: Some(LimitApplicationClassification::LimitApplication),
        classification_flag: Some(LimitClassificationFlag::B03),
        certificate_date: Some(date(2025, 8, 1)),
        valid_start_date: Some(date(2025, 8, 1)),
        valid_end_date: Some(date(2026, 7, 31)),
        long_term_date: None,
    });
    out.push(SimPerson {
        id: "sp-111".into(),
        certificate_sha256: None,
        certificate_serial: None,
        note_ja: "国保・高齢受給者・限度額適用（現役並みⅠ）".into(),
        qualifications: vec![q],
    });
    // Lost qualification with nothing newer: 資格有効性 2.
    let b = Base {
        family: "加藤",
        given: "恵子",
        family_kana: "カトウ",
        given_kana: "ケイコ",
        birth: date(1985, 1, 20),
        sex: Sex::Female,
        address: addr,
        post: "176-0094",
    };
    let mut q = record(&b, Plan::Kyokai, 512);
    q.disqualification_date = Some(date(2025, 4, 1));
    q.reason_of_loss = Some(ReasonOfLoss::Other);
    out.push(SimPerson {
        id: "sp-112".into(),
        certificate_sha256: None,
        certificate_serial: None,
        note_ja: "資格喪失済み（資格有効性 2 無効）".into(),
        qualifications: vec![q],
    });
    // Changed insurer: the old numbers answer 3 無効（新しい資格あり）.
    let b = Base {
        family: "吉田",
        given: "博",
        family_kana: "ヨシダ",
        given_kana: "ヒロシ",
        birth: date(1960, 6, 15),
        sex: Sex::Male,
        address: addr,
        post: "176-0095",
    };
    let mut old = record(&b, Plan::Kumiai, 513);
    old.disqualification_date = Some(date(2025, 10, 1));
    old.reason_of_loss = Some(ReasonOfLoss::OtherInsurance);
    let mut new = record(&b, Plan::Kokuho(1), 513);
    new.qualification_date = Some(date(2025, 10, 1));
    out.push(SimPerson {
        id: "sp-113".into(),
        certificate_sha256: None,
        certificate_serial: None,
        note_ja: "保険者変更（旧番号は 3 無効（新しい資格あり））".into(),
        qualifications: vec![old, new],
    });
    // Two people recorded under the same numbers and birth date (an insurer data error):
    // 資格有効性 5 複数該当. Born on a leap day.
    for (k, (given, kana)) in [("千代", "チヨ"), ("キヨ", "キヨ")].into_iter().enumerate() {
        let b = Base {
            family: "佐々木",
            given,
            family_kana: "ササキ",
            given_kana: kana,
            birth: date(1940, 2, 29),
            sex: Sex::Female,
            address: addr,
            post: "176-0096",
        };
        let mut q = record(&b, Plan::Kouki, 514);
        q.insured_identification_number = Some(kouki_number(514));
        out.push(SimPerson {
            id: format!("sp-12{k}"),
            certificate_sha256: None,
            certificate_serial: None,
            note_ja: "同じ番号で2人登録（資格有効性 5 複数該当）".into(),
            qualifications: vec![q],
        });
    }
    out
}

const FAMILY: [(&str, &str); 16] = [
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("石川", "イシカワ"),
    ("前田", "マエダ"),
    ("藤田", "フジタ"),
    ("岡田", "オカダ"),
];
const FEMALE: [(&str, &str); 8] = [
    ("節子", "セツコ"),
    ("和子", "カズコ"),
    ("洋子", "ヨウコ"),
    ("美智子", "ミチコ"),
    ("ハル", "ハル"),
    ("千代子", "チヨコ"),
    ("静江", "シズエ"),
    ("陽菜", "ヒナ"),
];
const MALE: [(&str, &str); 8] = [
    ("茂", "シゲル"),
    ("清", "キヨシ"),
    ("正男", "マサオ"),
    ("健一", "ケンイチ"),
    ("武", "タケシ"),
    ("昭", "アキラ"),
    ("大輔", "ダイスケ"),
    ("翔太", "ショウタ"),
];
const TOWNS: [&str; 4] = ["東京都模擬区訪問台", "東京都模擬区試験町", "埼玉県訪問台市緑町", "東京都模擬市本町"];

fn ordinary_person(i: u32) -> SimPerson {
    let (family, fkana) = FAMILY[(i as usize * 7) % FAMILY.len()];
    let female = i % 3 != 1;
    let (given, gkana) = if female { FEMALE[(i as usize * 5) % 8] } else { MALE[(i as usize * 3) % 8] };
    // Mostly elderly, as home-visit patients are.
    let year = if i % 6 == 5 { 1960 + (i * 3) % 30 } else { 1926 + (i * 7) % 26 } as i32;
    let birth = date(year, 1 + (i * 5) % 12, 1 + (i * 11) % 28);
    let address =
        format!("{}{}丁目{}番{}号", TOWNS[i as usize % TOWNS.len()], 1 + i % 5, 1 + (i * 3) % 20, 1 + (i * 7) % 15);
    let post = format!("176-{:04}", 100 + i);
    let b = Base {
        family,
        given,
        family_kana: fkana,
        given_kana: gkana,
        birth,
        sex: if female { Sex::Female } else { Sex::Male },
        address: &address,
        post: &post,
    };
    let plan = if year <= 1951 {
        Plan::Kouki
    } else if i.is_multiple_of(2) {
        Plan::Kokuho(i as usize)
    } else {
        Plan::Kyokai
    };
    let mut q = record(&b, plan, i);
    if matches!(plan, Plan::Kouki) {
        q.insured_partial_contribution_ratio = Some(ContributionRatio([10, 10, 20, 10, 30][i as usize % 5]));
    }
    SimPerson {
        id: format!("sp-{:03}", i + 1),
        certificate_sha256: None,
        certificate_serial: None,
        note_ja: if matches!(plan, Plan::Kouki) { "後期高齢者".into() } else { "一般".into() },
        qualifications: vec![q],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_deterministic_and_valid() {
        let a = Registry::synthetic();
        let b = Registry::synthetic();
        assert_eq!(a, b);
        assert!(a.persons.len() >= 30);
        let mut ids = std::collections::HashSet::new();
        for p in &a.persons {
            assert!(ids.insert(p.id.clone()), "duplicate id {}", p.id);
            for q in &p.qualifications {
                let ins = q.insurer_number.as_ref().unwrap();
                ins.validate().unwrap_or_else(|e| panic!("{}: {e}", p.id));
                crate::numbers::validate_card_numbers(
                    ins,
                    q.insured_card_symbol.as_deref(),
                    q.insured_identification_number.as_deref().unwrap(),
                    q.insured_branch_number.as_deref(),
                )
                .unwrap_or_else(|e| panic!("{}: {e}", p.id));
                assert!(
                    q.name_kana.as_deref().unwrap().chars().all(|c| c == ' ' || ('\u{FF61}'..='\u{FF9F}').contains(&c)),
                    "{:?}",
                    q.name_kana
                );
            }
        }
    }

    #[test]
    fn card_holders_are_linked_by_certificate() {
        let holders = parse_card_holders(FIXTURE_PEOPLE_JSON).unwrap();
        assert!(holders.len() >= 5);
        let r = Registry::synthetic();
        for h in &holders {
            let p = r.by_certificate(&h.cert_sha256).unwrap();
            assert_eq!(p.id, h.id);
            assert_eq!(p.birthdate(), Some(h.birth_date));
            assert!(p.name().starts_with(&h.family_name));
        }
        // 1938 birth → 後期高齢者.
        let vc01 = r.person("vc-01").unwrap();
        assert!(vc01.qualifications[0].insurer_number.as_ref().unwrap().is_late_elderly());
        // vc-02 turned 75 in 2020: old 国保 record, then 後期高齢.
        let vc02 = r.person("vc-02").unwrap();
        assert_eq!(vc02.qualifications.len(), 2);
        assert!(
            vc02.valid_on(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap())
                .unwrap()
                .insurer_number
                .as_ref()
                .unwrap()
                .is_late_elderly()
        );
    }

    #[test]
    fn search_by_numbers_covers_the_special_cases() {
        let r = Registry::synthetic();
        let fam = r.person("sp-101").unwrap();
        let mut s = Registry::search_info_for(&fam.qualifications[0]);
        assert_eq!(r.by_numbers(&s).len(), 1);
        // Full-width digits typed by a clerk match.
        let mut wide = s.clone();
        wide.insured_card_symbol = Some(
            wide.insured_card_symbol.unwrap().chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect(),
        );
        assert_eq!(r.by_numbers(&wide).len(), 1);
        // Without 枝番 and birth date the whole family matches the 記号・番号.
        s.insured_branch_number = None;
        s.birthdate = None;
        assert_eq!(r.by_numbers(&s).len(), 3);
        let twins = r.person("sp-120").unwrap();
        assert_eq!(r.by_numbers(&Registry::search_info_for(&twins.qualifications[0])).len(), 2);
    }
}
