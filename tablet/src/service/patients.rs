//! Patients (患者): registration by hand or from a CSV list, edits with their history, and the
//! end of care (死亡・入院・転居・終了) that deletes nothing. The back office and `houmon-clinic`
//! run the same functions; callers check the lock and role first.

use super::*;
use chrono::Datelike;
use houmon_model::{CareEnd, CareEndReason, Demographics, IdDocument, PatientProfile};

/// The columns of a patient list (CSV), in order, with their Japanese and English headers. A
/// header row is required; either language (or a mix) is accepted. Documented in the
/// README (Patient list (CSV)).
pub const CSV_COLUMNS: [(&str, &str); 12] = [
    ("氏名", "name"),
    ("カナ", "kana"),
    ("生年月日", "birth"),
    ("性別", "sex"),
    ("住所", "address"),
    ("電話", "phone"),
    ("キーパーソン", "key_person"),
    ("キーパーソン連絡先", "key_person_phone"),
    ("ケアマネジャー", "care_manager"),
    ("居宅介護支援事業所", "care_office"),
    ("主治医", "primary_doctor"),
    ("本人確認書類", "id_document"),
];

/// How many bad rows one import reports (the rest are counted).
const REPORTED_ROWS: usize = 20;

fn invalid(ja: impl Into<String>, en: impl Into<String>) -> UiError {
    UiError::new(AppErrorCode::InvalidInput, ja, en)
}

/// Check a registration and turn it into the document's types. Errors say which field.
pub fn validate(input: &PatientInput) -> Result<(Demographics, PatientProfile), UiError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("氏名を入力してください。", "Enter the patient's name."));
    }
    let kana = input.kana.trim();
    if !m::is_katakana_name(kana) {
        return Err(invalid(
            "カナ氏名を全角カタカナで入力してください。",
            "Enter the name's reading in full-width katakana.",
        ));
    }
    let birth = parse_birth(&input.birth_date).ok_or_else(|| {
        invalid(
            "生年月日を YYYY-MM-DD の形で入力してください(例: 1940-04-01)。",
            "Enter the birth date as YYYY-MM-DD (e.g. 1940-04-01).",
        )
    })?;
    let d = Demographics {
        name: name.into(),
        name_kana: kana.into(),
        birth_date: Some(birth),
        sex: match input.sex {
            Sex::Male => "1",
            Sex::Female => "2",
        }
        .into(),
        address: input.address.trim().into(),
    };
    let p = PatientProfile {
        phone: input.phone.trim().into(),
        key_person: input.key_person.trim().into(),
        key_person_phone: input.key_person_phone.trim().into(),
        care_manager: input.care_manager.trim().into(),
        care_office: input.care_office.trim().into(),
        primary_doctor: input.primary_doctor.trim().into(),
        id_document: input.id_document,
    };
    Ok((d, p))
}

/// YYYY-MM-DD or YYYY/MM/DD, not in the future and not before 1900.
fn parse_birth(s: &str) -> Option<NaiveDate> {
    let s = s.trim().replace('/', "-");
    let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()?;
    (d.year() >= 1900 && d <= jst_today()).then_some(d)
}

fn sex_of(d: &Demographics) -> Sex {
    if d.sex == "2" { Sex::Female } else { Sex::Male }
}

/// Register (no id) or edit a patient; returns the patient id.
pub fn save_patient(store: &mut Store, actor: &Actor, input: &PatientInput) -> Result<String, UiError> {
    let (d, p) = validate(input)?;
    match input.id.as_deref() {
        None => Ok(store.register_patient_with(actor, &d, &p)?.to_string()),
        Some(id) => {
            let id = parse_patient(id)?;
            store.update_patient(actor, id, &d, &p)?;
            Ok(id.to_string())
        }
    }
}

/// End care (or resume it with `None`); nothing is deleted.
pub fn end_care(
    store: &mut Store,
    actor: &Actor,
    patient: &str,
    reason: Option<CareEndReason>,
    date: Option<&str>,
) -> Result<(), UiError> {
    let id = parse_patient(patient)?;
    let end = match reason {
        None => None,
        Some(reason) => {
            let date = match date {
                Some(d) => d.parse::<NaiveDate>().map_err(|_| {
                    invalid("終了日を YYYY-MM-DD の形で入力してください。", "Enter the end date as YYYY-MM-DD.")
                })?,
                None => jst_today(),
            };
            Some(CareEnd { reason, date })
        }
    };
    store.end_care(actor, id, end)?;
    Ok(())
}

/// A field's Japanese and English label in the change history.
fn field_label(key: &str) -> (&'static str, &'static str) {
    use houmon_docs::keys::chart as k;
    match key {
        k::NAME => ("氏名", "Name"),
        k::KANA => ("カナ", "Kana"),
        k::BIRTH => ("生年月日", "Birth date"),
        k::SEX => ("性別", "Sex"),
        k::ADDR => ("住所", "Address"),
        k::TEL => ("電話", "Phone"),
        k::KP => ("キーパーソン", "Key person"),
        k::KP_TEL => ("キーパーソン連絡先", "Key person's phone"),
        k::CM => ("ケアマネジャー", "Care manager"),
        k::CM_OFFICE => ("居宅介護支援事業所", "Care management office"),
        k::DOCTOR => ("主治医", "Attending physician"),
        k::IDOC => ("本人確認書類", "Identity document"),
        k::CARE_END => ("終了理由", "Care ended"),
        k::CARE_END_DATE => ("終了日", "End date"),
        _ => ("その他", "Other"),
    }
}

/// A stored value as a person reads it (codes in Japanese).
fn field_value(key: &str, v: &str) -> String {
    use houmon_docs::keys::chart as k;
    match (key, v) {
        (k::SEX, "1") => "男".into(),
        (k::SEX, "2") => "女".into(),
        (k::IDOC, k::IDOC_CARD) => "マイナンバーカード".into(),
        (k::IDOC, k::IDOC_CERT) => "資格確認書".into(),
        (k::CARE_END, c) => houmon_docs::care_end_from(c).map(|r| r.label_ja().to_string()).unwrap_or_default(),
        _ => v.to_string(),
    }
}

/// A patient's registered details and their change history (opening it is audited as a view).
pub fn patient_detail(store: &mut Store, actor: &Actor, patient: &str) -> Result<PatientDetail, UiError> {
    let id = parse_patient(patient)?;
    let chart = store.open_chart(actor, id)?;
    let names: HashMap<StaffId, String> =
        store.clinic().map(|c| c.staff.into_iter().map(|s| (s.id, s.name)).collect()).unwrap_or_default();
    let history = store
        .patient_history(id)?
        .into_iter()
        .rev()
        .map(|e| PatientEditView {
            at: iso(e.at),
            by_name: e.by.and_then(|b| names.get(&b).cloned()).unwrap_or_else(|| "管理用端末".into()),
            fields: e
                .fields
                .into_iter()
                .map(|(k, before, after)| {
                    let (ja, en) = field_label(&k);
                    FieldChange {
                        label_ja: ja.into(),
                        label_en: en.into(),
                        before: field_value(&k, &before),
                        after: field_value(&k, &after),
                    }
                })
                .collect(),
        })
        .collect();
    let (d, p) = (&chart.demographics, &chart.profile);
    Ok(PatientDetail {
        patient: PatientInput {
            id: Some(id.to_string()),
            name: d.name.clone(),
            kana: d.name_kana.clone(),
            birth_date: d.birth_date.map(|b| b.to_string()).unwrap_or_default(),
            sex: sex_of(d),
            address: d.address.clone(),
            phone: p.phone.clone(),
            key_person: p.key_person.clone(),
            key_person_phone: p.key_person_phone.clone(),
            care_manager: p.care_manager.clone(),
            care_office: p.care_office.clone(),
            primary_doctor: p.primary_doctor.clone(),
            id_document: p.id_document,
        },
        care_ended: chart.care_end.map(|e| e.reason),
        care_end_date: chart.care_end.map(|e| e.date.to_string()),
        history,
    })
}

/// Decode a patient list file: UTF-8 (with or without BOM) or Shift_JIS (what Excel writes on
/// Japanese Windows). Anything else is refused, never guessed.
fn decode(bytes: &[u8]) -> Result<String, UiError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let (s, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    if had_errors {
        return Err(UiError::new(
            AppErrorCode::CsvInvalid,
            "ファイルの文字コードを読めません。UTF-8 または Shift_JIS の CSV で保存し直してください。",
            "The file's encoding is not readable. Save it again as CSV in UTF-8 or Shift_JIS.",
        ));
    }
    Ok(s.into_owned())
}

fn parse_sex(s: &str) -> Option<Sex> {
    match s.trim() {
        "男" | "男性" | "1" | "M" | "m" | "male" => Some(Sex::Male),
        "女" | "女性" | "2" | "F" | "f" | "female" => Some(Sex::Female),
        _ => None,
    }
}

fn parse_id_document(s: &str) -> Option<IdDocument> {
    match s.trim() {
        "" | "未確認" | "unknown" => Some(IdDocument::Unknown),
        "マイナンバーカード" | "マイナ" | "card" => Some(IdDocument::MyNumberCard),
        "資格確認書" | "保険証" | "certificate" => Some(IdDocument::QualificationCertificate),
        _ => None,
    }
}

/// Parse a patient list: every row checked first; any bad row fails the whole file with the
/// line numbers (1 = the header), so nothing is half-imported.
pub fn parse_patient_csv(bytes: &[u8]) -> Result<Vec<PatientInput>, UiError> {
    let text = decode(bytes)?;
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|_| csv_error(vec![(1, "見出し行を読めません".into(), "cannot read the header row".into())]))?;
    // Which column holds which field, by header name (either language).
    let mut at = [usize::MAX; CSV_COLUMNS.len()];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim();
        if let Some(c) = CSV_COLUMNS.iter().position(|(ja, en)| *ja == h || en.eq_ignore_ascii_case(h)) {
            at[c] = i;
        }
    }
    let missing: Vec<&str> =
        CSV_COLUMNS.iter().zip(at).take(4).filter(|(_, i)| *i == usize::MAX).map(|(c, _)| c.0).collect();
    if !missing.is_empty() {
        return Err(csv_error(vec![(
            1,
            format!("見出しに必須の列がありません: {}", missing.join("・")),
            format!("the header lacks required columns: {}", missing.len()),
        )]));
    }
    let mut out = Vec::new();
    let mut bad: Vec<(u64, String, String)> = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                bad.push((
                    line,
                    "行を読めません(引用符を確認してください)".into(),
                    "unreadable row (check the quotes)".into(),
                ));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let field = |c: usize| rec.get(at[c]).unwrap_or("").trim().to_string();
        let Some(sex) = parse_sex(&field(3)) else {
            bad.push((line, "性別は「男」か「女」で入力してください".into(), "sex must be male or female".into()));
            continue;
        };
        let Some(id_document) = parse_id_document(&field(11)) else {
            bad.push((
                line,
                "本人確認書類は「マイナンバーカード」「資格確認書」または空欄です".into(),
                "id_document must be card, certificate or empty".into(),
            ));
            continue;
        };
        let input = PatientInput {
            id: None,
            name: field(0),
            kana: field(1),
            birth_date: field(2),
            sex,
            address: field(4),
            phone: field(5),
            key_person: field(6),
            key_person_phone: field(7),
            care_manager: field(8),
            care_office: field(9),
            primary_doctor: field(10),
            id_document,
        };
        match validate(&input) {
            Ok(_) => out.push(input),
            Err(e) => bad.push((line, e.ja.trim_end_matches('。').into(), e.en.trim_end_matches('.').into())),
        }
    }
    if !bad.is_empty() {
        return Err(csv_error(bad));
    }
    if out.is_empty() {
        return Err(UiError::new(
            AppErrorCode::CsvInvalid,
            "取り込む患者の行がありません。見出し行の下に1人1行で入力してください。",
            "No patient rows to import. Put one patient per row below the header.",
        ));
    }
    Ok(out)
}

fn csv_error(bad: Vec<(u64, String, String)>) -> UiError {
    let more = bad.len().saturating_sub(REPORTED_ROWS);
    let mut ja: Vec<String> = bad.iter().take(REPORTED_ROWS).map(|(l, m, _)| format!("{l}行目: {m}")).collect();
    let mut en: Vec<String> = bad.iter().take(REPORTED_ROWS).map(|(l, _, m)| format!("line {l}: {m}")).collect();
    if more > 0 {
        ja.push(format!("ほか{more}行"));
        en.push(format!("and {more} more"));
    }
    UiError::new(
        AppErrorCode::CsvInvalid,
        format!(
            "CSVに誤りがあるため、1人も登録していません。直してからもう一度取り込んでください。\n{}",
            ja.join("\n")
        ),
        format!("The CSV has errors, so no patient was registered. Fix them and import again.\n{}", en.join("\n")),
    )
}

/// Import a patient list: all rows or none (one transaction).
pub fn import_csv(store: &mut Store, actor: &Actor, bytes: &[u8]) -> Result<ImportReport, UiError> {
    let inputs = parse_patient_csv(bytes)?;
    let rows = inputs.iter().map(validate).collect::<Result<Vec<_>, _>>()?;
    let ids = store.register_patients(actor, &rows)?;
    Ok(ImportReport { imported: ids.len() as u32, ids: ids.iter().map(ToString::to_string).collect() })
}

impl Service {
    /// Register or edit a patient (every signed-in staff member may).
    pub fn save_patient(&mut self, input: &PatientInput) -> Result<String, UiError> {
        self.ensure_unlocked()?;
        let id = save_patient(&mut self.store, &self.actor, input)?;
        self.checks.clear();
        Ok(id)
    }

    pub fn patient_detail(&mut self, patient: &str) -> Result<PatientDetail, UiError> {
        self.ensure_unlocked()?;
        patient_detail(&mut self.store, &self.actor, patient)
    }

    pub fn end_care(
        &mut self,
        patient: &str,
        reason: Option<CareEndReason>,
        date: Option<&str>,
    ) -> Result<(), UiError> {
        self.ensure_unlocked()?;
        end_care(&mut self.store, &self.actor, patient, reason, date)
    }

    /// Import a patient list the user picked (CSV bytes).
    pub fn import_patients(&mut self, csv: &[u8]) -> Result<ImportReport, UiError> {
        self.ensure_unlocked()?;
        import_csv(&mut self.store, &self.actor, csv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "氏名,カナ,生年月日,性別,住所,電話,キーパーソン,キーパーソン連絡先,ケアマネジャー,居宅介護支援事業所,主治医,本人確認書類\n";

    #[test]
    fn a_list_in_shift_jis_with_either_header_language_reads_every_row() {
        let text = format!(
            "{HEADER}架空 ハル,カクウ ハル,1930/04/01,女,架空区,03-0000-0000,,,,,,マイナンバーカード\n\n架空 アキ,カクウ アキ,1932-10-10,男,,,,,,,,\n"
        );
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        assert!(std::str::from_utf8(&sjis).is_err(), "really Shift_JIS");
        let rows = parse_patient_csv(&sjis).expect("parsed");
        assert_eq!(rows.len(), 2, "the empty line is skipped");
        assert_eq!(
            (rows[0].name.as_str(), rows[0].sex, rows[0].id_document),
            ("架空 ハル", Sex::Female, IdDocument::MyNumberCard)
        );
        assert_eq!((rows[1].birth_date.as_str(), rows[1].id_document), ("1932-10-10", IdDocument::Unknown));
        // English headers, another order, a UTF-8 BOM.
        let en = "\u{feff}sex,birth,kana,name\nmale,1940-01-01,カクウ イチ,架空 イチ\n";
        let rows = parse_patient_csv(en.as_bytes()).expect("parsed");
        assert_eq!((rows[0].name.as_str(), rows[0].sex), ("架空 イチ", Sex::Male));
    }

    #[test]
    fn bad_rows_are_named_by_line_and_fail_the_whole_list() {
        let text = format!(
            "{HEADER}架空 イチ,カクウ イチ,1940-01-01,男\n架空 ニ,kana,1940-01-01,男\n架空 サン,カクウ サン,2199-01-01,女\n架空 シ,カクウ シ,1940-01-01,不明\n"
        );
        let e = parse_patient_csv(text.as_bytes()).expect_err("refused");
        assert_eq!(e.code, AppErrorCode::CsvInvalid);
        for line in ["3行目", "4行目", "5行目"] {
            assert!(e.ja.contains(line), "{line} in {}", e.ja);
        }
        assert!(!e.ja.contains("2行目"), "the good row is not blamed: {}", e.ja);
        assert!(e.en.contains("line 3"), "{}", e.en);
        // A header without the required columns, and bytes that are neither UTF-8 nor Shift_JIS.
        let e = parse_patient_csv("name,kana\nx,y\n".as_bytes()).expect_err("refused");
        assert!(e.ja.contains("生年月日") && e.ja.contains("性別"), "{}", e.ja);
        let e = parse_patient_csv(&[0x82, 0xff, 0xfe, 0x0a]).expect_err("refused");
        assert!(e.ja.contains("文字コード"), "{}", e.ja);
        // Control: the same rows without the bad ones parse.
        let good = format!("{HEADER}架空 イチ,カクウ イチ,1940-01-01,男\n");
        assert_eq!(parse_patient_csv(good.as_bytes()).map(|r| r.len()), Ok(1));
    }
}
