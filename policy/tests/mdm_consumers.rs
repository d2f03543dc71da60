//! The MDM files in `mdm/` load in their real consumers (issue 17): Group Policy (ADMX/ADML),
//! Android managed configurations, AppConfig consoles (specfile XSD), macOS profiles, and a
//! strict XML parser (`roxmltree` and libxml2's `xmllint`).
//!
//! The checks run over the committed files. Each rule is then shown to bite: the real file with
//! exactly one rule broken is rejected with that rule's problem, while the unbroken file (the
//! control) passes.

use houmon_policy::generate::{Artifact, WriteError, artifacts, write_checked};
use houmon_policy::validate::{self, Problem, is_xml, path};
use std::path::PathBuf;
use std::process::Command;

fn mdm_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mdm")
}

/// The committed files, as artifacts.
fn committed() -> Vec<Artifact> {
    artifacts()
        .into_iter()
        .map(|a| Artifact {
            path: a.path,
            contents: std::fs::read_to_string(mdm_dir().join(a.path))
                .unwrap_or_else(|e| panic!("cannot read mdm/{}: {e}", a.path)),
        })
        .collect()
}

/// The committed files with `file` changed by `edit`; the edit must change it.
fn broken_with(file: &str, edit: impl Fn(&str) -> String) -> Vec<Artifact> {
    let mut files = committed();
    let a = files.iter_mut().find(|a| a.path == file).unwrap_or_else(|| panic!("no artifact {file}"));
    let edited = edit(&a.contents);
    assert_ne!(edited, a.contents, "the edit of {file} changed nothing: the case tests nothing");
    a.contents = edited;
    files
}

/// Replace the first `from` in `file` by `to`.
fn broken(file: &str, from: &str, to: &str) -> Vec<Artifact> {
    broken_with(file, |s| {
        assert!(s.contains(from), "{file} does not contain {from:?}: the case tests nothing");
        s.replacen(from, to, 1)
    })
}

fn show(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {p}\n")).collect()
}

/// The problems must include one in `file` whose English text contains `expect`, and every
/// problem must have Japanese and English text.
#[track_caller]
fn rejects(files: Vec<Artifact>, file: &str, expect: &str) {
    let problems = validate::artifacts(&files);
    assert!(
        problems.iter().any(|p| p.file == file && p.en.contains(expect)),
        "expected a problem in {file} containing {expect:?}, got:\n{}",
        show(&problems)
    );
    for p in &problems {
        assert!(!p.ja.is_empty() && !p.en.is_empty() && p.ja != p.en, "not bilingual: {p}");
    }
}

#[track_caller]
fn accepts(files: Vec<Artifact>) {
    let problems = validate::artifacts(&files);
    assert!(problems.is_empty(), "expected no problem, got:\n{}", show(&problems));
}

// ------------------------------------------------------------------------------ controls

#[test]
fn the_committed_files_pass_every_consumer_check() {
    let problems = validate::dir(&mdm_dir());
    assert!(problems.is_empty(), "mdm/ fails its consumers' checks:\n{}", show(&problems));
    accepts(committed());
}

#[test]
fn the_generator_output_passes_every_consumer_check() {
    accepts(artifacts());
}

#[test]
fn a_missing_file_is_a_problem_not_a_pass() {
    let files: Vec<Artifact> = committed().into_iter().filter(|a| a.path != path::ADML_JA).collect();
    rejects(files, path::ADML_JA, "missing");
    let tmp = tempfile::tempdir().unwrap();
    let problems = validate::dir(tmp.path());
    assert!(problems.iter().any(|p| p.file == path::ADMX && p.en.contains("missing")), "{}", show(&problems));
}

// ------------------------------------------------------------------------------ houmon-mdm

#[test]
fn nothing_is_written_when_a_file_fails_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = broken(path::ADMX, "<!-- Generated", "<!-- -- Generated");
    match write_checked(tmp.path(), &bad) {
        Err(WriteError::Invalid(problems)) => {
            assert!(problems.iter().any(|p| p.file == path::ADMX && p.en.contains("'--'")), "{}", show(&problems))
        }
        other => panic!("a broken ADMX was written: {other:?}"),
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "files were written");
    // Control: the same call with the real files writes them all.
    write_checked(tmp.path(), &committed()).unwrap();
    assert!(validate::dir(tmp.path()).is_empty());
}

#[test]
fn houmon_mdm_writes_files_that_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_houmon-mdm")).arg(tmp.path()).output().unwrap();
    assert!(out.status.success(), "houmon-mdm failed: {}", String::from_utf8_lossy(&out.stderr));
    let problems = validate::dir(tmp.path());
    assert!(problems.is_empty(), "{}", show(&problems));
    assert!(tmp.path().join(path::ADMX).is_file());
}

// ------------------------------------------------------------------------------ xmllint

/// libxml2's `xmllint --noout` accepts every XML artifact. Without xmllint the test says why
/// it skips, except under CI (`CI` or `HOUMON_CI` set), where it fails.
#[test]
fn xmllint_accepts_every_xml_artifact() {
    let Some(xmllint) = xmllint() else { return };
    let xml: Vec<&str> = artifacts().iter().map(|a| a.path).filter(|p| is_xml(p)).collect();
    assert_eq!(xml.len(), 8, "the XML artifacts: {xml:?}");
    for p in &xml {
        let out = Command::new(&xmllint).arg("--noout").arg(mdm_dir().join(p)).output().unwrap();
        assert!(out.status.success(), "xmllint rejects mdm/{p}:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    // Control: xmllint does reject the defect this issue was about.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.admx");
    let text = std::fs::read_to_string(mdm_dir().join(path::ADMX)).unwrap();
    std::fs::write(&bad, text.replacen("<!-- Generated", "<!-- --test Generated", 1)).unwrap();
    let out = Command::new(&xmllint).arg("--noout").arg(&bad).output().unwrap();
    assert!(!out.status.success(), "xmllint accepted a comment with --");
}

fn xmllint() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("xmllint")).find(|p| p.is_file()));
    if found.is_none() {
        let why = "xmllint がないため省略します(Debian: libxml2-utils。scripts/lib.sh install_system_packages が入れます) \
                   / xmllint is missing, skipped (Debian package libxml2-utils; scripts/lib.sh install_system_packages installs it)";
        let ci = ["CI", "HOUMON_CI"].iter().any(|v| std::env::var_os(v).is_some());
        assert!(!ci, "{why}; under CI this is a failure");
        eprintln!("{why}");
    }
    found
}

// ------------------------------------------------------------------------------ XML

#[test]
fn every_xml_artifact_is_parsed_strictly() {
    for a in committed().iter().filter(|a| is_xml(a.path)) {
        if let Err(p) = validate::well_formed(a.path, &a.contents) {
            panic!("{p}");
        }
        if a.path.ends_with(".mobileconfig") {
            continue; // a property list has no comment
        }
        // Control: a `--` in its header comment breaks each of them.
        let bad = a.contents.replacen("<!-- ", "<!-- --test ", 1);
        assert_ne!(bad, a.contents, "{} has no header comment", a.path);
        rejects(broken_with(a.path, |_| bad.clone()), a.path, "contains '--'");
    }
}

#[test]
fn xml_breaks_are_rejected() {
    rejects(broken(path::APPCONFIG, "<!-- Generated", "<!-- --test Generated"), path::APPCONFIG, "'--'");
    rejects(broken(path::ADML_EN, "</stringTable>", "</stringTabel>"), path::ADML_EN, "not well-formed");
    rejects(
        broken(path::RESTRICTIONS, "<restrictions ", "<restrictions a=\"&\" "),
        path::RESTRICTIONS,
        "not well-formed",
    );
    rejects(broken(path::STRINGS_JA, "<resources>", "<resources><x:y/>"), path::STRINGS_JA, "not well-formed");
    rejects(broken(path::MOBILECONFIG, "</plist>", ""), path::MOBILECONFIG, "not well-formed");
}

// ------------------------------------------------------------------------------ ADMX / ADML

#[test]
fn admx_string_references_must_exist_in_both_languages() {
    let bad = || broken(path::ADMX, "displayName=\"$(string.relayUrl)\"", "displayName=\"$(string.relayUrlX)\"");
    rejects(bad(), path::ADML_EN, "no string relayUrlX");
    rejects(bad(), path::ADML_JA, "no string relayUrlX");
    // A reference in an attribute the checks do not name is still resolved.
    rejects(
        broken(path::ADMX, "<policy name=\"relayUrl\"", "<policy foo=\"$(string.Elsewhere)\" name=\"relayUrl\""),
        path::ADML_JA,
        "no string Elsewhere",
    );
    rejects(
        broken(path::ADMX, "displayName=\"$(string.relayUrl)\"", "displayName=\"Relay URL\""),
        path::ADMX,
        "must be a $(string.ID)",
    );
}

#[test]
fn a_missing_japanese_string_is_reported() {
    let drop_line = |id: &'static str| {
        move |s: &str| {
            s.lines().filter(|l| !l.contains(&format!("<string id=\"{id}\">"))).map(|l| format!("{l}\n")).collect()
        }
    };
    rejects(broken_with(path::ADML_JA, drop_line("autoLockMinutes")), path::ADML_JA, "no string autoLockMinutes");
    rejects(
        broken_with(path::ADML_JA, drop_line("autoLockMinutes")),
        path::ADML_JA,
        "is in windows/en-US/houmon.adml but not here",
    );
    // A string only the ADML has (not referenced) is still one language short in the other.
    rejects(
        broken(
            path::ADML_EN,
            "<string id=\"Houmon\">",
            "<string id=\"Extra\">x</string>\n      <string id=\"Houmon\">",
        ),
        path::ADML_JA,
        "string Extra is in windows/en-US/houmon.adml but not here",
    );
}

#[test]
fn admx_presentations_must_exist_and_match_the_policy_elements() {
    rejects(
        broken(path::ADMX, "$(presentation.relayUrl)", "$(presentation.nope)"),
        path::ADML_JA,
        "no presentation nope",
    );
    rejects(
        broken(path::ADML_JA, "<textBox refId=\"relayUrl\">", "<textBox refId=\"relayUri\">"),
        path::ADML_JA,
        "matches no element of policy relayUrl",
    );
    rejects(
        broken(
            path::ADMX,
            "<decimal id=\"autoLockMinutes\" valueName=\"autoLockMinutes\" minValue=\"1\" maxValue=\"60\" />",
            "<text id=\"autoLockMinutes\" valueName=\"autoLockMinutes\" />",
        ),
        path::ADML_EN,
        "cannot show <text id=\"autoLockMinutes\">",
    );
    rejects(
        broken(
            path::ADMX,
            "<text id=\"relayUrl\" valueName=\"relayUrl\" maxLength=\"512\" />",
            "<text id=\"relayUrl\" valueName=\"relayUrl\" maxLength=\"512\" />\n        <text id=\"extra\" valueName=\"extra\" />",
        ),
        path::ADML_EN,
        "has no control for element extra",
    );
    rejects(
        broken(path::ADML_EN, "noSort=\"true\" defaultItem=\"0\"", "noSort=\"true\" defaultItem=\"7\""),
        path::ADML_EN,
        "defaultItem=\"7\" must be an index",
    );
    rejects(
        broken(path::ADML_EN, "defaultValue=\"5\"", "defaultValue=\"99\""),
        path::ADML_EN,
        "outside the element's range",
    );
    rejects(
        broken(path::ADMX, " presentation=\"$(presentation.relayUrl)\"", ""),
        path::ADMX,
        "has elements but no presentation",
    );
    rejects(
        broken(
            path::ADML_EN,
            "<presentation id=\"relayUrl\">",
            "<presentation id=\"relayUrl\">\n        <slider refId=\"relayUrl\" />",
        ),
        path::ADML_EN,
        "is not a presentation control",
    );
}

#[test]
fn admx_names_must_be_unique_and_references_resolve() {
    rejects(
        broken(path::ADMX, "<policy name=\"relayUrl_recommended\"", "<policy name=\"relayUrl\""),
        path::ADMX,
        "duplicate policy name \"relayUrl\"",
    );
    rejects(
        broken(path::ADMX, "<category name=\"HoumonRecommended\"", "<category name=\"Houmon\""),
        path::ADMX,
        "duplicate category name \"Houmon\"",
    );
    rejects(
        broken(path::ADMX, "<parentCategory ref=\"Houmon\" />", "<parentCategory ref=\"Nope\" />"),
        path::ADMX,
        "parentCategory ref=\"Nope\" names no category",
    );
    rejects(
        broken(path::ADMX, "<supportedOn ref=\"SUPPORTED_HOUMON_1\" />", "<supportedOn ref=\"SUPPORTED_X\" />"),
        path::ADMX,
        "supportedOn ref=\"SUPPORTED_X\" has no definition",
    );
    rejects(
        broken(path::ADMX, "<parentCategory ref=\"Houmon\" />", "<parentCategory ref=\"windows:Houmon\" />"),
        path::ADMX,
        "the prefix windows of windows:Houmon is not declared",
    );
    rejects(
        broken(
            path::ADMX,
            "<target prefix=\"houmon\" namespace=\"Houmon.Policies.Houmon\" />",
            "<target prefix=\"houmon\" namespace=\"Houmon.Policies.Houmon\" />\n    <using prefix=\"houmon\" namespace=\"Microsoft.Policies.Windows\" />",
        ),
        path::ADMX,
        "duplicate namespace prefix \"houmon\"",
    );
    rejects(
        broken(
            path::ADMX,
            "<text id=\"relayUrl\" valueName=\"relayUrl\" maxLength=\"512\" />",
            "<text id=\"relayUrl\" valueName=\"relayUrl\" />\n        <decimal id=\"relayUrl\" valueName=\"x\" />",
        ),
        path::ADMX,
        "duplicate element id \"relayUrl\"",
    );
}

#[test]
fn admx_required_structure() {
    rejects(
        broken_with(path::ADMX, |s| {
            let start = s.find("  <policyNamespaces>").unwrap();
            let end = s.find("</policyNamespaces>\n").unwrap() + "</policyNamespaces>\n".len();
            format!("{}{}", &s[..start], &s[end..])
        }),
        path::ADMX,
        "needs <policyNamespaces>",
    );
    rejects(
        broken(path::ADMX, "<resources minRequiredRevision=\"1.0\" />", "<resources />"),
        path::ADMX,
        "needs the attribute minRequiredRevision",
    );
    rejects(broken(path::ADMX, "<resources minRequiredRevision=\"1.0\" />", ""), path::ADMX, "needs <resources>");
    rejects(
        broken(path::ADMX, "minRequiredRevision=\"1.0\"", "minRequiredRevision=\"2.0\""),
        path::ADML_JA,
        "below the ADMX's minRequiredRevision",
    );
    rejects(broken(path::ADMX, " schemaVersion=\"1.0\"", ""), path::ADMX, "needs the attribute schemaVersion");
    rejects(
        broken(path::ADMX, "revision=\"1.0\"", "revision=\"one\""),
        path::ADMX,
        "must be of the form number.number",
    );
    rejects(
        broken(path::ADMX, "revision=\"1.0\"", "revision=\"12345.0\""),
        path::ADMX,
        "must be of the form number.number",
    );
    rejects(
        broken(path::ADMX, "<policy name=\"relayUrl\"", "<policy name=\"relay-url\""),
        path::ADMX,
        "may only contain letters, digits and _",
    );
    rejects(
        broken(path::ADMX, "<category name=\"Houmon\"", "<category name=\"Houmon app\""),
        path::ADMX,
        "may only contain letters, digits and _",
    );
    rejects(
        broken(path::ADML_JA, "<string id=\"Houmon\">", "<string id=\"Hou.mon\">"),
        path::ADML_JA,
        "may only contain letters, digits and _",
    );
    rejects(
        broken(path::ADMX, "<parentCategory ref=\"Houmon\" />", "<parentCategory ref=\"a:b:c\" />"),
        path::ADMX,
        "must be name or prefix:name",
    );
    rejects(
        broken(path::ADMX, "displayName=\"$(string.relayUrl)\"", "displayName=\"$(string.relay Url)\""),
        path::ADMX,
        "must be a $(string.ID)",
    );
    rejects(broken(path::ADMX, "class=\"Machine\"", "class=\"Computer\""), path::ADMX, "must be User, Machine or Both");
    rejects(broken(path::ADMX, " valueName=\"remoteWipe\">", ">"), path::ADMX, "no valueName");
    rejects(broken(path::ADMX, " key=\"SOFTWARE\\Policies\\Houmon\"", ""), path::ADMX, "needs the attribute key");
    rejects(
        broken(
            path::ADMX,
            "xmlns=\"http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions\"",
            "xmlns=\"http://example.com/policies\"",
        ),
        path::ADMX,
        "must be <policyDefinitions> in the namespace",
    );
    rejects(
        broken(
            path::ADMX,
            "<parentCategory ref=\"Houmon\" />\n      <supportedOn ref=\"SUPPORTED_HOUMON_1\" />",
            "<supportedOn ref=\"SUPPORTED_HOUMON_1\" />\n      <parentCategory ref=\"Houmon\" />",
        ),
        path::ADMX,
        "not allowed here",
    );
    rejects(broken(path::ADML_EN, "<displayName>", "<title>x</title><displayName>"), path::ADML_EN, "not allowed here");
    rejects(
        broken(path::ADML_JA, "<string id=\"Houmon\">", "<string id=\"relayUrl\">x</string><string id=\"Houmon\">"),
        path::ADML_JA,
        "duplicate string id \"relayUrl\"",
    );
}

// ------------------------------------------------------------------------------ Android

const A: &str = path::RESTRICTIONS;

fn with_restriction(extra: &str) -> Vec<Artifact> {
    broken(A, "</restrictions>", &format!("{extra}\n</restrictions>"))
}

#[test]
fn android_restriction_types_and_nesting() {
    rejects(
        broken(A, "android:restrictionType=\"integer\"", "android:restrictionType=\"int\""),
        A,
        "restrictionType=\"int\" is invalid",
    );
    rejects(
        with_restriction(
            "<restriction android:key=\"servers\" android:title=\"@string/mdm_relayUrl_title\" android:restrictionType=\"bundle_array\"><restriction android:key=\"url\" android:title=\"@string/mdm_relayUrl_title\" android:restrictionType=\"string\" /></restriction>",
        ),
        A,
        "may only contain bundles",
    );
    // Control: a bundle_array of bundles of strings is fine.
    accepts(with_restriction(
        "<restriction android:key=\"servers\" android:title=\"@string/mdm_relayUrl_title\" android:restrictionType=\"bundle_array\"><restriction android:key=\"server\" android:title=\"@string/mdm_relayUrl_title\" android:restrictionType=\"bundle\"><restriction android:key=\"url\" android:title=\"@string/mdm_relayUrl_title\" android:restrictionType=\"string\" /></restriction></restriction>",
    ));
    rejects(
        with_restriction(
            "<restriction android:key=\"x\" android:title=\"@string/mdm_relayUrl_title\" android:restrictionType=\"string\"><restriction android:key=\"y\" android:title=\"@string/mdm_relayUrl_title\" android:restrictionType=\"string\" /></restriction>",
        ),
        A,
        "only a bundle or bundle_array may contain restrictions",
    );
    rejects(
        with_restriction(
            "<restriction android:key=\"e\" android:title=\"@string/mdm_relayUrl_title\" android:restrictionType=\"bundle_array\" />",
        ),
        A,
        "needs a bundle",
    );
    rejects(
        with_restriction(
            "<restriction android:key=\"b\" android:title=\"@string/mdm_relayUrl_title\" android:restrictionType=\"bundle\" android:defaultValue=\"x\" />",
        ),
        A,
        "bundles take no default",
    );
    rejects(with_restriction("<item android:key=\"i\" />"), A, "is not a restriction");
}

#[test]
fn android_keys_and_required_attributes() {
    rejects(
        broken(A, "android:key=\"medicalInstitutionCode\"", "android:key=\"relayUrl\""),
        A,
        "duplicate key \"relayUrl\"",
    );
    rejects(broken(A, "android:key=\"relayUrl\"", ""), A, "needs android:key");
    rejects(broken(A, "android:title=\"@string/mdm_relayUrl_title\"", ""), A, "needs android:title");
    rejects(broken(A, "android:restrictionType=\"string\"", ""), A, "needs android:restrictionType");
}

#[test]
fn android_choices_need_entries_that_exist() {
    rejects(broken(A, "android:entries=\"@array/mdm_trainingMode_entries\"", ""), A, "needs android:entries");
    rejects(broken(A, "android:entryValues=\"@array/mdm_trainingMode_values\"", ""), A, "needs android:entryValues");
    let bad = || broken(A, "@array/mdm_trainingMode_entries", "@array/mdm_trainingMode_labels");
    rejects(bad(), path::STRINGS, "no string-array mdm_trainingMode_labels");
    rejects(bad(), path::STRINGS_JA, "no string-array mdm_trainingMode_labels");
    rejects(
        broken(A, "@array/mdm_trainingMode_entries", "@string/mdm_trainingMode_title"),
        A,
        "must be a @array/name reference",
    );
    rejects(
        broken(
            path::STRINGS,
            "<string-array name=\"mdm_trainingMode_entries\">",
            "<string-array name=\"mdm_trainingMode_entries\">\n        <item>Extra</item>",
        ),
        A,
        "entries has 4 items but entryValues 3",
    );
}

#[test]
fn android_resources_exist_in_both_languages() {
    let drop = |name: &'static str| {
        move |s: &str| -> String {
            s.lines().filter(|l| !l.contains(&format!("name=\"{name}\""))).map(|l| format!("{l}\n")).collect()
        }
    };
    rejects(
        broken_with(path::STRINGS_JA, drop("mdm_relayUrl_title")),
        path::STRINGS_JA,
        "no Japanese translation of mdm_relayUrl_title",
    );
    rejects(
        broken_with(path::STRINGS_JA, drop("mdm_relayUrl_title")),
        path::STRINGS_JA,
        "no string mdm_relayUrl_title, referenced by",
    );
    rejects(
        broken_with(path::STRINGS, drop("mdm_relayUrl_description")),
        path::STRINGS,
        "no string mdm_relayUrl_description, referenced by",
    );
    rejects(
        broken(
            path::STRINGS_JA,
            "</resources>",
            "    <string-array name=\"mdm_trainingMode_values\" translatable=\"false\">\n        <item>auto</item>\n        <item>on</item>\n        <item>off</item>\n    </string-array>\n</resources>",
        ),
        path::STRINGS_JA,
        "must not be in values-ja",
    );
    rejects(
        broken(
            path::STRINGS_JA,
            "<string-array name=\"mdm_trainingMode_entries\">",
            "<string-array name=\"mdm_trainingMode_entries\">\n        <item>余分</item>",
        ),
        path::STRINGS_JA,
        "array mdm_trainingMode_entries has 4 items, the default has 3",
    );
    rejects(
        broken(path::STRINGS_JA, "</resources>", "    <string name=\"mdm_unused\">x</string>\n</resources>"),
        path::STRINGS_JA,
        "not in the default values",
    );
    rejects(broken(path::STRINGS, "relay\\'s", "relay's"), path::STRINGS, "unescaped '");
    rejects(
        broken(
            path::STRINGS,
            "<string name=\"mdm_relayUrl_title\">",
            "<string name=\"mdm_relayUrl_title\">x</string>\n    <string name=\"mdm_relayUrl_title\">",
        ),
        path::STRINGS,
        "duplicate resource name \"mdm_relayUrl_title\"",
    );
}

#[test]
fn android_defaults_fit_the_type() {
    rejects(broken(A, "android:defaultValue=\"true\"", "android:defaultValue=\"yes\""), A, "not a valid bool default");
    rejects(
        broken(A, "android:defaultValue=\"3\"", "android:defaultValue=\"three\""),
        A,
        "not a valid integer default",
    );
    rejects(
        broken(A, "android:defaultValue=\"3\"", "android:defaultValue=\"4294967296\""),
        A,
        "not a valid integer default",
    );
    rejects(
        broken(A, "android:defaultValue=\"auto\"", "android:defaultValue=\"sometimes\""),
        A,
        "not one of the entryValues",
    );
    rejects(
        broken(
            A,
            "android:defaultValue=\"@array/mdm_allowedIdentityModes_default\"",
            "android:defaultValue=\"@array/mdm_trainingMode_values\"",
        ),
        A,
        "auto is not one of the entryValues",
    );
    rejects(
        broken(A, "android:defaultValue=\"@array/mdm_allowedIdentityModes_default\"", "android:defaultValue=\"pin\""),
        A,
        "must be an @array/ reference",
    );
}

// ------------------------------------------------------------------------------ AppConfig

const S: &str = path::APPCONFIG;

/// Rename the element `<from keyName="key">…</from>` to `to`.
fn retag(key: &'static str, from: &'static str, to: &'static str) -> impl Fn(&str) -> String {
    move |s: &str| {
        let open = format!("<{from} keyName=\"{key}\">");
        let start = s.find(&open).unwrap_or_else(|| panic!("no {open}"));
        let close = format!("</{from}>");
        let end = start + s[start..].find(&close).unwrap();
        format!(
            "{}<{to} keyName=\"{key}\">{}</{to}>{}",
            &s[..start],
            &s[start + open.len()..end],
            &s[end + close.len()..]
        )
    }
}

#[test]
fn appconfig_structure_follows_the_xsd() {
    rejects(broken(S, "<bundleId>jp.houmon.app</bundleId>", ""), S, "needs <bundleId>");
    rejects(
        broken(S, "<bundleId>jp.houmon.app</bundleId>", "<bundleId>jp.houmon-app</bundleId>"),
        S,
        "letters and digits separated by dots",
    );
    rejects(broken(S, "<version>1</version>", "<version>0</version>"), S, "integer from 1 to 99999");
    rejects(
        broken(
            S,
            "<version>1</version>\n    <bundleId>jp.houmon.app</bundleId>",
            "<bundleId>jp.houmon.app</bundleId>\n    <version>1</version>",
        ),
        S,
        "not allowed here",
    );
    rejects(broken(S, "<managedAppConfiguration ", "<managedAppConfiguration xmlns=\"urn:x\" "), S, "in no namespace");
    rejects(broken(S, " defaultLocale=\"en-US\"", ""), S, "needs the attribute defaultLocale");
    rejects(broken(S, "defaultLocale=\"en-US\"", "defaultLocale=\"English (US)\""), S, "is not a language tag");
}

#[test]
fn appconfig_key_types_and_order() {
    rejects(broken_with(S, retag("remoteWipe", "boolean", "bool")), S, "<bool> in dict is not a type");
    // Control: the same rename to a real type passes the dict rule.
    let problems = validate::artifacts(&broken_with(S, retag("remoteWipe", "boolean", "string")));
    assert!(!problems.iter().any(|p| p.en.contains("in dict is not a type")), "{}", show(&problems));
    // The defect the generator had: constraint before defaultValue.
    rejects(
        broken(
            S,
            "<defaultValue>\n                <value>3</value>\n            </defaultValue>\n            <constraint nullable=\"false\" min=\"1\" max=\"12\"/>",
            "<constraint nullable=\"false\" min=\"1\" max=\"12\"/>\n            <defaultValue>\n                <value>3</value>\n            </defaultValue>",
        ),
        S,
        "<defaultValue> is not allowed here",
    );
    rejects(
        broken(S, "<string keyName=\"medicalInstitutionCode\">", "<string keyName=\"relayUrl\">"),
        S,
        "duplicate keyName \"relayUrl\"",
    );
    rejects(broken(S, "<string keyName=\"relayUrl\">", "<string>"), S, "needs the attribute keyName");
    rejects(
        broken(S, "<constraint nullable=\"false\"/>", "<constraint nullable=\"false\" min=\"0\"/>"),
        S,
        "has the attribute min, which the schema does not allow",
    );
    rejects(broken(S, "nullable=\"true\"", "nullable=\"maybe\""), S, "nullable=\"maybe\" must be true or false");
    rejects(broken(S, "min=\"1\" max=\"12\"", "min=\"one\" max=\"12\""), S, "min=\"one\" has the wrong type");
}

#[test]
fn appconfig_defaults_are_typed_and_constrained() {
    rejects(broken(S, "<value>3</value>", "<value>three</value>"), S, "is not of type integer");
    rejects(broken(S, "<value>5</value>", "<value>61</value>"), S, "outside min/max");
    rejects(broken(S, "<value>true</value>", "<value>yes</value>"), S, "is not of type boolean");
    rejects(broken(S, "<value>auto</value>", "<value>sometimes</value>"), S, "not one of the constraint's values");
    rejects(broken(S, "<value>3</value>", "<value>3</value><value>4</value>"), S, "takes a single value");
    rejects(
        broken(S, "<value>3</value>", "<userVariable value=\"username\"/>"),
        S,
        "<userVariable> is not allowed in defaultValue",
    );
    // A string may default to a user variable, but only one the XSD lists.
    accepts(broken(
        S,
        "<string keyName=\"relayUrl\">\n",
        "<string keyName=\"relayUrl\">\n            <defaultValue><userVariable value=\"username\"/></defaultValue>\n",
    ));
    rejects(
        broken(
            S,
            "<string keyName=\"relayUrl\">\n",
            "<string keyName=\"relayUrl\">\n            <defaultValue><userVariable value=\"nickname\"/></defaultValue>\n",
        ),
        S,
        "userVariable value=\"nickname\" is invalid",
    );
}

#[test]
fn appconfig_presentation_follows_the_xsd() {
    rejects(broken(S, "type=\"checkbox\"", "type=\"toggle\""), S, "type=\"toggle\" is invalid");
    rejects(
        broken(S, "<field keyName=\"relayUrl\"", "<field keyName=\"relayURL\""),
        S,
        "the field keyName \"relayURL\" is not a key in dict",
    );
    rejects(broken(S, "<option value=\"pin\">", "<option>"), S, "needs the attribute value");
    // The generator's old option form: a <value> child instead of the attribute.
    rejects(
        broken(S, "<option value=\"pin\">", "<option value=\"pin\"><value>pin</value>"),
        S,
        "<value> is not allowed here",
    );
    rejects(
        broken(
            S,
            "<language value=\"en-US\">Relay URL</language>",
            "<language value=\"en-US\"><b>Relay URL</b></language>",
        ),
        S,
        "takes text only",
    );
    rejects(broken(S, "<language value=\"ja-JP\">", "<language value=\"日本語\">"), S, "is not a language tag");
    rejects(
        broken_with(S, |s| {
            let start = s.find("            <options>").unwrap();
            let end = s.find("            </options>\n").unwrap() + "            </options>\n".len();
            format!("{}{}", &s[..start], &s[end..])
        }),
        S,
        "needs options",
    );
    rejects(broken(S, "<label>", "<title>"), S, "not well-formed");
}

// ------------------------------------------------------------------------------ macOS

const M: &str = path::MOBILECONFIG;

fn profile_uuids() -> (String, String) {
    let text = std::fs::read_to_string(mdm_dir().join(M)).unwrap();
    let v = plist::Value::from_reader(std::io::Cursor::new(text.as_bytes())).unwrap();
    let root = v.as_dictionary().unwrap();
    let inner =
        root["PayloadContent"].as_array().unwrap()[0].as_dictionary().unwrap()["PayloadUUID"].as_string().unwrap();
    (root["PayloadUUID"].as_string().unwrap().to_string(), inner.to_string())
}

#[test]
fn mobileconfig_payload_uuids_are_unique_and_valid() {
    let (outer, inner) = profile_uuids();
    assert_ne!(outer, inner);
    rejects(broken(M, &inner, &outer), M, "duplicate PayloadUUID");
    rejects(broken(M, &inner, &outer.to_lowercase()), M, "duplicate PayloadUUID");
    let bad = format!("{}Z", &inner[..35]);
    rejects(broken(M, &inner, &bad), M, "is not a UUID");
    rejects(broken(M, &inner, &inner.replace('-', "")), M, "is not a UUID");
}

#[test]
fn mobileconfig_required_payload_keys() {
    rejects(
        broken(M, "<key>PayloadType</key>\n\t\t\t<string>jp.houmon.app</string>\n", ""),
        M,
        "PayloadContent[0] lacks PayloadType",
    );
    rejects(
        broken(M, "<key>PayloadIdentifier</key>\n\t\t\t<string>jp.houmon.app.policy</string>\n", ""),
        M,
        "PayloadContent[0] lacks PayloadIdentifier",
    );
    rejects(
        broken(M, "<key>PayloadIdentifier</key>\n\t<string>jp.houmon.app.profile</string>\n", ""),
        M,
        "profile lacks PayloadIdentifier",
    );
    rejects(
        broken(M, "<string>jp.houmon.app.policy</string>", "<string>jp.houmon.app.profile</string>"),
        M,
        "duplicate PayloadIdentifier",
    );
    rejects(broken(M, "<string>Configuration</string>", "<string>Settings</string>"), M, "must be Configuration");
    rejects(broken(M, "<integer>1</integer>", "<string>1</string>"), M, "PayloadVersion must be the integer 1");
    rejects(broken(M, "<string>System</string>", "<string>Device</string>"), M, "PayloadScope must be User or System");
    rejects(broken_with(M, |_| "not a plist".into()), M, "not a property list");
}

#[test]
fn more_single_rule_breaks() {
    // ADMX
    rejects(
        broken(path::ADMX, "minValue=\"1\" maxValue=\"60\"", "minValue=\"61\" maxValue=\"60\""),
        path::ADMX,
        "minValue 61 is greater than maxValue 60",
    );
    rejects(
        broken(path::ADMX, "minValue=\"1\" maxValue=\"60\"", "minValue=\"-1\" maxValue=\"60\""),
        path::ADMX,
        "minValue must be an unsigned integer",
    );
    rejects(
        broken_with(path::ADMX, |s| {
            s.lines()
                .filter(|l| !l.contains("<item displayName=\"$(string.trainingMode_"))
                .map(|l| format!("{l}\n"))
                .collect()
        }),
        path::ADMX,
        "needs <item>",
    );
    rejects(
        broken(
            path::ADMX,
            "<category name=\"Houmon\" displayName=\"$(string.Houmon)\" />",
            "<category name=\"Houmon\" />",
        ),
        path::ADMX,
        "needs the attribute displayName",
    );
    rejects(
        broken(
            path::ADMX,
            "<enabledValue><decimal value=\"1\" /></enabledValue>",
            "<enabledValue><decimal value=\"1\" /></enabledValue>\n      <elements><text id=\"t\" /></elements>",
        ),
        path::ADMX,
        "needs the attribute valueName",
    );
    rejects(
        broken(path::ADML_EN, "<presentation id=\"medicalInstitutionCode\">", "<presentation id=\"relayUrl\">"),
        path::ADML_EN,
        "duplicate presentation id \"relayUrl\"",
    );
    rejects(
        broken(path::ADML_EN, "<displayName>", "<description>x</description><displayName>"),
        path::ADML_EN,
        "not allowed here",
    );
    // AppConfig
    rejects(
        broken(
            S,
            "        <field keyName=\"relayUrl\" type=\"input\">",
            "        <fieldGroup>\n        <field keyName=\"relayUrl\" type=\"input\">",
        ),
        S,
        "not well-formed",
    );
    rejects(
        broken_with(S, |s| {
            let f = s.find("        <field keyName=\"relayUrl\"").unwrap();
            let end = f + s[f..].find("        </field>\n").unwrap() + "        </field>\n".len();
            format!("{}        <fieldGroup>\n{}        </fieldGroup>\n{}", &s[..f], &s[f..end], &s[end..])
        }),
        S,
        "needs <name>",
    );
    // Control: the same group with a name is valid.
    accepts(broken_with(S, |s| {
        let f = s.find("        <field keyName=\"relayUrl\"").unwrap();
        let end = f + s[f..].find("        </field>\n").unwrap() + "        </field>\n".len();
        format!(
            "{}        <fieldGroup>\n<name><language value=\"en-US\">Relay</language></name>\n{}        </fieldGroup>\n{}",
            &s[..f],
            &s[f..end],
            &s[end..]
        )
    }));
    rejects(
        broken(
            S,
            "<constraint nullable=\"false\" min=\"1\" max=\"12\"/>",
            "<constraint nullable=\"false\" min=\"1\" max=\"12\"><values><value>x</value></values></constraint>",
        ),
        S,
        "the value \"x\" is not of type integer",
    );
    rejects(
        broken_with(S, |s| {
            let a = s.find("    <dict>\n").unwrap() + "    <dict>\n".len();
            let b = s.find("    </dict>").unwrap();
            format!("{}{}", &s[..a], &s[b..])
        }),
        S,
        "dict needs at least one key",
    );
    // Configuration profile
    rejects(
        broken_with(M, |s| {
            let a = s.find("\t<key>PayloadContent</key>").unwrap();
            let b = s.find("\n\t</array>\n").unwrap() + "\n\t</array>".len();
            format!("{}{}", &s[..a], &s[b..])
        }),
        M,
        "PayloadContent must be an array of payloads",
    );
}

// ------------------------------------------------------------------------------ Linux

#[test]
fn linux_examples_use_only_schema_keys() {
    rejects(
        broken(path::LINUX_MANAGED, "\"relayUrl\"", "\"relayURL\""),
        path::LINUX_MANAGED,
        "relayURL is not a setting",
    );
    rejects(broken_with(path::LINUX_RECOMMENDED, |_| "[]".into()), path::LINUX_RECOMMENDED, "not a JSON object");
    rejects(
        broken(path::LINUX_MANAGED, "\"autoLockMinutes\": 3", "\"autoLockMinutes\": 600"),
        path::LINUX_MANAGED,
        "autoLockMinutes: ",
    );
    rejects(
        broken(
            path::LINUX_MANAGED,
            "\"medicalInstitutionCode\": \"1312345679\"",
            "\"medicalInstitutionCode\": \"1312345678\"",
        ),
        path::LINUX_MANAGED,
        "medicalInstitutionCode: ",
    );
    rejects(broken(path::LINUX_MANAGED, "{", "{ \"x\": "), path::LINUX_MANAGED, "not valid JSON");
}

#[test]
fn problems_name_the_file_in_both_languages() {
    let problems = validate::artifacts(&broken(path::ADMX, "class=\"Machine\"", "class=\"Computer\""));
    let p = problems.iter().find(|p| p.en.contains("class=\"Computer\"")).expect("a problem");
    assert_eq!(p.file, path::ADMX);
    assert!(p.ja.contains("class=\"Computer\"") && p.ja.contains("いずれか"), "{p}");
    let shown = p.to_string();
    assert!(shown.starts_with("windows/houmon.admx: ") && shown.contains(" / "), "{shown}");
}
