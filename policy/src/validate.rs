//! Checks the MDM artifacts in `mdm/` the way their real consumers read them (MDM成果物の検証),
//! so a file that a console would reject never ships:
//!
//! - every XML file: well-formed, parsed strictly ([`well_formed`]);
//! - `windows/houmon.admx` with both ADMLs: the Group Policy ADMX/ADML schema rules and the
//!   references between the files ([`admx`]);
//! - `android/res/xml/app_restrictions.xml` with `values` and `values-ja`: the Android managed
//!   configuration rules and the resources it references ([`android`]);
//! - `appconfig/specfile.xml`: the AppConfig community specfile XSD (`appconfig.xsd`), its
//!   rules encoded here ([`appconfig`]);
//! - the `.mobileconfig`: an Apple configuration profile ([`mobileconfig`]);
//! - the Linux examples: a JSON object ([`linux_json`]).
//!
//! [`artifacts`] checks a set of generated files, [`dir`] the files in a folder. `houmon-mdm`
//! refuses to write anything that fails ([`super::generate::write_all`]), and
//! `policy/tests/mdm_consumers.rs` runs every check over the committed files.
//!
//! Each problem names the file and says what is wrong in Japanese and in English.
//!
//! Must never: write or change a file, reach the network, or pass a file because a check could
//! not run (a file that cannot be read or parsed is a problem, not a pass).

use super::generate::Artifact;
use roxmltree::{Document, Node, ParsingOptions};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// One thing wrong with one file, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Problem {
    /// The file, relative to `mdm/`.
    pub file: String,
    pub ja: String,
    pub en: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} / {}", self.file, self.ja, self.en)
    }
}

fn problem(file: &str, ja: impl Into<String>, en: impl Into<String>) -> Problem {
    Problem { file: file.to_string(), ja: ja.into(), en: en.into() }
}

/// The artifact paths, relative to `mdm/`.
pub mod path {
    pub const ADMX: &str = "windows/houmon.admx";
    pub const ADML_EN: &str = "windows/en-US/houmon.adml";
    pub const ADML_JA: &str = "windows/ja-JP/houmon.adml";
    pub const RESTRICTIONS: &str = "android/res/xml/app_restrictions.xml";
    pub const STRINGS: &str = "android/res/values/mdm_strings.xml";
    pub const STRINGS_JA: &str = "android/res/values-ja/mdm_strings.xml";
    pub const APPCONFIG: &str = "appconfig/specfile.xml";
    pub const MOBILECONFIG: &str = "macos/jp.houmon.app.example.mobileconfig";
    pub const LINUX_MANAGED: &str = "linux/managed/houmon.example.json";
    pub const LINUX_RECOMMENDED: &str = "linux/recommended/houmon.example.json";
}

/// Whether a path (relative to `mdm/`) is an XML file.
pub fn is_xml(path: &str) -> bool {
    [".xml", ".admx", ".adml", ".mobileconfig"].iter().any(|e| path.ends_with(e))
}

// ------------------------------------------------------------------------------ the whole set

/// Checks every artifact in `files` (path relative to `mdm/`, contents) with the checks of its
/// consumer. A file that a check needs but `files` lacks is a problem.
pub fn artifacts(files: &[Artifact]) -> Vec<Problem> {
    let map: BTreeMap<&str, &str> = files.iter().map(|a| (a.path, a.contents.as_str())).collect();
    check_all(&|p| map.get(p).map(|s| s.to_string()), &map.keys().copied().collect::<Vec<_>>())
}

/// Checks the files of [`super::generate::artifacts`] as they are in `mdm_dir`.
pub fn dir(mdm_dir: &Path) -> Vec<Problem> {
    let paths: Vec<&'static str> = super::generate::artifacts().iter().map(|a| a.path).collect();
    check_all(&|p| std::fs::read_to_string(mdm_dir.join(p)).ok(), &paths)
}

fn check_all(read: &dyn Fn(&str) -> Option<String>, paths: &[&str]) -> Vec<Problem> {
    let mut out = Vec::new();
    let get = |p: &str, out: &mut Vec<Problem>| {
        let text = read(p);
        if text.is_none() {
            out.push(problem(p, "ファイルがないか読めません", "the file is missing or unreadable"));
        }
        text
    };
    for p in paths.iter().filter(|p| is_xml(p)) {
        if let Some(t) = read(p) {
            out.extend(well_formed(p, &t).err());
        }
    }
    let (admx_t, en, ja) = (get(path::ADMX, &mut out), get(path::ADML_EN, &mut out), get(path::ADML_JA, &mut out));
    if let (Some(x), Some(en), Some(ja)) = (admx_t, en, ja) {
        out.extend(admx(&x, &[(path::ADML_EN, &en), (path::ADML_JA, &ja)]));
    }
    let (r, v, vj) = (get(path::RESTRICTIONS, &mut out), get(path::STRINGS, &mut out), get(path::STRINGS_JA, &mut out));
    if let (Some(r), Some(v), Some(vj)) = (r, v, vj) {
        out.extend(android(&r, &v, &vj));
    }
    if let Some(t) = get(path::APPCONFIG, &mut out) {
        out.extend(appconfig(&t));
    }
    if let Some(t) = get(path::MOBILECONFIG, &mut out) {
        out.extend(mobileconfig(t.as_bytes()));
    }
    for p in [path::LINUX_MANAGED, path::LINUX_RECOMMENDED] {
        if let Some(t) = get(p, &mut out) {
            out.extend(linux_json(p, &t));
        }
    }
    // A problem found twice (well-formedness is checked again by the consumer checks) once.
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

// ------------------------------------------------------------------------------ XML

/// Parses `text` strictly (XML 1.0 well-formedness: a `--` inside a comment, an unclosed or
/// mismatched tag, a bad entity, an undeclared prefix are all errors). A DOCTYPE is allowed (a
/// property list has one); entities it would declare are not expanded from outside.
pub fn well_formed<'a>(file: &str, text: &'a str) -> Result<Document<'a>, Problem> {
    let opts = ParsingOptions { allow_dtd: true, ..ParsingOptions::default() };
    Document::parse_with_options(text, opts)
        .map_err(|e| problem(file, format!("XML として正しくありません: {e}"), format!("not well-formed XML: {e}")))
}

fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    elements(n).find(|c| c.tag_name().name() == name)
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    elements(n).filter(move |c| c.tag_name().name() == name)
}

/// Where an element is, for messages: `policy[name=relayUrl]/elements`.
fn at(n: Node) -> String {
    let mut parts = Vec::new();
    let mut cur = Some(n);
    while let Some(c) = cur {
        if c.is_element() {
            let id = ["name", "id", "keyName", "refId"]
                .iter()
                .find_map(|a| c.attribute(*a).map(|v| format!("[{a}={v}]")))
                .or_else(|| {
                    c.attribute(("http://schemas.android.com/apk/res/android", "key")).map(|v| format!("[key={v}]"))
                })
                .unwrap_or_default();
            parts.push(format!("{}{id}", c.tag_name().name()));
        }
        cur = c.parent();
    }
    parts.reverse();
    parts.join("/")
}

/// Checks that the element children of `n` follow `rule` (name, least, most), in that order,
/// and that there is nothing else.
fn sequence(file: &str, n: Node, rule: &[(&str, usize, usize)], out: &mut Vec<Problem>) {
    let kids: Vec<Node> = elements(n).collect();
    let mut i = 0;
    for &(name, min, max) in rule {
        let mut count = 0;
        while i < kids.len() && kids[i].tag_name().name() == name {
            count += 1;
            i += 1;
        }
        if count < min {
            out.push(problem(
                file,
                format!("{} に <{name}> が必要です(この位置に {min} 個以上)", at(n)),
                format!("{} needs <{name}> (at least {min}, in this position)", at(n)),
            ));
        }
        if count > max {
            out.push(problem(
                file,
                format!("{} の <{name}> は {max} 個までです({count} 個あります)", at(n)),
                format!("{} allows at most {max} <{name}> ({count} found)", at(n)),
            ));
        }
    }
    if let Some(extra) = kids.get(i) {
        let allowed: Vec<&str> = rule.iter().map(|r| r.0).collect();
        out.push(problem(
            file,
            format!(
                "{} の中の <{}> はここに置けません(許される順序: {})",
                at(n),
                extra.tag_name().name(),
                allowed.join(", ")
            ),
            format!(
                "<{}> is not allowed here in {} (allowed, in order: {})",
                extra.tag_name().name(),
                at(n),
                allowed.join(", ")
            ),
        ));
    }
}

fn required_attr<'a>(file: &str, n: Node<'a, '_>, name: &str, out: &mut Vec<Problem>) -> Option<&'a str> {
    let v = n.attribute(name);
    if v.is_none_or(|v| v.trim().is_empty()) {
        out.push(problem(
            file,
            format!("{} に属性 {name} が必要です", at(n)),
            format!("{} needs the attribute {name}", at(n)),
        ));
        return None;
    }
    v
}

fn only_attrs(file: &str, n: Node, allowed: &[&str], out: &mut Vec<Problem>) {
    for a in n.attributes() {
        if a.namespace().is_none() && !allowed.contains(&a.name()) {
            out.push(problem(
                file,
                format!("{} の属性 {} はスキーマにありません", at(n), a.name()),
                format!("{} has the attribute {}, which the schema does not allow", at(n), a.name()),
            ));
        }
    }
}

fn duplicates<'a>(file: &str, what: (&str, &str), names: impl IntoIterator<Item = &'a str>, out: &mut Vec<Problem>) {
    let mut seen = HashSet::new();
    let mut reported = HashSet::new();
    for n in names {
        if !seen.insert(n) && reported.insert(n) {
            out.push(problem(
                file,
                format!("{} 「{n}」が重複しています", what.0),
                format!("duplicate {} \"{n}\"", what.1),
            ));
        }
    }
}

fn is_xs_boolean(s: &str) -> bool {
    matches!(s.trim(), "true" | "false" | "1" | "0")
}

fn is_xs_int(s: &str) -> bool {
    s.trim().parse::<i32>().is_ok()
}

/// `revision`, `schemaVersion`, `minRequiredRevision` of Group Policy files (`versionString`):
/// 1–4 digits, a dot, 1–5 digits.
fn parse_revision(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    let digits = |p: &str, most: usize| (1..=most).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit());
    if !digits(a, 4) || !digits(b, 5) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// A Group Policy name or id (`itemName`, `resourceID`, the id of a `$(string.ID)`): letters,
/// digits and `_` only.
fn is_gp_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// A Group Policy reference (`itemReference`): `name` or `prefix:name`.
fn is_gp_reference(s: &str) -> bool {
    match s.split_once(':') {
        Some((p, n)) => is_gp_name(p) && is_gp_name(n),
        None => is_gp_name(s),
    }
}

fn gp_name(file: &str, n: Node, attr: &str, v: &str, out: &mut Vec<Problem>) {
    if !is_gp_name(v) {
        out.push(problem(
            file,
            format!("{} の {attr}=\"{v}\" には英数字と _ しか使えません", at(n)),
            format!("{}: {attr}=\"{v}\" may only contain letters, digits and _", at(n)),
        ));
    }
}

// ------------------------------------------------------------------------------ ADMX / ADML

/// The namespace every ADMX and ADML file is in.
pub const GP_NAMESPACE: &str = "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions";

/// For each policy element type, the ADML presentation controls that may show it.
const CONTROLS: &[(&str, &[&str])] = &[
    ("boolean", &["checkBox"]),
    ("decimal", &["decimalTextBox"]),
    ("longDecimal", &["longDecimalTextBox"]),
    ("text", &["textBox", "comboBox"]),
    ("multiText", &["multiTextBox"]),
    ("enum", &["dropdownList"]),
    ("list", &["listBox"]),
];

/// One control of an ADML presentation: element name, refId, defaultItem / defaultValue.
type Control = (String, Option<String>, Option<String>);

/// One ADML file's tables.
struct Adml<'a> {
    file: &'a str,
    strings: HashSet<String>,
    /// Presentation id → its controls.
    presentations: HashMap<String, Vec<Control>>,
}

fn reference<'a>(v: &'a str, kind: &str) -> Option<&'a str> {
    v.strip_prefix("$(")?.strip_suffix(')')?.strip_prefix(kind)?.strip_prefix('.').filter(|id| is_gp_name(id))
}

/// Whether `root` is the Group Policy element `name` in its namespace; reports it if not.
fn gp_root_is(file: &str, root: roxmltree::Node<'_, '_>, name: &str, out: &mut Vec<Problem>) -> bool {
    let ok = root.tag_name().name() == name && root.tag_name().namespace() == Some(GP_NAMESPACE);
    if !ok {
        out.push(problem(
            file,
            format!("ルート要素は名前空間 {GP_NAMESPACE} の <{name}> でなければなりません"),
            format!("the root element must be <{name}> in the namespace {GP_NAMESPACE}"),
        ));
    }
    ok
}

/// Checks an ADMX file and its ADML files (`(path, contents)`, one per language): the ADMX and
/// ADML schema rules (root elements in the Group Policy namespace, `revision`/`schemaVersion`,
/// `policyNamespaces` with one `target` and unique prefixes, `resources@minRequiredRevision` and
/// no ADML below it, element order in `policyDefinitions` and `policy`, required attributes,
/// names and ids of letters, digits and `_`, unique category and policy names, `class` values,
/// unique element ids, a `valueName` on every element but `list` (the XSD leaves it optional;
/// without it Group Policy has no value to write)), and the
/// references: every `parentCategory` and `supportedOn` resolves, every `$(string.X)` and
/// `$(presentation.X)` is defined in every ADML, each presentation's controls match the
/// elements of the policies that use it (same ids, a control of the right type, a
/// `dropdownList` default that exists), and the ADMLs define the same ids.
pub fn admx(admx_text: &str, admls: &[(&str, &str)]) -> Vec<Problem> {
    let file = path::ADMX;
    let mut out = Vec::new();
    let doc = match well_formed(file, admx_text) {
        Ok(d) => d,
        Err(p) => return vec![p],
    };
    let root = doc.root_element();
    if !gp_root_is(file, root, "policyDefinitions", &mut out) {
        return out;
    }
    for a in ["revision", "schemaVersion"] {
        if let Some(v) = required_attr(file, root, a, &mut out)
            && parse_revision(v).is_none()
        {
            out.push(problem(
                file,
                format!("{a}=\"{v}\" は「数字.数字」の形式でなければなりません"),
                format!("{a}=\"{v}\" must be of the form number.number"),
            ));
        }
    }
    sequence(
        file,
        root,
        &[
            ("policyNamespaces", 1, 1),
            ("supersededAdm", 0, usize::MAX),
            ("annotation", 0, usize::MAX),
            ("resources", 1, 1),
            ("supportedOn", 0, 1),
            ("categories", 0, 1),
            ("policies", 0, 1),
        ],
        &mut out,
    );

    // Namespaces: one target, then `using`s; prefixes and namespaces unique.
    let mut prefixes: Vec<&str> = Vec::new();
    let mut namespaces: Vec<&str> = Vec::new();
    let mut target_prefix = None;
    if let Some(ns) = child(root, "policyNamespaces") {
        sequence(file, ns, &[("target", 1, 1), ("using", 0, usize::MAX)], &mut out);
        for (i, t) in elements(ns).enumerate() {
            let p = required_attr(file, t, "prefix", &mut out);
            let n = required_attr(file, t, "namespace", &mut out);
            if let (Some(p), Some(n)) = (p, n) {
                prefixes.push(p);
                namespaces.push(n);
                if i == 0 && t.tag_name().name() == "target" {
                    target_prefix = Some(p);
                }
            }
        }
        duplicates(file, ("名前空間の接頭辞", "namespace prefix"), prefixes.iter().copied(), &mut out);
        duplicates(file, ("名前空間", "namespace"), namespaces.iter().copied(), &mut out);
    }
    let local = |r: &str| -> Option<String> {
        // `prefix:name` of the target namespace or a bare name is ours; a `using` prefix is
        // another file's (resolved by Group Policy, not here).
        match r.split_once(':') {
            None => Some(r.to_string()),
            Some((p, n)) if Some(p) == target_prefix => Some(n.to_string()),
            Some(_) => None,
        }
    };
    let foreign_ok = |r: &str, out: &mut Vec<Problem>, n: Node| {
        if !is_gp_reference(r) {
            out.push(problem(
                file,
                format!("{} の参照 {r} は「名前」か「接頭辞:名前」の形式です", at(n)),
                format!("{}: the reference {r} must be name or prefix:name", at(n)),
            ));
        }
        if let Some((p, _)) = r.split_once(':')
            && !prefixes.contains(&p)
        {
            out.push(problem(
                file,
                format!("{} の参照 {r} の接頭辞 {p} は policyNamespaces にありません", at(n)),
                format!("{}: the prefix {p} of {r} is not declared in policyNamespaces", at(n)),
            ));
        }
    };

    // Revision the ADMLs must reach.
    let mut min_revision = None;
    if let Some(res) = child(root, "resources")
        && let Some(v) = required_attr(file, res, "minRequiredRevision", &mut out)
    {
        min_revision = parse_revision(v);
        if min_revision.is_none() {
            out.push(problem(
                file,
                format!("minRequiredRevision=\"{v}\" は「数字.数字」の形式でなければなりません"),
                format!("minRequiredRevision=\"{v}\" must be of the form number.number"),
            ));
        }
    }

    let mut strings_used: Vec<(String, String)> = Vec::new(); // (id, where)
    let mut use_string = |v: &str, n: Node, attr: &str, out: &mut Vec<Problem>| match reference(v, "string") {
        Some(id) => strings_used.push((id.to_string(), at(n))),
        None => out.push(problem(
            file,
            format!("{} の {attr}=\"{v}\" は $(string.ID) の形式でなければなりません", at(n)),
            format!("{}: {attr}=\"{v}\" must be a $(string.ID) reference", at(n)),
        )),
    };

    // supportedOn definitions.
    let mut supported = HashSet::new();
    if let Some(s) = child(root, "supportedOn") {
        sequence(file, s, &[("products", 0, 1), ("definitions", 0, 1)], &mut out);
        if let Some(defs) = child(s, "definitions") {
            sequence(file, defs, &[("definition", 1, usize::MAX)], &mut out);
            let mut names = Vec::new();
            for d in children(defs, "definition") {
                if let Some(n) = required_attr(file, d, "name", &mut out) {
                    gp_name(file, d, "name", n, &mut out);
                    names.push(n);
                    supported.insert(n.to_string());
                }
                if let Some(v) = required_attr(file, d, "displayName", &mut out) {
                    use_string(v, d, "displayName", &mut out);
                }
            }
            duplicates(file, ("supportedOn の定義名", "supportedOn definition name"), names, &mut out);
        }
    }

    // Categories.
    let mut categories = HashSet::new();
    let mut category_refs = Vec::new();
    if let Some(cats) = child(root, "categories") {
        sequence(file, cats, &[("category", 1, usize::MAX)], &mut out);
        let mut names = Vec::new();
        for c in children(cats, "category") {
            sequence(file, c, &[("parentCategory", 0, 1), ("seeAlso", 0, usize::MAX), ("keywords", 0, 1)], &mut out);
            if let Some(n) = required_attr(file, c, "name", &mut out) {
                gp_name(file, c, "name", n, &mut out);
                names.push(n);
                categories.insert(n.to_string());
            }
            if let Some(v) = required_attr(file, c, "displayName", &mut out) {
                use_string(v, c, "displayName", &mut out);
            }
            if let Some(v) = c.attribute("explainText") {
                use_string(v, c, "explainText", &mut out);
            }
            if let Some(p) = child(c, "parentCategory") {
                category_refs.push(p);
            }
        }
        duplicates(file, ("カテゴリ名", "category name"), names, &mut out);
    }

    // Policies.
    struct Uses<'a, 'i> {
        policy: Node<'a, 'i>,
        elements: Vec<Node<'a, 'i>>,
    }
    let mut presentations_used: BTreeMap<String, Vec<Uses>> = BTreeMap::new();
    if let Some(pols) = child(root, "policies") {
        sequence(file, pols, &[("policy", 0, usize::MAX)], &mut out);
        let mut names = Vec::new();
        for p in children(pols, "policy") {
            sequence(
                file,
                p,
                &[
                    ("parentCategory", 1, 1),
                    ("seeAlso", 0, usize::MAX),
                    ("keywords", 0, 1),
                    ("supportedOn", 1, 1),
                    ("enabledValue", 0, 1),
                    ("disabledValue", 0, 1),
                    ("enabledList", 0, 1),
                    ("disabledList", 0, 1),
                    ("elements", 0, 1),
                ],
                &mut out,
            );
            if let Some(n) = required_attr(file, p, "name", &mut out) {
                gp_name(file, p, "name", n, &mut out);
                names.push(n);
            }
            if let Some(c) = required_attr(file, p, "class", &mut out)
                && !matches!(c, "User" | "Machine" | "Both")
            {
                out.push(problem(
                    file,
                    format!("{} の class=\"{c}\" は User・Machine・Both のいずれかです", at(p)),
                    format!("{}: class=\"{c}\" must be User, Machine or Both", at(p)),
                ));
            }
            if let Some(v) = required_attr(file, p, "displayName", &mut out) {
                use_string(v, p, "displayName", &mut out);
            }
            if let Some(v) = p.attribute("explainText") {
                use_string(v, p, "explainText", &mut out);
            }
            required_attr(file, p, "key", &mut out);
            if (child(p, "enabledValue").is_some() || child(p, "disabledValue").is_some())
                && p.attribute("valueName").is_none()
            {
                out.push(problem(
                    file,
                    format!("{} は enabledValue/disabledValue を書く値の名前 valueName が必要です", at(p)),
                    format!("{} has enabledValue/disabledValue but no valueName to write them to", at(p)),
                ));
            }
            if let Some(c) = child(p, "parentCategory") {
                category_refs.push(c);
            }
            if let Some(s) = child(p, "supportedOn")
                && let Some(r) = required_attr(file, s, "ref", &mut out)
            {
                foreign_ok(r, &mut out, s);
                if let Some(l) = local(r)
                    && !supported.contains(&l)
                {
                    out.push(problem(
                        file,
                        format!("{} の supportedOn ref=\"{r}\" の定義がありません", at(p)),
                        format!("{}: supportedOn ref=\"{r}\" has no definition", at(p)),
                    ));
                }
            }
            // Elements: ids unique in the policy, valueName where the type writes one value.
            let els: Vec<Node> = child(p, "elements").map(|e| elements(e).collect()).unwrap_or_default();
            let mut ids = Vec::new();
            for e in &els {
                let ty = e.tag_name().name();
                if !CONTROLS.iter().any(|c| c.0 == ty) {
                    out.push(problem(
                        file,
                        format!("{} の要素 <{ty}> はポリシー要素の型ではありません", at(p)),
                        format!("{}: <{ty}> is not a policy element type", at(p)),
                    ));
                    continue;
                }
                if let Some(id) = required_attr(file, *e, "id", &mut out) {
                    ids.push(id);
                }
                if ty != "list" {
                    required_attr(file, *e, "valueName", &mut out);
                }
                if matches!(ty, "decimal" | "longDecimal") {
                    let num = |a: &str| e.attribute(a).map(|v| v.parse::<u64>());
                    for a in ["minValue", "maxValue"] {
                        if let Some(Err(_)) = num(a) {
                            out.push(problem(
                                file,
                                format!("{} の {a} は 0 以上の整数です", at(*e)),
                                format!("{}: {a} must be an unsigned integer", at(*e)),
                            ));
                        }
                    }
                    if let (Some(Ok(lo)), Some(Ok(hi))) = (num("minValue"), num("maxValue"))
                        && lo > hi
                    {
                        out.push(problem(
                            file,
                            format!("{} の minValue {lo} が maxValue {hi} より大きいです", at(*e)),
                            format!("{}: minValue {lo} is greater than maxValue {hi}", at(*e)),
                        ));
                    }
                }
                if ty == "enum" {
                    sequence(file, *e, &[("item", 1, usize::MAX)], &mut out);
                    for item in children(*e, "item") {
                        if let Some(v) = required_attr(file, item, "displayName", &mut out) {
                            use_string(v, item, "displayName", &mut out);
                        }
                        sequence(file, item, &[("value", 1, 1), ("valueList", 0, 1)], &mut out);
                    }
                }
            }
            duplicates(file, ("要素の id", "element id"), ids, &mut out);
            match p.attribute("presentation") {
                Some(v) => match reference(v, "presentation") {
                    Some(id) => {
                        presentations_used.entry(id.to_string()).or_default().push(Uses { policy: p, elements: els })
                    }
                    None => out.push(problem(
                        file,
                        format!("{} の presentation=\"{v}\" は $(presentation.ID) の形式でなければなりません", at(p)),
                        format!("{}: presentation=\"{v}\" must be a $(presentation.ID) reference", at(p)),
                    )),
                },
                None if !els.is_empty() => out.push(problem(
                    file,
                    format!("{} には要素がありますが presentation がないため値を入力できません", at(p)),
                    format!("{} has elements but no presentation, so no value can be entered", at(p)),
                )),
                None => {}
            }
        }
        duplicates(file, ("ポリシー名", "policy name"), names, &mut out);
    }
    for c in category_refs {
        if let Some(r) = required_attr(file, c, "ref", &mut out) {
            foreign_ok(r, &mut out, c);
            if let Some(l) = local(r)
                && !categories.contains(&l)
            {
                out.push(problem(
                    file,
                    format!("{} の parentCategory ref=\"{r}\" のカテゴリがありません", at(c)),
                    format!("{}: parentCategory ref=\"{r}\" names no category", at(c)),
                ));
            }
        }
    }

    // Any other `$(string.X)` in an attribute (the schema allows them in more places than the
    // ones checked above) must resolve too.
    for n in root.descendants().filter(|n| n.is_element()) {
        for a in n.attributes() {
            if let Some(id) = reference(a.value(), "string")
                && !strings_used.iter().any(|(i, _)| i == id)
            {
                strings_used.push((id.to_string(), at(n)));
            }
        }
    }

    // The ADMLs.
    let mut tables = Vec::new();
    for (f, text) in admls {
        match adml(f, text, min_revision, &mut out) {
            Some(t) => tables.push(t),
            None => continue,
        }
    }
    for t in &tables {
        let mut missing = BTreeSet::new();
        for (id, place) in &strings_used {
            if !t.strings.contains(id) && missing.insert(id) {
                out.push(problem(
                    t.file,
                    format!("文字列 {id} がありません(ADMX の {place} が参照)"),
                    format!("no string {id} (referenced by {place} in the ADMX)"),
                ));
            }
        }
        for (id, uses) in &presentations_used {
            let Some(controls) = t.presentations.get(id) else {
                out.push(problem(
                    t.file,
                    format!(
                        "プレゼンテーション {id} がありません(ADMX のポリシー {} が参照)",
                        uses[0].policy.attribute("name").unwrap_or("?")
                    ),
                    format!(
                        "no presentation {id} (referenced by policy {} in the ADMX)",
                        uses[0].policy.attribute("name").unwrap_or("?")
                    ),
                ));
                continue;
            };
            for u in uses {
                let policy = u.policy.attribute("name").unwrap_or("?");
                for (control, ref_id, default) in controls {
                    let Some(ref_id) = ref_id else { continue };
                    let Some(e) = u.elements.iter().find(|e| e.attribute("id") == Some(ref_id.as_str())) else {
                        out.push(problem(
                            t.file,
                            format!("プレゼンテーション {id} の {control} refId=\"{ref_id}\" に対応する要素がポリシー {policy} にありません"),
                            format!("presentation {id}: {control} refId=\"{ref_id}\" matches no element of policy {policy}"),
                        ));
                        continue;
                    };
                    let ty = e.tag_name().name();
                    let fits = CONTROLS.iter().find(|c| c.0 == ty).is_some_and(|c| c.1.contains(&control.as_str()));
                    if !fits {
                        out.push(problem(
                            t.file,
                            format!("プレゼンテーション {id} の {control} はポリシー {policy} の <{ty} id=\"{ref_id}\"> を表示できません"),
                            format!("presentation {id}: a {control} cannot show <{ty} id=\"{ref_id}\"> of policy {policy}"),
                        ));
                    }
                    if control == "dropdownList"
                        && let Some(d) = default
                    {
                        let items = children(*e, "item").count();
                        if d.parse::<usize>().map_or(true, |i| i >= items) {
                            out.push(problem(
                                t.file,
                                format!(
                                    "プレゼンテーション {id} の defaultItem=\"{d}\" は 0〜{} の番号です",
                                    items.saturating_sub(1)
                                ),
                                format!(
                                    "presentation {id}: defaultItem=\"{d}\" must be an index from 0 to {}",
                                    items.saturating_sub(1)
                                ),
                            ));
                        }
                    }
                    if control == "decimalTextBox"
                        && let Some(d) = default
                    {
                        let bound = |a: &str| e.attribute(a).and_then(|v| v.parse::<u64>().ok());
                        let ok = d.parse::<u64>().is_ok_and(|v| {
                            bound("minValue").is_none_or(|lo| v >= lo) && bound("maxValue").is_none_or(|hi| v <= hi)
                        });
                        if !ok {
                            out.push(problem(
                                t.file,
                                format!("プレゼンテーション {id} の defaultValue=\"{d}\" が要素の範囲外です"),
                                format!("presentation {id}: defaultValue=\"{d}\" is outside the element's range"),
                            ));
                        }
                    }
                }
                for e in &u.elements {
                    let eid = e.attribute("id").unwrap_or("?");
                    if !controls.iter().any(|c| c.1.as_deref() == Some(eid)) {
                        out.push(problem(
                            t.file,
                            format!("ポリシー {policy} の要素 {eid} を表示するコントロールがプレゼンテーション {id} にありません"),
                            format!("presentation {id} has no control for element {eid} of policy {policy}"),
                        ));
                    }
                }
            }
        }
    }
    // Every language defines the same ids (what one language has and another lacks).
    for a in &tables {
        for b in &tables {
            for id in a.strings.difference(&b.strings).collect::<BTreeSet<_>>() {
                out.push(problem(
                    b.file,
                    format!("文字列 {id} が {} にはありますが、ここにはありません", a.file),
                    format!("string {id} is in {} but not here", a.file),
                ));
            }
            for id in a.presentations.keys().filter(|k| !b.presentations.contains_key(*k)).collect::<BTreeSet<_>>() {
                out.push(problem(
                    b.file,
                    format!("プレゼンテーション {id} が {} にはありますが、ここにはありません", a.file),
                    format!("presentation {id} is in {} but not here", a.file),
                ));
            }
        }
    }
    out
}

fn adml<'a>(file: &'a str, text: &str, min_revision: Option<(u32, u32)>, out: &mut Vec<Problem>) -> Option<Adml<'a>> {
    let doc = match well_formed(file, text) {
        Ok(d) => d,
        Err(p) => {
            out.push(p);
            return None;
        }
    };
    let root = doc.root_element();
    if !gp_root_is(file, root, "policyDefinitionResources", out) {
        return None;
    }
    for a in ["revision", "schemaVersion"] {
        if let Some(v) = required_attr(file, root, a, out) {
            match (parse_revision(v), min_revision) {
                (None, _) => out.push(problem(
                    file,
                    format!("{a}=\"{v}\" は「数字.数字」の形式でなければなりません"),
                    format!("{a}=\"{v}\" must be of the form number.number"),
                )),
                (Some(r), Some(min)) if a == "revision" && r < min => out.push(problem(
                    file,
                    format!("revision {v} が ADMX の minRequiredRevision より古いため読み込まれません"),
                    format!("revision {v} is below the ADMX's minRequiredRevision, so it is not loaded"),
                )),
                _ => {}
            }
        }
    }
    sequence(
        file,
        root,
        &[("displayName", 1, 1), ("description", 1, 1), ("annotation", 0, usize::MAX), ("resources", 1, 1)],
        out,
    );
    let mut t = Adml { file, strings: HashSet::new(), presentations: HashMap::new() };
    let Some(res) = child(root, "resources") else { return Some(t) };
    sequence(file, res, &[("stringTable", 0, 1), ("presentationTable", 0, 1)], out);
    if let Some(st) = child(res, "stringTable") {
        sequence(file, st, &[("string", 1, usize::MAX)], out);
        let mut ids = Vec::new();
        for s in children(st, "string") {
            if let Some(id) = required_attr(file, s, "id", out) {
                gp_name(file, s, "id", id, out);
                ids.push(id);
                t.strings.insert(id.to_string());
            }
        }
        duplicates(file, ("文字列 id", "string id"), ids, out);
    }
    if let Some(pt) = child(res, "presentationTable") {
        sequence(file, pt, &[("presentation", 1, usize::MAX)], out);
        let mut ids = Vec::new();
        for p in children(pt, "presentation") {
            let Some(id) = required_attr(file, p, "id", out) else { continue };
            gp_name(file, p, "id", id, out);
            ids.push(id);
            let mut controls = Vec::new();
            let mut refs = Vec::new();
            for c in elements(p) {
                let name = c.tag_name().name();
                const KNOWN: &[&str] = &[
                    "checkBox",
                    "comboBox",
                    "decimalTextBox",
                    "dropdownList",
                    "listBox",
                    "longDecimalTextBox",
                    "multiTextBox",
                    "textBox",
                    "text",
                ];
                if !KNOWN.contains(&name) {
                    out.push(problem(
                        file,
                        format!("{} の <{name}> はプレゼンテーションのコントロールではありません", at(p)),
                        format!("{}: <{name}> is not a presentation control", at(p)),
                    ));
                    continue;
                }
                let ref_id = if name == "text" { None } else { required_attr(file, c, "refId", out) };
                if let Some(r) = ref_id {
                    refs.push(r);
                }
                if matches!(name, "textBox" | "comboBox") {
                    sequence(file, c, &[("label", 1, 1), ("default", 0, 1), ("suggestion", 0, usize::MAX)], out);
                }
                let default = match name {
                    "dropdownList" => c.attribute("defaultItem"),
                    "decimalTextBox" | "longDecimalTextBox" => c.attribute("defaultValue"),
                    _ => None,
                };
                controls.push((name.to_string(), ref_id.map(str::to_string), default.map(str::to_string)));
            }
            duplicates(file, ("コントロールの refId", "control refId"), refs, out);
            t.presentations.insert(id.to_string(), controls);
        }
        duplicates(file, ("プレゼンテーション id", "presentation id"), ids, out);
    }
    Some(t)
}

// ------------------------------------------------------------------------------ Android

const ANDROID_NS: &str = "http://schemas.android.com/apk/res/android";

/// The `android:restrictionType` values Android accepts.
pub const RESTRICTION_TYPES: &[&str] =
    &["bool", "string", "integer", "choice", "multi-select", "hidden", "bundle", "bundle_array"];

#[derive(Debug, Clone)]
struct Resource {
    array: bool,
    translatable: bool,
    items: Vec<String>,
}

fn resources(file: &str, text: &str, out: &mut Vec<Problem>) -> Option<HashMap<String, Resource>> {
    let doc = match well_formed(file, text) {
        Ok(d) => d,
        Err(p) => {
            out.push(p);
            return None;
        }
    };
    let root = doc.root_element();
    if root.tag_name().name() != "resources" {
        out.push(problem(file, "ルート要素は <resources> です", "the root element must be <resources>"));
        return None;
    }
    let mut map = HashMap::new();
    let mut names = Vec::new();
    for r in elements(root) {
        let kind = r.tag_name().name();
        if !matches!(kind, "string" | "string-array") {
            continue;
        }
        let Some(name) = required_attr(file, r, "name", out) else { continue };
        names.push(name);
        let texts: Vec<String> = if kind == "string" {
            vec![r.text().unwrap_or("").to_string()]
        } else {
            children(r, "item").map(|i| i.text().unwrap_or("").to_string()).collect()
        };
        for t in &texts {
            if has_unescaped_apostrophe(t) {
                out.push(problem(
                    file,
                    format!("{name} にエスケープされていない ' があります(aapt2 が拒否します): {t}"),
                    format!("{name} has an unescaped ' (aapt2 rejects it): {t}"),
                ));
            }
        }
        map.insert(
            name.to_string(),
            Resource {
                array: kind == "string-array",
                translatable: r.attribute("translatable") != Some("false"),
                items: texts,
            },
        );
    }
    duplicates(file, ("リソース名", "resource name"), names, out);
    Some(map)
}

/// An apostrophe outside double quotes that is not escaped with `\` (aapt2 fails the build).
fn has_unescaped_apostrophe(s: &str) -> bool {
    let (mut escaped, mut quoted) = (false, false);
    for c in s.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '\'' if !quoted => return true,
            _ => {}
        }
    }
    false
}

/// Android string resource text as the app sees it (escapes removed).
fn android_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            out.push(match c {
                'n' => '\n',
                't' => '\t',
                other => other,
            });
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c != '"' {
            out.push(c);
        }
    }
    out
}

/// Checks `app_restrictions.xml` with the default (`values`) and Japanese (`values-ja`) string
/// resources, as Android and the EMM consoles (Google Play managed configurations) read them:
/// the root is `<restrictions>`, each `<restriction>` has an `android:key` (unique among its
/// siblings), an `android:title` and a valid `android:restrictionType`; `bundle_array` holds only
/// `bundle`s and only `bundle`/`bundle_array` hold restrictions; `choice` and `multi-select` have
/// `android:entries` and `android:entryValues` naming string arrays of the same length; every
/// `@string/` and `@array/` reference resolves in both languages (in `values-ja`, or in `values`
/// when marked `translatable="false"`, which Android falls back to and which must not be
/// translated); every translatable resource of `values` is in `values-ja`; defaults fit the type
/// (`true`/`false`, a 32-bit integer, one of the entry values, an array of entry values; none for
/// bundles); strings have no unescaped apostrophe.
pub fn android(restrictions: &str, values: &str, values_ja: &str) -> Vec<Problem> {
    let file = path::RESTRICTIONS;
    let mut out = Vec::new();
    let en = resources(path::STRINGS, values, &mut out);
    let ja = resources(path::STRINGS_JA, values_ja, &mut out);
    let doc = match well_formed(file, restrictions) {
        Ok(d) => d,
        Err(p) => {
            out.push(p);
            return out;
        }
    };
    let (Some(en), Some(ja)) = (en, ja) else { return out };
    for (name, r) in &en {
        if r.translatable && !ja.contains_key(name) {
            out.push(problem(
                path::STRINGS_JA,
                format!("{name} の日本語訳がありません"),
                format!("no Japanese translation of {name}"),
            ));
        }
    }
    for (name, r) in &ja {
        match en.get(name) {
            None => out.push(problem(
                path::STRINGS_JA,
                format!("{name} は既定の values にないため使われません"),
                format!("{name} is not in the default values, so it is never used"),
            )),
            Some(d) if !d.translatable => out.push(problem(
                path::STRINGS_JA,
                format!("{name} は translatable=\"false\" なので values-ja に置けません"),
                format!("{name} is translatable=\"false\", so it must not be in values-ja"),
            )),
            Some(d) if d.array && r.items.len() != d.items.len() => out.push(problem(
                path::STRINGS_JA,
                format!("配列 {name} の項目数 {} が既定の {} と違います", r.items.len(), d.items.len()),
                format!("array {name} has {} items, the default has {}", r.items.len(), d.items.len()),
            )),
            _ => {}
        }
    }
    // Resolve a reference in one language: Some(items) or a problem.
    let resolve = |reference: &str, want_array: bool, n: Node, out: &mut Vec<Problem>| -> Option<Vec<String>> {
        let (prefix, kind) = if want_array { ("@array/", "配列") } else { ("@string/", "文字列") };
        let Some(name) = reference.strip_prefix(prefix) else {
            out.push(problem(
                file,
                format!("{} の {reference} は {prefix}名前 の参照でなければなりません", at(n)),
                format!("{}: {reference} must be a {prefix}name reference", at(n)),
            ));
            return None;
        };
        let mut found = None;
        for (lang_file, table, lang) in [(path::STRINGS, &en, "values"), (path::STRINGS_JA, &ja, "values-ja")] {
            let hit = table.get(name).or_else(|| en.get(name).filter(|r| lang == "values-ja" && !r.translatable));
            match hit {
                Some(r) if r.array == want_array => {
                    if lang == "values" {
                        found = Some(r.items.clone());
                    }
                }
                _ => out.push(problem(
                    lang_file,
                    format!("{} が参照する{kind} {name} がありません", at(n)),
                    format!(
                        "no {} {name}, referenced by {}",
                        if want_array { "string-array" } else { "string" },
                        at(n)
                    ),
                )),
            }
        }
        found
    };
    let root = doc.root_element();
    if root.tag_name().name() != "restrictions" {
        out.push(problem(file, "ルート要素は <restrictions> です", "the root element must be <restrictions>"));
        return out;
    }
    check_restrictions(root, None, &resolve, &mut out);
    out
}

type Resolve<'r> = dyn Fn(&str, bool, Node, &mut Vec<Problem>) -> Option<Vec<String>> + 'r;

fn check_restrictions(parent: Node, parent_type: Option<&str>, resolve: &Resolve, out: &mut Vec<Problem>) {
    let file = path::RESTRICTIONS;
    let mut keys = Vec::new();
    for r in elements(parent) {
        if r.tag_name().name() != "restriction" {
            out.push(problem(
                file,
                format!("{} の中の <{}> は restriction ではありません", at(parent), r.tag_name().name()),
                format!("<{}> in {} is not a restriction", r.tag_name().name(), at(parent)),
            ));
            continue;
        }
        let attr = |a: &str| r.attribute((ANDROID_NS, a));
        let need = |a: &str, out: &mut Vec<Problem>| {
            let v = attr(a);
            if v.is_none_or(|v| v.is_empty()) {
                out.push(problem(
                    file,
                    format!("{} に android:{a} が必要です", at(r)),
                    format!("{} needs android:{a}", at(r)),
                ));
            }
            v
        };
        if let Some(k) = need("key", out) {
            keys.push(k);
        }
        let title = need("title", out);
        let ty = need("restrictionType", out);
        if let Some(t) = ty
            && !RESTRICTION_TYPES.contains(&t)
        {
            out.push(problem(
                file,
                format!("{} の restrictionType=\"{t}\" は不正です({} のいずれか)", at(r), RESTRICTION_TYPES.join(", ")),
                format!("{}: restrictionType=\"{t}\" is invalid (one of {})", at(r), RESTRICTION_TYPES.join(", ")),
            ));
        }
        if parent_type == Some("bundle_array") && ty != Some("bundle") {
            out.push(problem(
                file,
                format!("bundle_array {} の中には bundle しか置けません", at(parent)),
                format!("the bundle_array {} may only contain bundles", at(parent)),
            ));
        }
        // A literal title or description is accepted (it is just not translated).
        for v in [title, attr("description")].into_iter().flatten() {
            if v.starts_with('@') {
                let _ = resolve(v, false, r, out);
            }
        }
        let mut entry_values = None;
        if matches!(ty, Some("choice" | "multi-select")) {
            let entries = need("entries", out).and_then(|v| resolve(v, true, r, out));
            entry_values = need("entryValues", out).and_then(|v| resolve(v, true, r, out));
            if let (Some(e), Some(v)) = (&entries, &entry_values)
                && e.len() != v.len()
            {
                out.push(problem(
                    file,
                    format!("{} の entries ({} 項目) と entryValues ({} 項目) の数が違います", at(r), e.len(), v.len()),
                    format!("{}: entries has {} items but entryValues {}", at(r), e.len(), v.len()),
                ));
            }
        }
        if let (Some(t), Some(d)) = (ty, attr("defaultValue")) {
            let bad = |out: &mut Vec<Problem>, why_ja: &str, why_en: &str| {
                out.push(problem(
                    file,
                    format!("{} の defaultValue=\"{d}\" は {t} 型の既定値として不正です: {why_ja}", at(r)),
                    format!("{}: defaultValue=\"{d}\" is not a valid {t} default: {why_en}", at(r)),
                ))
            };
            let values: Vec<String> =
                entry_values.clone().unwrap_or_default().iter().map(|v| android_unescape(v)).collect();
            match t {
                "bool" if !matches!(d, "true" | "false") => bad(out, "true か false", "true or false"),
                "integer" if d.parse::<i32>().is_err() => bad(out, "32ビット整数", "a 32-bit integer"),
                "choice" => {
                    let v = if d.starts_with("@string/") {
                        resolve(d, false, r, out).and_then(|v| v.into_iter().next())
                    } else {
                        Some(d.to_string())
                    };
                    if let Some(v) = v
                        && entry_values.is_some()
                        && !values.contains(&android_unescape(&v))
                    {
                        bad(out, "entryValues にない値", "not one of the entryValues");
                    }
                }
                "multi-select" => {
                    if !d.starts_with("@array/") {
                        bad(out, "@array/ の参照が必要", "must be an @array/ reference");
                    } else if let Some(items) = resolve(d, true, r, out)
                        && entry_values.is_some()
                    {
                        for i in items.iter().filter(|i| !values.contains(&android_unescape(i))) {
                            bad(
                                out,
                                &format!("{i} は entryValues にない値"),
                                &format!("{i} is not one of the entryValues"),
                            );
                        }
                    }
                }
                "bundle" | "bundle_array" => bad(out, "bundle には既定値を付けられません", "bundles take no default"),
                "string" | "hidden" if d.starts_with("@string/") => {
                    let _ = resolve(d, false, r, out);
                }
                _ => {}
            }
        }
        let nested = elements(r).next().is_some();
        match ty {
            Some("bundle" | "bundle_array") => check_restrictions(r, ty, resolve, out),
            _ if nested => out.push(problem(
                file,
                format!("{} の中に restriction を置けるのは bundle と bundle_array だけです", at(r)),
                format!("{}: only a bundle or bundle_array may contain restrictions", at(r)),
            )),
            _ => {}
        }
        if ty == Some("bundle_array") && !nested {
            out.push(problem(
                file,
                format!("bundle_array {} には bundle が必要です", at(r)),
                format!("the bundle_array {} needs a bundle", at(r)),
            ));
        }
    }
    duplicates(file, ("キー", "key"), keys, out);
}

// ------------------------------------------------------------------------------ AppConfig

/// The key elements of an AppConfig `dict`.
pub const APPCONFIG_TYPES: &[&str] =
    &["string", "stringArray", "integer", "integerArray", "float", "floatArray", "date", "boolean"];

/// The `field@type` values of the AppConfig presentation.
pub const APPCONFIG_FIELD_TYPES: &[&str] =
    &["input", "select", "multiselect", "checkbox", "hidden", "datetime", "list"];

const USER_VARIABLES: &[&str] = &[
    "cn",
    "displayName",
    "dn",
    "emailAddress",
    "emailAddressDomain",
    "emailAddressLocalPart",
    "firstName",
    "lastName",
    "locale",
    "ou",
    "sAMAccountName",
    "username",
    "upn",
];
const DEVICE_VARIABLES: &[&str] =
    &["iccid", "imei", "imsi", "meid", "model", "phoneNumber", "serialNumber", "udid", "wifiMacAddress"];

/// `xs:language`: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`.
fn is_xs_language(s: &str) -> bool {
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or("");
    (1..=8).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn is_xs_float(s: &str) -> bool {
    matches!(s.trim(), "INF" | "-INF" | "NaN") || s.trim().parse::<f32>().is_ok()
}

/// A lenient `xs:dateTime`: `YYYY-MM-DDThh:mm:ss` with an optional fraction and zone.
fn is_xs_datetime(s: &str) -> bool {
    let b = s.trim().as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
}

/// Checks an AppConfig specfile against the rules of the AppConfig community XSD
/// (`appconfig.xsd`, as used by Jamf, Workspace ONE and the AppConfig generators): the root
/// `<managedAppConfiguration>` in no namespace with `version` (an integer 1–99999), `bundleId`
/// (dot-separated letters and digits), `dict` (at least one key) and an optional
/// `presentation`, in that order; each key element one of [`APPCONFIG_TYPES`] with a unique
/// `keyName` and at most a `defaultValue` then a `constraint`; constraint attributes and
/// `values` allowed for the type, typed (`xs:int`, `xs:boolean`, …); default values typed
/// and, where the constraint lists values or bounds, inside them; user and device variables
/// from the XSD's lists; the presentation's `defaultLocale` an `xs:language`, `field`s with a
/// `keyName` that names a key in `dict` and a `type` of [`APPCONFIG_FIELD_TYPES`], children
/// `label`, `description`, `options` in order, each made of `language` elements, and every
/// `option` with a `value`.
pub fn appconfig(text: &str) -> Vec<Problem> {
    let file = path::APPCONFIG;
    let mut out = Vec::new();
    let doc = match well_formed(file, text) {
        Ok(d) => d,
        Err(p) => return vec![p],
    };
    let root = doc.root_element();
    if root.tag_name().name() != "managedAppConfiguration" || root.tag_name().namespace().is_some() {
        out.push(problem(
            file,
            "ルート要素は名前空間なしの <managedAppConfiguration> です",
            "the root element must be <managedAppConfiguration> in no namespace",
        ));
        return out;
    }
    sequence(file, root, &[("version", 1, 1), ("bundleId", 1, 1), ("dict", 1, 1), ("presentation", 0, 1)], &mut out);
    for n in root.descendants().filter(|n| n.is_element()) {
        if n.tag_name().namespace().is_some() {
            out.push(problem(
                file,
                format!("{} は名前空間に入っていますが、スキーマの要素は名前空間なしです", at(n)),
                format!("{} is in a namespace; the schema's elements are in none", at(n)),
            ));
        }
    }
    if let Some(v) = child(root, "version") {
        let t = v.text().unwrap_or("").trim();
        if !t.parse::<i32>().is_ok_and(|n| (1..=99_999).contains(&n)) {
            out.push(problem(
                file,
                format!("version「{t}」は 1〜99999 の整数です"),
                format!("version \"{t}\" must be an integer from 1 to 99999"),
            ));
        }
    }
    if let Some(b) = child(root, "bundleId") {
        let t = b.text().unwrap_or("");
        let parts: Vec<&str> = t.split('.').collect();
        if parts.len() < 2 || parts.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric())) {
            out.push(problem(
                file,
                format!("bundleId「{t}」は英数字をドットで区切った形式です"),
                format!("bundleId \"{t}\" must be letters and digits separated by dots"),
            ));
        }
    }
    let mut keys: Vec<&str> = Vec::new();
    if let Some(dict) = child(root, "dict") {
        if elements(dict).next().is_none() {
            out.push(problem(file, "dict にはキーが1つ以上必要です", "dict needs at least one key"));
        }
        for k in elements(dict) {
            let ty = k.tag_name().name();
            if !APPCONFIG_TYPES.contains(&ty) {
                out.push(problem(
                    file,
                    format!("dict の <{ty}> は型ではありません({} のいずれか)", APPCONFIG_TYPES.join(", ")),
                    format!("<{ty}> in dict is not a type (one of {})", APPCONFIG_TYPES.join(", ")),
                ));
                continue;
            }
            only_attrs(file, k, &["keyName"], &mut out);
            if let Some(name) = required_attr(file, k, "keyName", &mut out) {
                keys.push(name);
            }
            sequence(file, k, &[("defaultValue", 0, 1), ("constraint", 0, 1)], &mut out);
            appconfig_key(k, ty, &mut out);
        }
        duplicates(file, ("keyName", "keyName"), keys.iter().copied(), &mut out);
    }
    if let Some(p) = child(root, "presentation") {
        only_attrs(file, p, &["defaultLocale"], &mut out);
        if let Some(l) = required_attr(file, p, "defaultLocale", &mut out)
            && !is_xs_language(l)
        {
            out.push(problem(
                file,
                format!("defaultLocale「{l}」は言語タグではありません"),
                format!("defaultLocale \"{l}\" is not a language tag"),
            ));
        }
        if elements(p).next().is_none() {
            out.push(problem(file, "presentation には field が必要です", "presentation needs a field"));
        }
        for c in elements(p) {
            match c.tag_name().name() {
                "field" => appconfig_field(c, &keys, &mut out),
                "fieldGroup" => {
                    sequence(file, c, &[("name", 1, 1), ("field", 1, usize::MAX)], &mut out);
                    if let Some(n) = child(c, "name") {
                        languages(n, &mut out);
                    }
                    for f in children(c, "field") {
                        appconfig_field(f, &keys, &mut out);
                    }
                }
                other => out.push(problem(
                    file,
                    format!("presentation の中の <{other}> は field でも fieldGroup でもありません"),
                    format!("<{other}> in presentation is neither a field nor a fieldGroup"),
                )),
            }
        }
    }
    out
}

fn appconfig_key(k: Node, ty: &str, out: &mut Vec<Problem>) {
    let file = path::APPCONFIG;
    let base = ty.trim_end_matches("Array");
    let array = ty.ends_with("Array");
    let typed = |v: &str| match base {
        "integer" => is_xs_int(v),
        "float" => is_xs_float(v),
        "boolean" => is_xs_boolean(v),
        "date" => is_xs_datetime(v),
        _ => true,
    };
    let type_ja = match base {
        "integer" => "32ビット整数",
        "float" => "浮動小数点数",
        "boolean" => "true/false/1/0",
        "date" => "日時 (ISO 8601)",
        _ => "文字列",
    };
    let mut allowed_values: Option<Vec<String>> = None;
    let mut bounds = (None, None);
    if let Some(c) = child(k, "constraint") {
        let attrs: &[&str] = match base {
            "string" => &["min", "max", "nullable", "pattern"],
            "boolean" => &["nullable"],
            _ => &["min", "max", "nullable"],
        };
        only_attrs(file, c, attrs, out);
        if let Some(n) = c.attribute("nullable")
            && !is_xs_boolean(n)
        {
            out.push(problem(
                file,
                format!("{} の nullable=\"{n}\" は true/false です", at(c)),
                format!("{}: nullable=\"{n}\" must be true or false", at(c)),
            ));
        }
        for a in ["min", "max"] {
            if let Some(v) = c.attribute(a) {
                // min/max count characters or elements (xs:int), except for a float (the value)
                // and a date (xs:dateTime).
                let ok = match ty {
                    "float" => is_xs_float(v),
                    "date" => is_xs_datetime(v),
                    _ => is_xs_int(v),
                };
                if !ok {
                    out.push(problem(
                        file,
                        format!("{} の {a}=\"{v}\" の型が不正です", at(c)),
                        format!("{}: {a}=\"{v}\" has the wrong type", at(c)),
                    ));
                }
            }
        }
        if ty == "integer" {
            bounds = (
                c.attribute("min").and_then(|v| v.trim().parse::<i64>().ok()),
                c.attribute("max").and_then(|v| v.trim().parse::<i64>().ok()),
            );
        }
        if matches!(base, "boolean" | "date") {
            sequence(file, c, &[], out);
        } else {
            sequence(file, c, &[("values", 0, 1)], out);
            if let Some(vs) = child(c, "values") {
                sequence(file, vs, &[("value", 1, usize::MAX)], out);
                let mut list = Vec::new();
                for v in children(vs, "value") {
                    let t = v.text().unwrap_or("");
                    if !typed(t) {
                        out.push(problem(
                            file,
                            format!("{} の値「{t}」は {type_ja} ではありません", at(k)),
                            format!("{}: the value \"{t}\" is not of type {base}", at(k)),
                        ));
                    }
                    list.push(t.to_string());
                }
                allowed_values = Some(list);
            }
        }
    }
    if let Some(d) = child(k, "defaultValue") {
        let kids: Vec<Node> = elements(d).collect();
        let variables = base == "string";
        for v in &kids {
            let name = v.tag_name().name();
            match name {
                "value" => {
                    let t = v.text().unwrap_or("");
                    if !typed(t) {
                        out.push(problem(
                            file,
                            format!("{} の既定値「{t}」は {type_ja} ではありません", at(k)),
                            format!("{}: the default \"{t}\" is not of type {base}", at(k)),
                        ));
                    }
                    if let Some(vals) = &allowed_values
                        && !vals.iter().any(|x| x == t)
                    {
                        out.push(problem(
                            file,
                            format!("{} の既定値「{t}」は constraint の values にありません", at(k)),
                            format!("{}: the default \"{t}\" is not one of the constraint's values", at(k)),
                        ));
                    }
                    if let Ok(n) = t.trim().parse::<i64>()
                        && (bounds.0.is_some_and(|lo| n < lo) || bounds.1.is_some_and(|hi| n > hi))
                    {
                        out.push(problem(
                            file,
                            format!("{} の既定値 {n} が min/max の範囲外です", at(k)),
                            format!("{}: the default {n} is outside min/max", at(k)),
                        ));
                    }
                }
                "userVariable" | "deviceVariable" if variables => {
                    let list = if name == "userVariable" { USER_VARIABLES } else { DEVICE_VARIABLES };
                    match v.attribute("value") {
                        Some(x) if list.contains(&x) => {}
                        x => out.push(problem(
                            file,
                            format!(
                                "{} の {name} value=\"{}\" は不正です({} のいずれか)",
                                at(k),
                                x.unwrap_or(""),
                                list.join(", ")
                            ),
                            format!(
                                "{}: {name} value=\"{}\" is invalid (one of {})",
                                at(k),
                                x.unwrap_or(""),
                                list.join(", ")
                            ),
                        )),
                    }
                }
                other => out.push(problem(
                    file,
                    format!("{} の defaultValue に <{other}> は置けません", at(k)),
                    format!("{}: <{other}> is not allowed in defaultValue", at(k)),
                )),
            }
        }
        if !array && kids.len() > 1 {
            out.push(problem(
                file,
                format!("{} の defaultValue には値を1つだけ書きます", at(k)),
                format!("{}: defaultValue takes a single value", at(k)),
            ));
        }
        if array && kids.is_empty() {
            out.push(problem(
                file,
                format!("{} の defaultValue には値が1つ以上必要です", at(k)),
                format!("{}: defaultValue needs at least one value", at(k)),
            ));
        }
    }
}

/// `label`, `description`, `option`, `name`: only `<language>` elements, at least one, each an
/// optional `value` (a language tag) and text.
fn languages(n: Node, out: &mut Vec<Problem>) {
    let file = path::APPCONFIG;
    sequence(file, n, &[("language", 1, usize::MAX)], out);
    for l in children(n, "language") {
        only_attrs(file, l, &["value"], out);
        if let Some(v) = l.attribute("value")
            && !is_xs_language(v)
        {
            out.push(problem(
                file,
                format!("{} の value=\"{v}\" は言語タグではありません", at(l)),
                format!("{}: value=\"{v}\" is not a language tag", at(l)),
            ));
        }
        if elements(l).next().is_some() {
            out.push(problem(
                file,
                format!("{} には文字だけを書きます(要素は置けません)", at(l)),
                format!("{} takes text only, no elements", at(l)),
            ));
        }
    }
}

fn appconfig_field(f: Node, keys: &[&str], out: &mut Vec<Problem>) {
    let file = path::APPCONFIG;
    only_attrs(file, f, &["keyName", "type"], out);
    if let Some(k) = required_attr(file, f, "keyName", out)
        && !keys.contains(&k)
    {
        out.push(problem(
            file,
            format!("field の keyName「{k}」は dict にありません"),
            format!("the field keyName \"{k}\" is not a key in dict"),
        ));
    }
    if let Some(t) = required_attr(file, f, "type", out)
        && !APPCONFIG_FIELD_TYPES.contains(&t)
    {
        out.push(problem(
            file,
            format!("{} の type=\"{t}\" は不正です({} のいずれか)", at(f), APPCONFIG_FIELD_TYPES.join(", ")),
            format!("{}: type=\"{t}\" is invalid (one of {})", at(f), APPCONFIG_FIELD_TYPES.join(", ")),
        ));
    }
    sequence(file, f, &[("label", 0, 1), ("description", 0, 1), ("options", 0, 1)], out);
    for c in ["label", "description"] {
        if let Some(n) = child(f, c) {
            languages(n, out);
        }
    }
    if let Some(opts) = child(f, "options") {
        sequence(file, opts, &[("option", 1, usize::MAX)], out);
        for o in children(opts, "option") {
            only_attrs(file, o, &["value", "selected"], out);
            required_attr(file, o, "value", out);
            if let Some(s) = o.attribute("selected")
                && !is_xs_boolean(s)
            {
                out.push(problem(
                    file,
                    format!("{} の selected=\"{s}\" は true/false です", at(o)),
                    format!("{}: selected=\"{s}\" must be true or false", at(o)),
                ));
            }
            languages(o, out);
        }
    } else if matches!(f.attribute("type"), Some("select" | "multiselect")) {
        out.push(problem(
            file,
            format!("{} は選択式なので options が必要です", at(f)),
            format!("{} is a select, so it needs options", at(f)),
        ));
    }
}

// ------------------------------------------------------------------------------ Apple profile

/// Checks a configuration profile (`.mobileconfig`) as macOS and the MDM consoles read it: a
/// property list whose root dictionary has `PayloadType` = `Configuration`, `PayloadIdentifier`,
/// `PayloadUUID`, `PayloadVersion` = 1, `PayloadDisplayName`, an optional `PayloadScope` of
/// `User`/`System`, and a `PayloadContent` array of dictionaries that each have `PayloadType`,
/// `PayloadIdentifier`, `PayloadUUID` and `PayloadVersion`; every `PayloadUUID` is a hyphenated
/// UUID and unique in the profile, and so is every `PayloadIdentifier`.
pub fn mobileconfig(bytes: &[u8]) -> Vec<Problem> {
    let file = path::MOBILECONFIG;
    let mut out = Vec::new();
    let root = match plist::Value::from_reader(std::io::Cursor::new(bytes)) {
        Ok(v) => v,
        Err(e) => {
            return vec![problem(
                file,
                format!("プロパティリストとして読めません: {e}"),
                format!("not a property list: {e}"),
            )];
        }
    };
    let Some(root) = root.as_dictionary() else {
        return vec![problem(file, "ルートが辞書ではありません", "the root is not a dictionary")];
    };
    let mut uuids = Vec::new();
    let mut identifiers = Vec::new();
    let mut payload = |d: &plist::Dictionary, place: &str, out: &mut Vec<Problem>| {
        let text = |k: &str, out: &mut Vec<Problem>| match d.get(k) {
            Some(plist::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(_) => {
                out.push(problem(
                    file,
                    format!("{place} の {k} は空でない文字列です"),
                    format!("{place}: {k} must be a non-empty string"),
                ));
                None
            }
            None => {
                out.push(problem(file, format!("{place} に {k} がありません"), format!("{place} lacks {k}")));
                None
            }
        };
        let ty = text("PayloadType", out);
        if let Some(i) = text("PayloadIdentifier", out) {
            identifiers.push(i);
        }
        if let Some(u) = text("PayloadUUID", out) {
            // Apple writes the 8-4-4-4-12 hyphenated form; other spellings are not accepted.
            if u.len() != 36 || uuid::Uuid::try_parse(&u).is_err() {
                out.push(problem(
                    file,
                    format!("{place} の PayloadUUID「{u}」は UUID の形式ではありません"),
                    format!("{place}: PayloadUUID \"{u}\" is not a UUID"),
                ));
            }
            uuids.push(u.to_uppercase());
        }
        match d.get("PayloadVersion") {
            Some(plist::Value::Integer(i)) if i.as_signed() == Some(1) => {}
            Some(v) => out.push(problem(
                file,
                format!("{place} の PayloadVersion は整数 1 です({v:?})"),
                format!("{place}: PayloadVersion must be the integer 1 ({v:?})"),
            )),
            None => out.push(problem(
                file,
                format!("{place} に PayloadVersion がありません"),
                format!("{place} lacks PayloadVersion"),
            )),
        }
        ty
    };
    let ty = payload(root, "プロファイル / profile", &mut out);
    if ty.as_deref().is_some_and(|t| t != "Configuration") {
        out.push(problem(
            file,
            "プロファイルの PayloadType は Configuration です",
            "the profile's PayloadType must be Configuration",
        ));
    }
    if !matches!(root.get("PayloadDisplayName"), Some(plist::Value::String(s)) if !s.is_empty()) {
        out.push(problem(
            file,
            "プロファイルに PayloadDisplayName がありません",
            "the profile lacks PayloadDisplayName",
        ));
    }
    if let Some(s) = root.get("PayloadScope")
        && !matches!(s.as_string(), Some("User" | "System"))
    {
        out.push(problem(file, "PayloadScope は User か System です", "PayloadScope must be User or System"));
    }
    match root.get("PayloadContent").map(|c| c.as_array()) {
        Some(Some(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                match item.as_dictionary() {
                    Some(d) => {
                        payload(d, &format!("PayloadContent[{i}]"), &mut out);
                    }
                    None => out.push(problem(
                        file,
                        format!("PayloadContent[{i}] は辞書ではありません"),
                        format!("PayloadContent[{i}] is not a dictionary"),
                    )),
                }
            }
        }
        _ => out.push(problem(
            file,
            "PayloadContent にペイロードの配列が必要です",
            "PayloadContent must be an array of payloads",
        )),
    }
    duplicates(file, ("PayloadUUID", "PayloadUUID"), uuids.iter().map(String::as_str), &mut out);
    duplicates(file, ("PayloadIdentifier", "PayloadIdentifier"), identifiers.iter().map(String::as_str), &mut out);
    out
}

// ------------------------------------------------------------------------------ Linux

/// Checks a Linux policy example as the app reads it: a JSON object, every key a setting of the
/// schema, every value accepted by the schema's check ([`super::schema::coerce`]).
pub fn linux_json(file: &str, text: &str) -> Vec<Problem> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| match super::schema::setting(k) {
                None => Some(problem(
                    file,
                    format!("{k} は設定スキーマにないキーです"),
                    format!("{k} is not a setting of the schema"),
                )),
                Some(def) => super::schema::coerce(def, v)
                    .err()
                    .map(|e| problem(file, format!("{k}: {}", e.message_ja()), format!("{k}: {}", e.message_en()))),
            })
            .collect(),
        Ok(_) => vec![problem(file, "JSON のオブジェクトではありません", "not a JSON object")],
        Err(e) => vec![problem(file, format!("JSON として読めません: {e}"), format!("not valid JSON: {e}"))],
    }
}
