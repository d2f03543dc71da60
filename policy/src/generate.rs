//! Generates the MDM artifacts in `mdm/` from [`super::schema::SETTINGS`]. The test
//! `policy/tests/policy_generated.rs` regenerates them and fails on any difference from the
//! committed files; to update them after changing the schema run
//! `HOUMON_REGENERATE_MDM=1 cargo test -p houmon-policy --test policy_generated`.

use super::schema::{APP_ID, ChoiceOption, SETTINGS, SettingDef, SettingKind, StaticValue, TextFormat};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::path::Path;

/// One generated file, relative to the `mdm/` folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub path: &'static str,
    pub contents: String,
}

/// The header of every generated file. It goes into XML comments, where `--` is forbidden, so
/// it names the command without its flags (mdm/README.md has the full command line).
const BANNER: &str = "Generated from policy/src/schema.rs by houmon-mdm (crate houmon-policy). Do not edit: change the schema and regenerate, see mdm/README.md";

/// Every artifact, in a stable order.
pub fn artifacts() -> Vec<Artifact> {
    vec![
        Artifact { path: "schema/houmon-policy.schema.json", contents: json_schema() },
        Artifact { path: "android/res/xml/app_restrictions.xml", contents: android_restrictions() },
        Artifact { path: "android/res/values/mdm_strings.xml", contents: android_strings(Lang::En, true) },
        Artifact { path: "android/res/values-ja/mdm_strings.xml", contents: android_strings(Lang::Ja, false) },
        Artifact { path: "appconfig/specfile.xml", contents: appconfig_specfile() },
        Artifact { path: "windows/houmon.admx", contents: admx() },
        Artifact { path: "windows/en-US/houmon.adml", contents: adml(Lang::En) },
        Artifact { path: "windows/ja-JP/houmon.adml", contents: adml(Lang::Ja) },
        Artifact { path: "macos/jp.houmon.app.example.mobileconfig", contents: mobileconfig() },
        Artifact { path: "linux/managed/houmon.example.json", contents: linux_example(true) },
        Artifact { path: "linux/recommended/houmon.example.json", contents: linux_example(false) },
        Artifact { path: "settings.ja.md", contents: reference_page(Lang::Ja) },
        Artifact { path: "settings.en.md", contents: reference_page(Lang::En) },
    ]
}

/// Why the artifacts were not written.
#[derive(Debug)]
pub enum WriteError {
    /// They fail the consumers' checks ([`super::validate`]); nothing was written.
    Invalid(Vec<super::validate::Problem>),
    Io(std::io::Error),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Invalid(problems) => {
                writeln!(
                    f,
                    "MDM ファイルが検証に通らないため書き込みません / the MDM files fail validation, nothing written:"
                )?;
                for p in problems {
                    writeln!(f, "  {p}")?;
                }
                Ok(())
            }
            WriteError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for WriteError {}

/// Write every artifact under `mdm_dir`, after checking them all ([`write_checked`]).
pub fn write_all(mdm_dir: &Path) -> Result<(), WriteError> {
    write_checked(mdm_dir, &artifacts())
}

/// Write `files` under `mdm_dir` only if they pass every consumer check
/// ([`super::validate::artifacts`]); if one fails, nothing is written.
pub fn write_checked(mdm_dir: &Path, files: &[Artifact]) -> Result<(), WriteError> {
    let problems = super::validate::artifacts(files);
    if !problems.is_empty() {
        return Err(WriteError::Invalid(problems));
    }
    for a in files {
        let p = mdm_dir.join(a.path);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(WriteError::Io)?;
        }
        std::fs::write(p, &a.contents).map_err(WriteError::Io)?;
    }
    Ok(())
}

/// Paths under `mdm_dir` that are missing or differ from what the schema generates.
pub fn drift(mdm_dir: &Path) -> Vec<&'static str> {
    artifacts()
        .into_iter()
        .filter(|a| std::fs::read_to_string(mdm_dir.join(a.path)).ok().as_deref() != Some(a.contents.as_str()))
        .map(|a| a.path)
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Ja,
    En,
}

impl Lang {
    fn pick(self, t: super::schema::Text) -> &'static str {
        match self {
            Lang::Ja => t.ja,
            Lang::En => t.en,
        }
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Android string resources also treat `'`, `"`, `\` and a leading `@`/`?` specially.
fn android_text(s: &str) -> String {
    let e = xml(&s.replace('\\', "\\\\").replace('\'', "\\'")).replace("&quot;", "\\&quot;");
    if e.starts_with('@') || e.starts_with('?') { format!("\\{e}") } else { e }
}

fn options(def: &SettingDef) -> &'static [ChoiceOption] {
    match def.kind {
        SettingKind::Choice { options } | SettingKind::MultiChoice { options } => options,
        _ => &[],
    }
}

fn text_pattern(f: TextFormat) -> Option<&'static str> {
    match f {
        TextFormat::InstitutionCode => Some("^[0-9]{10}$"),
        TextFormat::EnrollmentCode => Some("^[A-Za-z0-9-]{8,64}$"),
        TextFormat::CertificatePin => Some("^sha256/[A-Za-z0-9+/]{43}=$"),
        TextFormat::PublicKey => Some("^[A-Za-z0-9+/]+={0,2}$"),
        TextFormat::RelayUrl => None,
    }
}

fn levels(def: &SettingDef, lang: Lang) -> String {
    let mut v = vec![match lang {
        Lang::Ja => "管理(固定)",
        Lang::En => "managed",
    }];
    if def.recommendable {
        v.push(match lang {
            Lang::Ja => "推奨",
            Lang::En => "recommended",
        });
    }
    if def.user_settable {
        v.push(match lang {
            Lang::Ja => "端末で変更可",
            Lang::En => "user",
        });
    }
    v.join(", ")
}

// ------------------------------------------------------------------------------ JSON Schema

fn json_schema() -> String {
    let mut props = Map::new();
    for def in SETTINGS {
        let mut p = Map::new();
        p.insert("title".into(), json!(def.title.en));
        p.insert("description".into(), json!(def.description.en));
        p.insert("x-title-ja".into(), json!(def.title.ja));
        p.insert("x-description-ja".into(), json!(def.description.ja));
        match def.kind {
            SettingKind::Bool => {
                p.insert("type".into(), json!("boolean"));
            }
            SettingKind::Integer { min, max } => {
                p.insert("type".into(), json!("integer"));
                p.insert("minimum".into(), json!(min));
                p.insert("maximum".into(), json!(max));
            }
            SettingKind::Text { format } => {
                p.insert("type".into(), json!("string"));
                if let Some(pat) = text_pattern(format) {
                    p.insert("pattern".into(), json!(pat));
                } else {
                    p.insert("format".into(), json!("uri"));
                }
            }
            SettingKind::Choice { options } => {
                p.insert("type".into(), json!("string"));
                p.insert("enum".into(), json!(options.iter().map(|o| o.value).collect::<Vec<_>>()));
            }
            SettingKind::MultiChoice { options } => {
                p.insert("type".into(), json!("array"));
                p.insert("minItems".into(), json!(1));
                p.insert("uniqueItems".into(), json!(true));
                p.insert(
                    "items".into(),
                    json!({"type": "string", "enum": options.iter().map(|o| o.value).collect::<Vec<_>>()}),
                );
            }
            SettingKind::TextList { format } => {
                p.insert("type".into(), json!("array"));
                let mut item = Map::new();
                item.insert("type".into(), json!("string"));
                if let Some(pat) = text_pattern(format) {
                    item.insert("pattern".into(), json!(pat));
                }
                p.insert("items".into(), Value::Object(item));
            }
        }
        if def.default != StaticValue::Unset {
            p.insert("default".into(), def.default.to_json());
        }
        p.insert("examples".into(), json!([def.example.to_json()]));
        p.insert("x-recommendable".into(), json!(def.recommendable));
        p.insert("x-user-settable".into(), json!(def.user_settable));
        props.insert(def.key.into(), Value::Object(p));
    }
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://houmon.example/schemas/houmon-policy.schema.json",
        "$comment": BANNER,
        "title": "Houmon managed configuration",
        "description": "One policy file under /etc/houmon/policies/{managed,recommended}/*.json, or the same keys in any MDM channel.",
        "type": "object",
        "additionalProperties": false,
        "properties": Value::Object(props),
    });
    serde_json::to_string_pretty(&sorted(schema)).unwrap_or_default() + "\n"
}

/// Keys in sorted order at every level, whether or not some crate in the build turns on
/// serde_json's `preserve_order` (feature unification would otherwise change the output).
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

// ------------------------------------------------------------------------------ Android

fn android_restrictions() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- {} -->", xml(BANNER));
    s.push_str("<restrictions xmlns:android=\"http://schemas.android.com/apk/res/android\">\n");
    for def in SETTINGS {
        let k = def.key;
        let ty = match def.kind {
            SettingKind::Bool => "bool",
            SettingKind::Integer { .. } => "integer",
            SettingKind::Choice { .. } => "choice",
            SettingKind::MultiChoice { .. } => "multi-select",
            // Android has no free-text list: comma-separated text (the reader accepts both).
            SettingKind::Text { .. } | SettingKind::TextList { .. } => "string",
        };
        // A default only where the setting has one (the multi-select's array is generated
        // with the strings under the same condition).
        let default = match (def.kind, def.default) {
            (SettingKind::Bool, StaticValue::Bool(b)) => Some(b.to_string()),
            (SettingKind::Integer { .. }, StaticValue::Integer(i)) => Some(i.to_string()),
            (SettingKind::Choice { .. } | SettingKind::Text { .. }, StaticValue::Text(t)) => Some(t.to_string()),
            (SettingKind::MultiChoice { .. }, StaticValue::List(_)) => Some(format!("@array/mdm_{k}_default")),
            _ => None,
        };
        let _ = write!(
            s,
            "    <restriction\n        android:key=\"{k}\"\n        android:title=\"@string/mdm_{k}_title\"\n        android:description=\"@string/mdm_{k}_description\"\n        android:restrictionType=\"{ty}\""
        );
        if !options(def).is_empty() {
            let _ = write!(
                s,
                "\n        android:entries=\"@array/mdm_{k}_entries\"\n        android:entryValues=\"@array/mdm_{k}_values\""
            );
        }
        if let Some(d) = default {
            let _ = write!(s, "\n        android:defaultValue=\"{}\"", xml(&d));
        }
        s.push_str(" />\n");
    }
    s.push_str("</restrictions>\n");
    s
}

fn android_strings(lang: Lang, with_values: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- {} -->\n<resources>", xml(BANNER));
    for def in SETTINGS {
        let k = def.key;
        let _ = writeln!(s, "    <string name=\"mdm_{k}_title\">{}</string>", android_text(lang.pick(def.title)));
        let _ = writeln!(
            s,
            "    <string name=\"mdm_{k}_description\">{}</string>",
            android_text(lang.pick(def.description))
        );
        let opts = options(def);
        if !opts.is_empty() {
            let _ = writeln!(s, "    <string-array name=\"mdm_{k}_entries\">");
            for o in opts {
                let _ = writeln!(s, "        <item>{}</item>", android_text(lang.pick(o.label)));
            }
            s.push_str("    </string-array>\n");
            if with_values {
                let _ = writeln!(s, "    <string-array name=\"mdm_{k}_values\" translatable=\"false\">");
                for o in opts {
                    let _ = writeln!(s, "        <item>{}</item>", o.value);
                }
                s.push_str("    </string-array>\n");
            }
        }
        if with_values && let (SettingKind::MultiChoice { .. }, StaticValue::List(d)) = (def.kind, def.default) {
            let _ = writeln!(s, "    <string-array name=\"mdm_{k}_default\" translatable=\"false\">");
            for v in d {
                let _ = writeln!(s, "        <item>{v}</item>");
            }
            s.push_str("    </string-array>\n");
        }
    }
    s.push_str("</resources>\n");
    s
}

// ------------------------------------------------------------------------------ AppConfig

fn lang_block(tag: &str, t: super::schema::Text, indent: &str) -> String {
    format!(
        "{indent}<{tag}>\n{indent}    <language value=\"en-US\">{}</language>\n{indent}    <language value=\"ja-JP\">{}</language>\n{indent}</{tag}>\n",
        xml(t.en),
        xml(t.ja)
    )
}

fn appconfig_specfile() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- {} -->", xml(BANNER));
    s.push_str("<managedAppConfiguration xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"/schema/appconfig/1.0.0/appconfig.xsd\">\n");
    let _ = writeln!(s, "    <version>1</version>\n    <bundleId>{APP_ID}</bundleId>\n    <dict>");
    for def in SETTINGS {
        let k = def.key;
        let (tag, default, constraint) = match def.kind {
            SettingKind::Bool => ("boolean", def.default.to_json().to_string(), String::new()),
            SettingKind::Integer { min, max } => {
                ("integer", def.default.to_json().to_string(), format!(" min=\"{min}\" max=\"{max}\""))
            }
            SettingKind::Text { format } => (
                "string",
                def.default.to_json().as_str().unwrap_or("").to_string(),
                text_pattern(format).map(|p| format!(" pattern=\"{}\"", xml(p))).unwrap_or_default(),
            ),
            SettingKind::Choice { .. } => {
                ("string", def.default.to_json().as_str().unwrap_or("").to_string(), String::new())
            }
            // For a stringArray, min is the least number of elements (at least one is chosen).
            SettingKind::MultiChoice { .. } => ("stringArray", String::new(), " min=\"1\"".to_string()),
            SettingKind::TextList { .. } => ("stringArray", String::new(), String::new()),
        };
        let _ = writeln!(s, "        <{tag} keyName=\"{k}\">");
        match def.default {
            StaticValue::List(items) if !items.is_empty() => {
                s.push_str("            <defaultValue>\n");
                for v in items {
                    let _ = writeln!(s, "                <value>{}</value>", xml(v));
                }
                s.push_str("            </defaultValue>\n");
            }
            StaticValue::Bool(_) | StaticValue::Integer(_) | StaticValue::Text(_) => {
                let _ = writeln!(
                    s,
                    "            <defaultValue>\n                <value>{}</value>\n            </defaultValue>",
                    xml(&default)
                );
            }
            _ => {}
        }
        // The AppConfig XSD orders a key's children: defaultValue, then constraint.
        let nullable = matches!(def.default, StaticValue::Unset);
        let opts = options(def);
        if opts.is_empty() {
            let _ = writeln!(s, "            <constraint nullable=\"{nullable}\"{constraint}/>");
        } else {
            let _ =
                writeln!(s, "            <constraint nullable=\"{nullable}\"{constraint}>\n                <values>");
            for o in opts {
                let _ = writeln!(s, "                    <value>{}</value>", xml(o.value));
            }
            s.push_str("                </values>\n            </constraint>\n");
        }
        let _ = writeln!(s, "        </{tag}>");
    }
    s.push_str("    </dict>\n    <presentation defaultLocale=\"en-US\">\n");
    for def in SETTINGS {
        let ty = match def.kind {
            SettingKind::Bool => "checkbox",
            SettingKind::Integer { .. } | SettingKind::Text { .. } => "input",
            SettingKind::Choice { .. } => "select",
            SettingKind::MultiChoice { .. } => "multiselect",
            SettingKind::TextList { .. } => "list",
        };
        let _ = writeln!(s, "        <field keyName=\"{}\" type=\"{ty}\">", def.key);
        s.push_str(&lang_block("label", def.title, "            "));
        s.push_str(&lang_block("description", def.description, "            "));
        let opts = options(def);
        if !opts.is_empty() {
            s.push_str("            <options>\n");
            // An option is its localized labels, with the value as an attribute.
            for o in opts {
                let _ = writeln!(
                    s,
                    "                <option value=\"{}\">\n                    <language value=\"en-US\">{}</language>\n                    <language value=\"ja-JP\">{}</language>\n                </option>",
                    xml(o.value),
                    xml(o.label.en),
                    xml(o.label.ja)
                );
            }
            s.push_str("            </options>\n");
        }
        s.push_str("        </field>\n");
    }
    s.push_str("    </presentation>\n</managedAppConfiguration>\n");
    s
}

// ------------------------------------------------------------------------------ Windows

const ADMX_KEY: &str = r"SOFTWARE\Policies\Houmon";

fn admx_policy(s: &mut String, def: &SettingDef, recommended: bool) {
    let k = def.key;
    let (name, key, cat) = if recommended {
        (format!("{k}_recommended"), format!(r"{ADMX_KEY}\Recommended"), "HoumonRecommended")
    } else {
        (k.to_string(), ADMX_KEY.to_string(), "Houmon")
    };
    let presentation = if matches!(def.kind, SettingKind::Bool) {
        String::new()
    } else {
        format!(" presentation=\"$(presentation.{k})\"")
    };
    let value_name = if matches!(def.kind, SettingKind::Bool) { format!(" valueName=\"{k}\"") } else { String::new() };
    let _ = writeln!(
        s,
        "    <policy name=\"{name}\" class=\"Machine\" displayName=\"$(string.{k})\" explainText=\"$(string.{k}_Explain)\"{presentation} key=\"{key}\"{value_name}>\n      <parentCategory ref=\"{cat}\" />\n      <supportedOn ref=\"SUPPORTED_HOUMON_1\" />"
    );
    match def.kind {
        SettingKind::Bool => {
            s.push_str("      <enabledValue><decimal value=\"1\" /></enabledValue>\n      <disabledValue><decimal value=\"0\" /></disabledValue>\n");
        }
        SettingKind::Integer { min, max } => {
            let _ = writeln!(
                s,
                "      <elements>\n        <decimal id=\"{k}\" valueName=\"{k}\" minValue=\"{min}\" maxValue=\"{max}\" />\n      </elements>"
            );
        }
        SettingKind::Text { .. } => {
            let _ = writeln!(
                s,
                "      <elements>\n        <text id=\"{k}\" valueName=\"{k}\" maxLength=\"512\" />\n      </elements>"
            );
        }
        SettingKind::Choice { options } => {
            let _ = writeln!(s, "      <elements>\n        <enum id=\"{k}\" valueName=\"{k}\">");
            for o in options {
                let _ = writeln!(
                    s,
                    "          <item displayName=\"$(string.{k}_{})\"><value><string>{}</string></value></item>",
                    o.value, o.value
                );
            }
            s.push_str("        </enum>\n      </elements>\n");
        }
        SettingKind::MultiChoice { .. } | SettingKind::TextList { .. } => {
            let _ = writeln!(
                s,
                "      <elements>\n        <list id=\"{k}\" key=\"{key}\\{k}\" valuePrefix=\"\" />\n      </elements>"
            );
        }
    }
    s.push_str("    </policy>\n");
}

fn admx() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- {} -->", xml(BANNER));
    s.push_str(concat!(
        "<policyDefinitions xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" revision=\"1.0\" schemaVersion=\"1.0\" xmlns=\"http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions\">\n",
        "  <policyNamespaces>\n    <target prefix=\"houmon\" namespace=\"Houmon.Policies.Houmon\" />\n  </policyNamespaces>\n",
        "  <resources minRequiredRevision=\"1.0\" />\n",
        "  <supportedOn>\n    <definitions>\n      <definition name=\"SUPPORTED_HOUMON_1\" displayName=\"$(string.SUPPORTED_HOUMON_1)\" />\n    </definitions>\n  </supportedOn>\n",
        "  <categories>\n    <category name=\"Houmon\" displayName=\"$(string.Houmon)\" />\n    <category name=\"HoumonRecommended\" displayName=\"$(string.HoumonRecommended)\" />\n  </categories>\n",
        "  <policies>\n",
    ));
    for def in SETTINGS {
        admx_policy(&mut s, def, false);
    }
    for def in SETTINGS.iter().filter(|d| d.recommendable) {
        admx_policy(&mut s, def, true);
    }
    s.push_str("  </policies>\n</policyDefinitions>\n");
    s
}

fn adml(lang: Lang) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- {} -->", xml(BANNER));
    s.push_str("<policyDefinitionResources xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" revision=\"1.0\" schemaVersion=\"1.0\" xmlns=\"http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions\">\n");
    let (display, desc, cat, rec, sup) = match lang {
        Lang::Ja => (
            "Houmon 訪問診療アプリ",
            "Houmon の管理設定",
            "Houmon",
            "Houmon - 推奨設定(ユーザーが変更可能)",
            "Houmon 0.1 以降",
        ),
        Lang::En => (
            "Houmon home-visit app",
            "Houmon managed settings",
            "Houmon",
            "Houmon - Recommended (user may change)",
            "Houmon 0.1 or later",
        ),
    };
    let _ = writeln!(
        s,
        "  <displayName>{}</displayName>\n  <description>{}</description>\n  <resources>\n    <stringTable>",
        xml(display),
        xml(desc)
    );
    let _ = writeln!(
        s,
        "      <string id=\"Houmon\">{}</string>\n      <string id=\"HoumonRecommended\">{}</string>\n      <string id=\"SUPPORTED_HOUMON_1\">{}</string>",
        xml(cat),
        xml(rec),
        xml(sup)
    );
    for def in SETTINGS {
        let k = def.key;
        let _ = writeln!(s, "      <string id=\"{k}\">{}</string>", xml(lang.pick(def.title)));
        let _ = writeln!(s, "      <string id=\"{k}_Explain\">{}</string>", xml(lang.pick(def.description)));
        if let SettingKind::Choice { options } = def.kind {
            for o in options {
                let _ = writeln!(s, "      <string id=\"{k}_{}\">{}</string>", o.value, xml(lang.pick(o.label)));
            }
        }
    }
    s.push_str("    </stringTable>\n    <presentationTable>\n");
    for def in SETTINGS {
        let k = def.key;
        let label = xml(lang.pick(def.title));
        match def.kind {
            SettingKind::Bool => {}
            SettingKind::Integer { .. } => {
                let d = match def.default {
                    StaticValue::Integer(i) => format!(" defaultValue=\"{i}\""),
                    _ => String::new(),
                };
                let _ = writeln!(
                    s,
                    "      <presentation id=\"{k}\">\n        <decimalTextBox refId=\"{k}\"{d}>{label}</decimalTextBox>\n      </presentation>"
                );
            }
            SettingKind::Text { .. } => {
                let _ = writeln!(
                    s,
                    "      <presentation id=\"{k}\">\n        <textBox refId=\"{k}\">\n          <label>{label}</label>\n        </textBox>\n      </presentation>"
                );
            }
            SettingKind::Choice { options } => {
                let idx = options.iter().position(|o| def.default == StaticValue::Text(o.value)).unwrap_or(0);
                let _ = writeln!(
                    s,
                    "      <presentation id=\"{k}\">\n        <dropdownList refId=\"{k}\" noSort=\"true\" defaultItem=\"{idx}\">{label}</dropdownList>\n      </presentation>"
                );
            }
            SettingKind::MultiChoice { .. } | SettingKind::TextList { .. } => {
                let _ = writeln!(
                    s,
                    "      <presentation id=\"{k}\">\n        <listBox refId=\"{k}\">{label}</listBox>\n      </presentation>"
                );
            }
        }
    }
    s.push_str("    </presentationTable>\n  </resources>\n</policyDefinitionResources>\n");
    s
}

// ------------------------------------------------------------------------------ macOS, Linux

fn example_values(recommended: bool) -> Map<String, Value> {
    let mut v: Vec<(String, Value)> = SETTINGS
        .iter()
        .filter(|d| !recommended || d.recommendable)
        .filter(|d| d.example != StaticValue::Unset)
        .map(|d| (d.key.to_string(), d.example.to_json()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.into_iter().collect()
}

fn mobileconfig() -> String {
    use plist::{Dictionary, Value as P};
    let mut payload = Dictionary::new();
    payload.insert("PayloadType".into(), P::from(APP_ID));
    payload.insert("PayloadIdentifier".into(), P::from(format!("{APP_ID}.policy")));
    // Fixed UUIDs keep the example stable; generate new ones for a real profile.
    payload.insert("PayloadUUID".into(), P::from("6B0F5E2A-3C1D-4E8B-9A7F-0D2C4B6E8A10"));
    payload.insert("PayloadVersion".into(), P::from(1));
    payload.insert("PayloadDisplayName".into(), P::from("Houmon"));
    for (k, v) in example_values(false) {
        if let Ok(p) = plist::to_value(&v) {
            payload.insert(k, p);
        }
    }
    let mut root = Dictionary::new();
    root.insert("PayloadContent".into(), P::Array(vec![P::Dictionary(payload)]));
    root.insert("PayloadDisplayName".into(), P::from("Houmon managed settings (example)"));
    root.insert("PayloadDescription".into(), P::from(BANNER));
    root.insert("PayloadIdentifier".into(), P::from(format!("{APP_ID}.profile")));
    root.insert("PayloadOrganization".into(), P::from("Example Clinic"));
    root.insert("PayloadScope".into(), P::from("System"));
    root.insert("PayloadType".into(), P::from("Configuration"));
    root.insert("PayloadUUID".into(), P::from("0E7C9B31-5A2F-4D6E-8B1C-3F5A7D9E1B20"));
    root.insert("PayloadVersion".into(), P::from(1));
    let mut out = Vec::new();
    let _ = P::Dictionary(root).to_writer_xml(&mut out);
    String::from_utf8(out).unwrap_or_default() + "\n"
}

fn linux_example(managed: bool) -> String {
    let mut m = example_values(!managed);
    if !managed {
        // Recommended: only what a user may sensibly start from.
        m.retain(|k, _| matches!(k.as_str(), "relayUrl" | "autoLockMinutes" | "uiLanguage" | "trainingMode"));
    }
    serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default() + "\n"
}

// ------------------------------------------------------------------------------ reference page

fn type_text(def: &SettingDef, lang: Lang) -> String {
    let ja = lang == Lang::Ja;
    match def.kind {
        SettingKind::Bool => (if ja { "真偽値" } else { "boolean" }).into(),
        SettingKind::Integer { min, max } => {
            if ja {
                format!("整数 {min}〜{max}")
            } else {
                format!("integer {min}–{max}")
            }
        }
        SettingKind::Text { format } => match (format, ja) {
            (TextFormat::RelayUrl, true) => "URL(https://)".into(),
            (TextFormat::RelayUrl, false) => "URL (https://)".into(),
            (TextFormat::InstitutionCode, true) => "10桁の数字(検証番号つき)".into(),
            (TextFormat::InstitutionCode, false) => "10 digits (with check digit)".into(),
            (TextFormat::EnrollmentCode, true) => "英数字とハイフン 8〜64文字".into(),
            (TextFormat::EnrollmentCode, false) => "8–64 letters, digits, hyphens".into(),
            (TextFormat::CertificatePin, _) => "sha256/<base64>".into(),
            (TextFormat::PublicKey, _) => "<base64 SubjectPublicKeyInfo>".into(),
        },
        SettingKind::Choice { options } => {
            let v: Vec<String> = options.iter().map(|o| format!("`{}` ({})", o.value, lang.pick(o.label))).collect();
            format!("{}: {}", if ja { "選択" } else { "one of" }, v.join(", "))
        }
        SettingKind::MultiChoice { options } => {
            let v: Vec<String> = options.iter().map(|o| format!("`{}` ({})", o.value, lang.pick(o.label))).collect();
            format!("{}: {}", if ja { "複数選択" } else { "any of" }, v.join(", "))
        }
        SettingKind::TextList { .. } => (if ja { "sha256/<base64> の一覧" } else { "list of sha256/<base64>" }).into(),
    }
}

fn reference_page(lang: Lang) -> String {
    let ja = lang == Lang::Ja;
    let mut s = String::new();
    let _ = writeln!(s, "<!-- {BANNER} -->\n");
    if ja {
        s.push_str("# Houmon 管理設定リファレンス\n\n");
        s.push_str("優先順位: **管理(固定)** > **端末での設定** > **推奨** > **既定値**。管理(固定)の値はアプリで変更できず、鍵のマークが表示されます。不正な値は無視され、設定画面の「管理設定」に理由が表示されます(アプリは止まりません)。\n\n");
        s.push_str("| 配布方法 | 場所 |\n|---|---|\n");
        s.push_str("| Linux | `/etc/houmon/policies/managed/*.json`(固定)、`/etc/houmon/policies/recommended/*.json`(推奨)。ファイル名の順に読み、後のファイルが優先。例: `mdm/linux/` |\n");
        s.push_str("| Windows (GPO/Intune) | `HKLM\\SOFTWARE\\Policies\\Houmon`(固定)、`…\\Houmon\\Recommended`(推奨)。`mdm/windows/` の ADMX/ADML を使用 |\n");
        s.push_str("| macOS | ペイロード種別 `jp.houmon.app` の構成プロファイル(固定)。例: `mdm/macos/` |\n");
        s.push_str("| Android Enterprise | 管理対象設定(`mdm/android/res/xml/app_restrictions.xml`)(固定) |\n");
        s.push_str("| iOS / iPadOS | AppConfig(`mdm/appconfig/specfile.xml`)(固定) |\n\n");
        s.push_str("JSON Schema: `mdm/schema/houmon-policy.schema.json`\n\n## 設定一覧\n\n");
    } else {
        s.push_str("# Houmon managed settings reference\n\n");
        s.push_str("Precedence: **managed (locked)** > **set on the device** > **recommended** > **default**. Managed values cannot be changed in the app and show a lock. Invalid values are ignored and the reason is shown on the Managed settings page (the app keeps running).\n\n");
        s.push_str("| Channel | Location |\n|---|---|\n");
        s.push_str("| Linux | `/etc/houmon/policies/managed/*.json` (locked), `/etc/houmon/policies/recommended/*.json` (recommended). Read in file-name order; later files win. Examples: `mdm/linux/` |\n");
        s.push_str("| Windows (GPO/Intune) | `HKLM\\SOFTWARE\\Policies\\Houmon` (locked), `…\\Houmon\\Recommended` (recommended). ADMX/ADML in `mdm/windows/` |\n");
        s.push_str(
            "| macOS | configuration profile with payload type `jp.houmon.app` (locked). Example: `mdm/macos/` |\n",
        );
        s.push_str(
            "| Android Enterprise | managed configuration (`mdm/android/res/xml/app_restrictions.xml`) (locked) |\n",
        );
        s.push_str("| iOS / iPadOS | AppConfig (`mdm/appconfig/specfile.xml`) (locked) |\n\n");
        s.push_str("JSON Schema: `mdm/schema/houmon-policy.schema.json`\n\n## Settings\n\n");
    }
    for def in SETTINGS {
        let _ = writeln!(s, "### `{}` — {}\n\n{}\n", def.key, lang.pick(def.title), lang.pick(def.description));
        let default = match def.default {
            StaticValue::Unset => (if ja { "なし" } else { "none" }).to_string(),
            d => format!("`{}`", d.to_json()),
        };
        let (t, dl, lv, ex) = if ja {
            ("型", "既定値", "指定できる階層", "例")
        } else {
            ("Type", "Default", "Levels", "Example")
        };
        let _ = writeln!(
            s,
            "- {t}: {}\n- {dl}: {default}\n- {lv}: {}\n- {ex}: `{}`",
            type_text(def, lang),
            levels(def, lang),
            def.example.to_json()
        );
        if def.secret {
            s.push_str(if ja {
                "- 秘密の値です。設定画面には「設定済み」とだけ表示されます。\n"
            } else {
                "- Secret: the settings page only shows that it is set.\n"
            });
        }
        s.push('\n');
    }
    s
}
