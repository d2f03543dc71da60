//! XML codec: real-shaped terminal files, both encodings, any order, unknown elements,
//! padding, round trips, and errors that name the element.

use chrono::NaiveDate;
use houmon_onshi::codes::*;
use houmon_onshi::numbers::KokuhoPadding;
use houmon_onshi::types::*;
use houmon_onshi::xml::{self, WriteOptions, XmlEncoding, XmlErrorKind};

const SAMPLE: &[u8] = include_bytes!("data/OQSsiquc01res_202404010001.xml");

#[test]
fn reads_a_terminal_result_in_any_order() {
    let msg = xml::parse(SAMPLE).unwrap();
    let h = &msg.message_header;
    assert_eq!(h.medical_institution_code.as_ref().unwrap().as_str(), "3410712362");
    assert_eq!(h.segment_of_result, Some(SegmentOfResult::Completed));
    assert_eq!(h.arbitrary_file_identifier.as_deref(), Some("HM-0001"));
    let b = &msg.message_body;
    assert_eq!(b.qualification_validity, Some(QualificationValidity::Valid));
    assert_eq!(b.prescription_issue_select, Some(PrescriptionIssueSelect::Electronic));
    let r = &b.result_list[0];
    assert_eq!(r.name.as_deref(), Some("佐藤　ハナ"));
    assert_eq!(r.name_kana.as_deref(), Some("ｻﾄｳ ﾊﾅ"));
    assert_eq!(r.birthdate, NaiveDate::from_ymd_opt(1938, 11, 3));
    assert_eq!(r.sex1, Some(Sex::Female));
    assert_eq!(r.address.as_deref(), Some("東京都世田谷区太子堂一丁目2番3号 & 別棟"));
    assert_eq!(r.insured_partial_contribution_ratio.unwrap().label_ja(), "2割");
    // Space-padded and zero-padded 国保 numbers normalise to the same 6 digits.
    assert_eq!(r.insurer_number.as_ref().unwrap().as_str(), "138057");
    assert_eq!(b.qualification_confirm_search_info.as_ref().unwrap().insurer_number, r.insurer_number);
    let limit = r.limit_application_certificate_related_info.as_ref().unwrap();
    assert_eq!(limit.classification_flag.unwrap().label_ja(), "低所得Ⅱ");
    assert_eq!(
        r.specific_diseases_certificate_list[0].disease_category,
        Some(SpecificDiseaseCategory::ChronicRenalFailureDialysis)
    );
    assert!(r.consented_to(&ConsentItem::Pharmacists));
    assert!(!r.consented_to(&ConsentItem::Diagnosis));
    assert_eq!(r.info_consent(&ConsentItem::SpecificHealthCheckups).unwrap().cons_flg, Some(ConsentFlag::Expired));
    // A consent item from a later revision is kept, not dropped.
    let allergy = ConsentItem::Other("AllergyInfo".into());
    assert!(r.consented_to(&allergy));
    assert_eq!(r.info_consents.len(), 5);
}

#[test]
fn round_trips_in_both_encodings_and_paddings() {
    let msg = xml::parse(SAMPLE).unwrap();
    for encoding in [XmlEncoding::Utf8, XmlEncoding::ShiftJis] {
        for kokuho_padding in [KokuhoPadding::Zeros, KokuhoPadding::Spaces] {
            let bytes = xml::write(&msg, WriteOptions { encoding, kokuho_padding });
            let (back, enc) = xml::parse_with_encoding(&bytes).unwrap();
            assert_eq!(enc, encoding);
            assert_eq!(back, msg, "{encoding:?} {kokuho_padding:?}");
        }
    }
    // JSON too (what the gateway stores).
    let json = serde_json::to_string(&msg).unwrap();
    assert_eq!(serde_json::from_str::<XmlMsg>(&json).unwrap(), msg);
}

#[test]
fn shift_jis_bytes_are_really_shift_jis() {
    let msg = xml::parse(SAMPLE).unwrap();
    let sjis = xml::write(&msg, WriteOptions { encoding: XmlEncoding::ShiftJis, ..Default::default() });
    assert!(std::str::from_utf8(&sjis).is_err(), "Shift_JIS output must not be UTF-8");
    let (decoded, _, had_errors) = encoding_rs::SHIFT_JIS.decode(&sjis);
    assert!(!had_errors);
    assert!(decoded.contains("<Name>佐藤　ハナ</Name>"));
    assert!(decoded.starts_with("<?xml version=\"1.0\" encoding=\"Shift_JIS\""));
    assert!(decoded.contains("<InsurerNumber>00138057</InsurerNumber>"));
}

#[test]
fn shift_jis_file_written_by_another_program_is_read() {
    let text = r#"<?xml version="1.0" encoding="Shift_JIS"?><XmlMsg><MessageHeader><MedicalInstitutionCode>3410712362</MedicalInstitutionCode></MessageHeader><MessageBody><ResultList><ResultOfQualificationConfirmation><Name>髙橋　一郎</Name><NameKana>ﾀｶﾊｼ ｲﾁﾛｳ</NameKana></ResultOfQualificationConfirmation></ResultList></MessageBody></XmlMsg>"#;
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let msg = xml::parse(&bytes).unwrap();
    let r = &msg.message_body.result_list[0];
    assert_eq!(r.name.as_deref(), Some("髙橋　一郎"));
    assert_eq!(r.name_kana.as_deref(), Some("ﾀｶﾊｼ ｲﾁﾛｳ"));
}

#[test]
fn characters_outside_shift_jis_survive_as_references() {
    let mut msg = XmlMsg::default();
    msg.message_body
        .result_list
        .push(ResultOfQualificationConfirmation { name: Some("𠮷田　花子".into()), ..Default::default() });
    let bytes = xml::write(&msg, WriteOptions { encoding: XmlEncoding::ShiftJis, ..Default::default() });
    assert_eq!(xml::parse(&bytes).unwrap(), msg);
}

#[test]
fn single_request_matches_the_known_shape() {
    let msg = XmlMsg {
        message_header: MessageHeader {
            qualification_confirmation_date: NaiveDate::from_ymd_opt(2024, 4, 1),
            medical_institution_code: Some(houmon_onshi::MedicalInstitutionCode::parse("3410712362").unwrap()),
            arbitrary_file_identifier: Some("CLINICID".into()),
            ..Default::default()
        },
        message_body: MessageBody {
            qualification_confirm_search_info: Some(QualificationConfirmSearchInfo {
                limit_application_certificate_related_cons_flg: Some(ConsentFlag::Consented),
                ..QualificationConfirmSearchInfo::by_numbers(
                    houmon_onshi::InsurerNumber::parse("06130488").unwrap(),
                    Some("記号"),
                    "番号",
                    Some("01"),
                    NaiveDate::from_ymd_opt(1940, 1, 1).unwrap(),
                )
            }),
            ..Default::default()
        },
    };
    let text = String::from_utf8(xml::write(&msg, WriteOptions::default())).unwrap();
    let squashed: String = text.lines().map(str::trim).collect();
    assert!(squashed.contains("<MessageHeader><QualificationConfirmationDate>20240401</QualificationConfirmationDate><MedicalInstitutionCode>3410712362</MedicalInstitutionCode><ArbitraryFileIdentifier>CLINICID</ArbitraryFileIdentifier></MessageHeader>"), "{squashed}");
    assert!(squashed.contains("<MessageBody><QualificationConfirmSearchInfo><InsurerNumber>06130488</InsurerNumber><InsuredCardSymbol>記号</InsuredCardSymbol><InsuredIdentificationNumber>番号</InsuredIdentificationNumber><InsuredBranchNumber>01</InsuredBranchNumber><Birthdate>19400101</Birthdate><LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg></QualificationConfirmSearchInfo></MessageBody>"), "{squashed}");
}

fn err_of(s: &str) -> xml::XmlError {
    xml::parse(s.as_bytes()).unwrap_err()
}

#[test]
fn errors_name_the_element() {
    let e = err_of(
        "<XmlMsg><MessageHeader/><MessageBody><ResultList><ResultOfQualificationConfirmation/><ResultOfQualificationConfirmation><Birthdate>19380231</Birthdate></ResultOfQualificationConfirmation></ResultList></MessageBody></XmlMsg>",
    );
    assert_eq!(e.path, "XmlMsg/MessageBody/ResultList/ResultOfQualificationConfirmation[2]/Birthdate");
    assert!(matches!(&e.kind, XmlErrorKind::InvalidValue { value, .. } if value == "19380231"));
    assert!(e.message_ja().contains("Birthdate"), "{}", e.message_ja());

    let e = err_of(
        "<XmlMsg><MessageHeader/><MessageBody><QualificationValidity>7</QualificationValidity></MessageBody></XmlMsg>",
    );
    assert_eq!(e.path, "XmlMsg/MessageBody/QualificationValidity");
    assert!(e.to_string().contains("one of 1, 2, 3, 4, 5, 6"), "{e}");

    let e = err_of(
        "<XmlMsg><MessageHeader><MedicalInstitutionCode>34107123</MedicalInstitutionCode></MessageHeader></XmlMsg>",
    );
    assert_eq!(e.path, "XmlMsg/MessageHeader/MedicalInstitutionCode");

    let e = err_of(
        "<XmlMsg><MessageHeader/><MessageBody><QualificationConfirmSearchInfo><InsurerNumber>12a45678</InsurerNumber></QualificationConfirmSearchInfo></MessageBody></XmlMsg>",
    );
    assert_eq!(e.path, "XmlMsg/MessageBody/QualificationConfirmSearchInfo/InsurerNumber");

    let e = err_of(
        "<XmlMsg><MessageHeader><SegmentOfResult>1</SegmentOfResult><SegmentOfResult>9</SegmentOfResult></MessageHeader></XmlMsg>",
    );
    assert_eq!((e.path.as_str(), &e.kind), ("XmlMsg/MessageHeader/SegmentOfResult", &XmlErrorKind::Duplicate));

    let e = err_of("<XmlMsg><MessageBody/></XmlMsg>");
    assert_eq!((e.path.as_str(), &e.kind), ("XmlMsg/MessageHeader", &XmlErrorKind::Missing));

    let e = err_of("<Other/>");
    assert!(matches!(e.kind, XmlErrorKind::WrongRoot(_)));
}

#[test]
fn broken_documents_are_errors_not_panics() {
    let full = std::str::from_utf8(SAMPLE).unwrap();
    // Every truncation of a real file is a clean error (a half-written file).
    let end = full.rfind("</XmlMsg>").unwrap() + "</XmlMsg".len();
    for cut in (0..end).filter(|i| full.is_char_boundary(*i)).step_by(7) {
        let r = xml::parse(&full.as_bytes()[..cut]);
        let e = r.expect_err("a truncated file must not parse");
        assert!(!e.message_ja().is_empty());
    }
    for bad in [
        &b""[..],
        b"<XmlMsg>",
        b"<XmlMsg><MessageHeader></XmlMsg>",
        b"<XmlMsg><MessageHeader/></XmlMsg><XmlMsg/>",
        b"<XmlMsg><MessageHeader><ErrorCode>&bogus;</ErrorCode></MessageHeader></XmlMsg>",
        b"<XmlMsg><MessageHeader><ErrorCode>&#xFFFFFFFF;</ErrorCode></MessageHeader></XmlMsg>",
        b"\xff\xfe<\x00X\x00",
        b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg>\x82</XmlMsg>",
    ] {
        assert!(xml::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    let e = xml::parse(b"<XmlMsg><MessageHeader>").unwrap_err();
    assert!(e.is_truncated(), "{e}");
    assert_eq!(e.path, "XmlMsg/MessageHeader");
}

#[test]
fn hostile_nesting_is_refused_cheaply() {
    let deep = "<a>".repeat(100_000);
    let e = xml::parse(format!("<XmlMsg>{deep}").as_bytes()).unwrap_err();
    assert!(matches!(e.kind, XmlErrorKind::TooLarge(_)), "{e}");
}

#[test]
fn bulk_units_round_trip() {
    let mut msg = xml::parse(SAMPLE).unwrap();
    let r = msg.message_body.result_list.pop().unwrap();
    msg.message_header.reception_number = Some("R0001".into());
    msg.message_header.number_of_processing_result = Some(2);
    for i in 0..2 {
        msg.message_body.bulk_confirm_units.push(BulkConfirmUnit {
            processing_result_status: Some(ProcessingResultStatus::Normal),
            qualification_validity: Some(QualificationValidity::Valid),
            result_of_qualification_confirmation: Some(r.clone()),
            reference_number: Some(format!("P{i}")),
            ..Default::default()
        });
    }
    let back = xml::parse(&xml::write(&msg, WriteOptions::default())).unwrap();
    assert_eq!(back, msg);
}

#[test]
fn text_that_encodings_would_alter_survives() {
    // U+2212 and U+00A5 do not survive Shift_JIS as themselves; CR would become LF; the
    // XML specials must be escaped.
    let tricky = "東京都模擬区1−2−3 ¥100 ‾ ～ a\\b <&> \"q\" 'a' x\ry";
    let mut msg = XmlMsg::default();
    msg.message_body
        .result_list
        .push(ResultOfQualificationConfirmation { address: Some(tricky.into()), ..Default::default() });
    for encoding in [XmlEncoding::Utf8, XmlEncoding::ShiftJis] {
        let bytes = xml::write(&msg, WriteOptions { encoding, ..Default::default() });
        let back = xml::parse(&bytes).unwrap();
        assert_eq!(back.message_body.result_list[0].address.as_deref(), Some(tricky), "{encoding:?}");
    }
}

#[test]
fn empty_and_foreign_consent_elements_do_not_break_round_trips() {
    let text = "<XmlMsg><MessageHeader/><MessageBody><ResultList><ResultOfQualificationConfirmation>\
        <FooInfoAvailableTime></FooInfoAvailableTime><薬ConsFlg>1</薬ConsFlg>\
        </ResultOfQualificationConfirmation></ResultList></MessageBody></XmlMsg>";
    let msg = xml::parse(text.as_bytes()).unwrap();
    assert!(msg.message_body.result_list[0].info_consents.is_empty());
    assert_eq!(xml::parse(&xml::write(&msg, WriteOptions::default())).unwrap(), msg);
}

#[test]
fn fuzz_regressions() {
    // A non-ASCII byte where the declaration's quote should be (found by cargo fuzz).
    let decl = b"<?xml version=\"1.0\" encoding=\xde\xafTF-8\"?><XmlMsg><MessageHeader/></XmlMsg>";
    assert!(xml::parse(decl).is_ok());
    let no_quote = b"<?xml version=\"1.0\" encoding=UTF-8?><XmlMsg><MessageHeader/></XmlMsg>";
    assert!(xml::parse(no_quote).is_ok());
}
