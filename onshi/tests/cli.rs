//! The `houmon-onshi` binary: JSON on stdout, Japanese errors and non-zero exit on failure.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_houmon-onshi"))
}

fn run(args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = bin().args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (out.status.success(), json, String::from_utf8(out.stderr).unwrap())
}

#[test]
fn parse_prints_fields() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/OQSsiquc01res_202404010001.xml");
    let (ok, j, _) = run(&["parse", file]);
    assert!(ok);
    let r = &j["message"]["message_body"]["result_list"][0];
    assert_eq!(r["name"], "佐藤　ハナ");
    assert_eq!(r["insurer_number"], "138057");
    assert_eq!(j["message"]["message_body"]["qualification_validity"], "1");
}

#[test]
fn parse_errors_name_the_element_in_japanese() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.xml");
    std::fs::write(
        &p,
        "<XmlMsg><MessageHeader/><MessageBody><QualificationValidity>9</QualificationValidity></MessageBody></XmlMsg>",
    )
    .unwrap();
    let (ok, _, err) = run(&["parse", p.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.starts_with("エラー: 要素 <XmlMsg/MessageBody/QualificationValidity>"), "{err}");
    assert!(err.contains("Error: "), "{err}");
    let (ok, _, err) = run(&["parse", "/nonexistent/file.xml"]);
    assert!(!ok && err.contains("読めません"), "{err}");
}

#[test]
fn check_digits() {
    let (ok, j, _) = run(&["check-digit", "insurer", "0613048"]);
    assert!(ok);
    assert_eq!((j["check_digit"].as_u64(), j["number"].as_str()), (Some(8), Some("06130488")));
    let (_, j, _) = run(&["check-digit", "institution", "341071236"]);
    assert_eq!(j["check_digit"], 2);
    let (ok, j, _) = run(&["check-digit", "institution", "3410712362"]);
    assert!(ok && j["valid"] == true);
    let (ok, j, _) = run(&["check-digit", "insurer", "06130487"]);
    assert!(ok && j["valid"] == false && j["check_digit"] == 8, "{j}");
    let (ok, _, err) = run(&["check-digit", "insurer", "06x30487"]);
    assert!(!ok && err.contains("数字だけ"), "{err}");
}

#[test]
fn sim_registry_lists_synthetic_people() {
    let (ok, j, _) = run(&["sim-registry"]);
    assert!(ok);
    let people = j.as_array().unwrap();
    assert!(people.len() >= 30);
    assert!(people.iter().any(|p| p["id"] == "vc-01"));
    // Card holders' PINs and security codes are never part of the registry.
    let text = j.to_string();
    assert!(!text.contains("pin") && !text.contains("security_code"));
}

#[test]
fn terminal_sim_answers_files_in_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("req")).unwrap();
    // A 再照会 for someone without consent: answered with the consent error, not a crash.
    let req = r#"<?xml version="1.0" encoding="UTF-8"?><XmlMsg><MessageHeader><MedicalInstitutionCode>3410712362</MedicalInstitutionCode><ArbitraryFileIdentifier>CLI</ArbitraryFileIdentifier></MessageHeader><MessageBody><QualificationConfirmSearchInfo><InsurerNumber>00138057</InsurerNumber><InsuredIdentificationNumber>1</InsuredIdentificationNumber><Birthdate>19400101</Birthdate></QualificationConfirmSearchInfo></MessageBody></XmlMsg>"#;
    std::fs::write(dir.path().join("req/OQSsiquc01req_202611210001.xml"), req).unwrap();
    std::fs::write(dir.path().join("req/OQSsiquc01req_202611210002.xml"), "<XmlMsg><Mess").unwrap();
    let out = bin()
        .args(["terminal-sim", "--dir", dir.path().to_str().unwrap(), "--steps", "3", "--interval-ms", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let res = std::fs::read(dir.path().join("res/OQSsiquc01res_202611210001.xml")).unwrap();
    let m = houmon_onshi::xml::parse(&res).unwrap();
    assert_eq!(m.message_header.arbitrary_file_identifier.as_deref(), Some("CLI"));
    assert_eq!(m.message_body.qualification_validity, Some(houmon_onshi::codes::QualificationValidity::NotFound));
    assert!(dir.path().join("req/OQSsiquc01req_202611210002.err").exists());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{stdout}");
}
