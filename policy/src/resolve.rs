//! Precedence and the resolved view (what the policy page shows).
//!
//! For each setting: Managed (locked) > User > Recommended > Default. Within one level, later
//! layers override earlier ones (file-name order; HKLM after HKCU). A value that fails its
//! check is ignored — the next level applies — and reported with the reason; nothing here is
//! ever fatal.

use super::schema::{SETTINGS, SettingDef, SettingValue, ValueProblem, coerce, key, setting};
use super::sources::{PolicyLevel, PolicyRead, PolicySource};
use houmon_model::IdentityMode;
use houmon_onshi::MedicalInstitutionCode;
use houmon_onshi::consent::ConsentPolicy;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Mutex;

/// Where the effective value of a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SettingSource {
    #[default]
    Default,
    Recommended,
    User,
    Managed,
}

impl SettingSource {
    /// Label for the policy page (Japanese, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Self::Default => ("既定値", "Default"),
            Self::Recommended => ("推奨(管理者)", "Recommended (administrator)"),
            Self::User => ("この端末で設定", "Set on this device"),
            Self::Managed => ("管理者により設定されています", "Set by your administrator"),
        }
    }
}

/// How serious a reported problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The value or file was ignored.
    Ignored,
    /// Applied, but worth knowing (e.g. one file overrides another).
    Notice,
}

/// A problem as the policy page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemView {
    /// The setting, if the problem concerns one.
    pub key: Option<String>,
    /// Where the value came from (path, registry key, "user").
    pub origin: String,
    pub level: Option<SettingSource>,
    pub severity: Severity,
    pub message_ja: String,
    pub message_en: String,
}

/// One setting as the policy page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedSetting {
    pub key: String,
    pub title_ja: String,
    pub title_en: String,
    pub description_ja: String,
    pub description_en: String,
    /// The effective value; for secret settings only `"********"` when set.
    pub value: SettingValue,
    pub source: SettingSource,
    /// Where the effective value came from (path, registry key, "user", "default").
    pub origin: String,
    /// Set by a managed policy: the UI shows a lock and refuses changes.
    pub locked: bool,
    /// The user may change it here (not locked and user-settable).
    pub user_editable: bool,
    /// Problems with values given for this setting (ignored ones included).
    pub problems: Vec<ProblemView>,
    #[serde(skip)]
    effective: SettingValue,
}

/// Everything the policy page shows (like chrome://policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PolicyView {
    /// Any managed value is in effect: show 「この端末は組織によって管理されています」.
    pub managed_by_organization: bool,
    pub settings: Vec<ResolvedSetting>,
    /// Problems not tied to one known setting (unreadable files, unknown keys).
    pub problems: Vec<ProblemView>,
    /// Every place a policy was read from.
    pub origins: Vec<String>,
}

const MASK: &str = "********";

impl PolicyView {
    /// Resolve `read` (from all sources) and the user's own values.
    pub fn resolve(read: &PolicyRead, user: &Map<String, Value>) -> Self {
        let mut view = PolicyView::default();
        for (origin, level, p) in &read.problems {
            view.problems.push(ProblemView {
                key: None,
                origin: origin.clone(),
                level: level.map(level_source),
                severity: Severity::Ignored,
                message_ja: p.message_ja(),
                message_en: p.message_en(),
            });
        }
        for layer in &read.layers {
            view.origins.push(layer.origin.clone());
            for k in layer.values.keys() {
                if setting(k).is_none() {
                    view.problems.push(unknown_key(k, &layer.origin, Some(level_source(layer.level))));
                }
            }
        }
        for k in user.keys() {
            if setting(k).is_none() {
                view.problems.push(unknown_key(k, "user", Some(SettingSource::User)));
            }
        }
        for def in SETTINGS {
            view.settings.push(resolve_one(def, read, user));
        }
        view.managed_by_organization = view.settings.iter().any(|s| s.locked);
        view
    }

    pub fn get(&self, key: &str) -> Option<&ResolvedSetting> {
        self.settings.iter().find(|s| s.key == key)
    }

    /// The effective value (unmasked, for the app's own use).
    pub fn value(&self, key: &str) -> SettingValue {
        self.get(key).map(|s| s.effective.clone()).unwrap_or_default()
    }

    /// Typed settings for the rest of the app.
    pub fn effective(&self) -> EffectiveSettings {
        let text = |k| match self.value(k) {
            SettingValue::Text(s) => Some(s),
            _ => None,
        };
        let int = |k, d: i64| match self.value(k) {
            SettingValue::Integer(i) => i,
            _ => d,
        };
        let flag = |k, d| match self.value(k) {
            SettingValue::Bool(b) => b,
            _ => d,
        };
        let list = |k| match self.value(k) {
            SettingValue::List(l) => l,
            _ => Vec::new(),
        };
        EffectiveSettings {
            relay_url: text(key::RELAY_URL),
            institution_code: text(key::INSTITUTION_CODE).and_then(|c| MedicalInstitutionCode::parse_valid(&c).ok()),
            enrollment_code: text(key::ENROLLMENT_CODE),
            identity_modes: list(key::IDENTITY_MODES)
                .iter()
                .filter_map(|m| match m.as_str() {
                    "pin" => Some(IdentityMode::Pin),
                    "visual" => Some(IdentityMode::Visual),
                    _ => None,
                })
                .collect(),
            consent: ConsentPolicy {
                initial_months: int(key::CONSENT_INITIAL_MONTHS, 3) as u32,
                extend_while_visited: flag(key::CONSENT_EXTEND_WHILE_VISITED, true),
            },
            auto_lock_minutes: int(key::AUTO_LOCK_MINUTES, 5) as u32,
            staff_pin_min_length: int(key::STAFF_PIN_MIN_LENGTH, 6) as usize,
            office_reads_notes: flag(key::OFFICE_READS_NOTES, false),
            offline_data_ttl_days: int(key::OFFLINE_DATA_TTL_DAYS, 30) as u32,
            screenshot_protection: flag(key::SCREENSHOT_PROTECTION, true),
            training_mode: match text(key::TRAINING_MODE).as_deref() {
                Some("on") => TrainingMode::On,
                Some("off") => TrainingMode::Off,
                _ => TrainingMode::Auto,
            },
            ui_language: match text(key::UI_LANGUAGE).as_deref() {
                Some("en") => UiLanguage::En,
                _ => UiLanguage::Ja,
            },
            large_text: flag(key::LARGE_TEXT, false),
            relay_certificate_pins: list(key::RELAY_CERTIFICATE_PINS),
            remote_wipe: flag(key::REMOTE_WIPE, false),
            visual_check_unverified_photo: flag(key::VISUAL_CHECK_UNVERIFIED_PHOTO, false),
            // Values were checked by `coerce`; one that does not decode is dropped (fail closed:
            // fewer keys, fewer photos shown as verified).
            card_face_issuer_keys: list(key::CARD_FACE_ISSUER_KEYS)
                .iter()
                .filter_map(|k| {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.decode(k).ok()
                })
                .collect(),
        }
    }
}

fn level_source(l: PolicyLevel) -> SettingSource {
    match l {
        PolicyLevel::Managed => SettingSource::Managed,
        PolicyLevel::Recommended => SettingSource::Recommended,
    }
}

fn unknown_key(k: &str, origin: &str, level: Option<SettingSource>) -> ProblemView {
    ProblemView {
        key: Some(k.to_string()),
        origin: origin.to_string(),
        level,
        severity: Severity::Ignored,
        message_ja: format!("「{k}」という設定はありません。綴りを確認してください(大文字・小文字を区別します)。"),
        message_en: format!("There is no setting \"{k}\". Check the spelling (names are case-sensitive)."),
    }
}

fn problem(def: &SettingDef, origin: &str, level: SettingSource, p: &ValueProblem) -> ProblemView {
    ProblemView {
        key: Some(def.key.to_string()),
        origin: origin.to_string(),
        level: Some(level),
        severity: Severity::Ignored,
        message_ja: format!("{}: {} この値は無視されました。", def.title.ja, p.message_ja()),
        message_en: format!("{}: {} The value was ignored.", def.title.en, p.message_en()),
    }
}

fn resolve_one(def: &SettingDef, read: &PolicyRead, user: &Map<String, Value>) -> ResolvedSetting {
    let mut problems = Vec::new();
    // The valid value at each level, last layer winning.
    let at_level = |level: PolicyLevel, problems: &mut Vec<ProblemView>| -> Option<(SettingValue, String)> {
        let src = level_source(level);
        let mut found: Option<(SettingValue, String)> = None;
        for layer in read.layers.iter().filter(|l| l.level == level) {
            let Some(raw) = layer.values.get(def.key) else { continue };
            if level == PolicyLevel::Recommended && !def.recommendable {
                problems.push(ProblemView {
                    key: Some(def.key.into()),
                    origin: layer.origin.clone(),
                    level: Some(src),
                    severity: Severity::Ignored,
                    message_ja: format!(
                        "{}は推奨値としては指定できません。managed(固定)として設定してください。この値は無視されました。",
                        def.title.ja
                    ),
                    message_en: format!(
                        "{} cannot be a recommended value; set it as managed. The value was ignored.",
                        def.title.en
                    ),
                });
                continue;
            }
            match coerce(def, raw) {
                Ok(v) => {
                    if let Some((prev, prev_origin)) = &found
                        && prev != &v
                    {
                        problems.push(ProblemView {
                            key: Some(def.key.into()),
                            origin: prev_origin.clone(),
                            level: Some(src),
                            severity: Severity::Notice,
                            message_ja: format!("{}の値は {} によって上書きされています。", def.title.ja, layer.origin),
                            message_en: format!("{} is overridden by {}.", def.title.en, layer.origin),
                        });
                    }
                    found = Some((v, layer.origin.clone()));
                }
                Err(p) => problems.push(problem(def, &layer.origin, src, &p)),
            }
        }
        found
    };
    let managed = at_level(PolicyLevel::Managed, &mut problems);
    let recommended = at_level(PolicyLevel::Recommended, &mut problems);
    let user_value = user.get(def.key).and_then(|raw| {
        if !def.user_settable {
            return None;
        }
        match coerce(def, raw) {
            Ok(v) => Some((v, "user".to_string())),
            Err(p) => {
                problems.push(problem(def, "user", SettingSource::User, &p));
                None
            }
        }
    });
    let locked = managed.is_some();
    let (effective, source, origin) = if let Some((v, o)) = managed {
        (v, SettingSource::Managed, o)
    } else if let Some((v, o)) = user_value {
        (v, SettingSource::User, o)
    } else if let Some((v, o)) = recommended {
        (v, SettingSource::Recommended, o)
    } else {
        (def.default.to_value(), SettingSource::Default, "default".to_string())
    };
    let value = if def.secret && effective != SettingValue::Unset {
        SettingValue::Text(MASK.into())
    } else {
        effective.clone()
    };
    ResolvedSetting {
        key: def.key.into(),
        title_ja: def.title.ja.into(),
        title_en: def.title.en.into(),
        description_ja: def.description.ja.into(),
        description_en: def.description.en.into(),
        value,
        source,
        origin,
        locked,
        user_editable: def.user_settable && !locked,
        problems,
        effective,
    }
}

/// 訓練モード setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingMode {
    /// Training until the device is enrolled (ARCHITECTURE.md, *Embedded defaults*).
    Auto,
    On,
    Off,
}

/// The language the UI shows (setting `uiLanguage`); Japanese unless chosen otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum UiLanguage {
    #[default]
    Ja,
    En,
}

/// The resolved settings, typed, for the rest of the app.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveSettings {
    pub relay_url: Option<String>,
    pub institution_code: Option<MedicalInstitutionCode>,
    #[serde(skip)]
    pub enrollment_code: Option<String>,
    pub identity_modes: Vec<IdentityMode>,
    pub consent: ConsentPolicy,
    pub auto_lock_minutes: u32,
    /// Fewest digits of a newly chosen staff PIN (4–12).
    pub staff_pin_min_length: usize,
    /// Office and admin staff may read clinical notes.
    pub office_reads_notes: bool,
    /// 0: never purge.
    pub offline_data_ttl_days: u32,
    pub screenshot_protection: bool,
    pub training_mode: TrainingMode,
    pub ui_language: UiLanguage,
    pub large_text: bool,
    pub relay_certificate_pins: Vec<String>,
    pub remote_wipe: bool,
    /// 目視 may proceed without a verified chip photo (printed photo, no issuer key).
    pub visual_check_unverified_photo: bool,
    /// DER SubjectPublicKeyInfos of the card face issuer (decoded from base64).
    pub card_face_issuer_keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for EffectiveSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EffectiveSettings")
            .field("relay_url", &self.relay_url)
            .field("institution_code", &self.institution_code)
            .field("enrollment_code", &self.enrollment_code.as_ref().map(|_| MASK))
            .field("identity_modes", &self.identity_modes)
            .field("consent", &self.consent)
            .field("auto_lock_minutes", &self.auto_lock_minutes)
            .field("staff_pin_min_length", &self.staff_pin_min_length)
            .field("office_reads_notes", &self.office_reads_notes)
            .field("offline_data_ttl_days", &self.offline_data_ttl_days)
            .field("screenshot_protection", &self.screenshot_protection)
            .field("training_mode", &self.training_mode)
            .field("ui_language", &self.ui_language)
            .field("large_text", &self.large_text)
            .field("relay_certificate_pins", &self.relay_certificate_pins)
            .field("remote_wipe", &self.remote_wipe)
            .field("visual_check_unverified_photo", &self.visual_check_unverified_photo)
            .field("card_face_issuer_keys", &self.card_face_issuer_keys.len())
            .finish()
    }
}

/// Why the user's change was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub message_ja: String,
    pub message_en: String,
}

/// The policy engine: platform sources plus the user's own values (a small JSON file next to
/// the store; settings are not patient data).
#[derive(Debug)]
pub struct PolicyEngine {
    sources: Vec<Box<dyn PolicySource>>,
    user_file: Option<PathBuf>,
    lock: Mutex<()>,
}

impl PolicyEngine {
    /// `user_file`: where the user's own values live (`None`: no user level, e.g. tests).
    pub fn new(sources: Vec<Box<dyn PolicySource>>, user_file: Option<PathBuf>) -> Self {
        Self { sources, user_file, lock: Mutex::new(()) }
    }

    /// Read every source now (all raw layers, in precedence order within each level).
    pub fn read(&self) -> PolicyRead {
        let mut all = PolicyRead::default();
        for s in &self.sources {
            let r = s.read();
            all.layers.extend(r.layers);
            all.problems.extend(r.problems);
        }
        all
    }

    /// The user's own values. An unreadable file counts as empty (and is replaced on the next
    /// change): it only holds preferences.
    pub fn user_values(&self) -> Map<String, Value> {
        self.user_file
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| if let Value::Object(m) = v { Some(m) } else { None })
            .unwrap_or_default()
    }

    /// The resolved view, read fresh.
    pub fn view(&self) -> PolicyView {
        PolicyView::resolve(&self.read(), &self.user_values())
    }

    /// Directories the watcher should watch. Not the user file's directory (the app data
    /// directory, busy with database writes): user changes go through
    /// [`Self::set_user_value`], after which the caller reloads.
    pub fn watch_dirs(&self) -> Vec<PathBuf> {
        self.sources.iter().flat_map(|s| s.watch_dirs()).collect()
    }

    /// The user changes a setting on the device. Refused (with a reason to show) when the
    /// setting is locked by the administrator, not user-settable, or the value is invalid;
    /// nothing is written then.
    pub fn set_user_value(&self, setting_key: &str, raw: Value) -> Result<PolicyView, Refusal> {
        let _g = self.lock.lock();
        let def = setting(setting_key).ok_or_else(|| Refusal {
            message_ja: format!("「{setting_key}」という設定はありません。"),
            message_en: format!("There is no setting \"{setting_key}\"."),
        })?;
        let view = self.view();
        if view.get(def.key).is_some_and(|s| s.locked) {
            return Err(Refusal {
                message_ja: format!("{}は管理者により設定されているため変更できません。", def.title.ja),
                message_en: format!("{} is set by your administrator and cannot be changed.", def.title.en),
            });
        }
        if !def.user_settable {
            return Err(Refusal {
                message_ja: format!("{}は端末では変更できません。管理者に依頼してください。", def.title.ja),
                message_en: format!("{} cannot be changed on the device; ask your administrator.", def.title.en),
            });
        }
        if let Err(p) = coerce(def, &raw) {
            return Err(Refusal { message_ja: p.message_ja(), message_en: p.message_en() });
        }
        let mut user = self.user_values();
        user.insert(def.key.to_string(), raw);
        self.write_user(&user)?;
        Ok(self.view())
    }

    /// Forget the user's value (back to recommended/default).
    pub fn clear_user_value(&self, setting_key: &str) -> Result<PolicyView, Refusal> {
        let _g = self.lock.lock();
        let mut user = self.user_values();
        if user.remove(setting_key).is_some() {
            self.write_user(&user)?;
        }
        Ok(self.view())
    }

    fn write_user(&self, user: &Map<String, Value>) -> Result<(), Refusal> {
        let Some(path) = &self.user_file else {
            return Err(Refusal {
                message_ja: "この端末では設定を保存できません。".into(),
                message_en: "Settings cannot be saved on this device.".into(),
            });
        };
        let failed = || Refusal {
            message_ja: "設定を保存できませんでした。端末の空き容量を確認してもう一度お試しください。".into(),
            message_en: "The setting could not be saved. Check free storage and try again.".into(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|_| failed())?;
        }
        let json = serde_json::to_vec_pretty(&Value::Object(user.clone())).map_err(|_| failed())?;
        houmon_keys::write_private(path, &json).map_err(|_| failed())
    }
}
