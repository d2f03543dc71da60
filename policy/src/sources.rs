//! Where policies come from. Each platform source turns what the OS holds into
//! [`PolicyLayer`]s of raw JSON values; checking and precedence happen in
//! [`super::resolve`], the same for every platform.
//!
//! | Platform | Managed (locked) | Recommended |
//! |---|---|---|
//! | Linux | `/etc/houmon/policies/managed/*.json` | `/etc/houmon/policies/recommended/*.json` |
//! | Windows | `HKLM\SOFTWARE\Policies\Houmon`, then `HKCU\…` | `…\Houmon\Recommended` |
//! | macOS | `/Library/Managed Preferences/[<user>/]jp.houmon.app.plist` (forced) | — |
//! | Android, iOS | [`PushedManagedConfig`], filled by the mobile plugin | — |

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The level a policy value was set at by an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyLevel {
    /// 推奨: a starting value the user may change.
    Recommended,
    /// 管理(固定): locked; the user cannot change it.
    Managed,
}

/// A set of raw values from one place (a file, a registry key, a plist, an Android bundle).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyLayer {
    pub level: PolicyLevel,
    /// Where it came from, shown on the policy page (a path or registry key; never a value).
    pub origin: String,
    pub values: Map<String, Value>,
}

/// A source that could not be read at all (the rest still applies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SourceProblem {
    Unreadable {
        detail: String,
    },
    NotJson {
        detail: String,
    },
    NotAnObject,
    TooLarge {
        limit: u64,
    },
    /// Any local user could change it, so it cannot lock anything.
    WorldWritable,
}

impl SourceProblem {
    pub fn message_ja(&self) -> String {
        match self {
            Self::Unreadable { detail } => {
                format!("ポリシーを読み込めません({detail})。ファイルの権限と内容を確認してください。")
            }
            Self::NotJson { detail } => {
                format!(
                    "ポリシーがJSONとして読み取れません({detail})。書式を確認してください。このファイルは無視されました。"
                )
            }
            Self::NotAnObject => {
                "ポリシーの最上位は {\"設定名\": 値} の形のオブジェクトにしてください。このファイルは無視されました。"
                    .into()
            }
            Self::TooLarge { limit } => {
                format!("ポリシーが大きすぎます({limit}バイトまで)。このファイルは無視されました。")
            }
            Self::WorldWritable => {
                "ポリシーファイルを誰でも書き換えられる状態のため無視しました。所有者をrootにし、権限を0644にしてください。".into()
            }
        }
    }
    pub fn message_en(&self) -> String {
        match self {
            Self::Unreadable { detail } => {
                format!("Policy could not be read ({detail}). Check its permissions and contents.")
            }
            Self::NotJson { detail } => {
                format!("Policy is not valid JSON ({detail}); the file was ignored. Fix its syntax.")
            }
            Self::NotAnObject => {
                "The top level of a policy must be an object {\"settingName\": value}; the file was ignored.".into()
            }
            Self::TooLarge { limit } => format!("Policy is too large (limit {limit} bytes); the file was ignored."),
            Self::WorldWritable => {
                "The policy file is writable by any user, so it was ignored. Make it owned by root with mode 0644."
                    .into()
            }
        }
    }
}

/// What a source read: its layers in increasing precedence within each level, and any source
/// it could not read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyRead {
    pub layers: Vec<PolicyLayer>,
    pub problems: Vec<(String, Option<PolicyLevel>, SourceProblem)>,
}

/// A platform policy store.
pub trait PolicySource: Send + Sync + Debug {
    /// Read the current policy. Never fails as a whole: unreadable parts become problems.
    fn read(&self) -> PolicyRead;
    /// Directories whose changes should trigger a reload (file-based sources). Sources whose
    /// platform sends change events (Android broadcast, registry notification) return none and
    /// the shell calls `PolicyWatcher::reload_now` on the event; a slow poll covers the rest.
    fn watch_dirs(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}

/// Larger policy files are refused (a policy is a few hundred bytes).
pub const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// Linux: `<root>/{managed,recommended}/*.json`, root `/etc/houmon/policies`. Files apply in
/// file-name order, so `90-site.json` overrides `10-base.json` (the `conf.d` convention).
#[derive(Debug, Clone)]
pub struct LinuxPolicyDir {
    root: PathBuf,
}

impl LinuxPolicyDir {
    pub const DEFAULT_ROOT: &str = "/etc/houmon/policies";

    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn system() -> Self {
        Self::new(Self::DEFAULT_ROOT)
    }
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn read_level(&self, level: PolicyLevel, out: &mut PolicyRead) {
        let dir = self.root.join(match level {
            PolicyLevel::Managed => "managed",
            PolicyLevel::Recommended => "recommended",
        });
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                out.problems.push((
                    dir.display().to_string(),
                    Some(level),
                    SourceProblem::Unreadable { detail: e.kind().to_string() },
                ));
                return;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
            .collect();
        files.sort();
        for path in files {
            let origin = path.display().to_string();
            match read_json_object(&path) {
                Ok(values) => out.layers.push(PolicyLayer { level, origin, values }),
                Err(p) => out.problems.push((origin, Some(level), p)),
            }
        }
    }
}

fn read_json_object(path: &Path) -> Result<Map<String, Value>, SourceProblem> {
    let meta = std::fs::metadata(path).map_err(|e| SourceProblem::Unreadable { detail: e.kind().to_string() })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o002 != 0 {
            return Err(SourceProblem::WorldWritable);
        }
    }
    if meta.len() > MAX_POLICY_BYTES {
        return Err(SourceProblem::TooLarge { limit: MAX_POLICY_BYTES });
    }
    let text = std::fs::read(path).map_err(|e| SourceProblem::Unreadable { detail: e.kind().to_string() })?;
    let value: Value = serde_json::from_slice(&text)
        .map_err(|e| SourceProblem::NotJson { detail: format!("line {} column {}", e.line(), e.column()) })?;
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(SourceProblem::NotAnObject),
    }
}

impl PolicySource for LinuxPolicyDir {
    fn read(&self) -> PolicyRead {
        let mut out = PolicyRead::default();
        self.read_level(PolicyLevel::Recommended, &mut out);
        self.read_level(PolicyLevel::Managed, &mut out);
        out
    }
    fn watch_dirs(&self) -> Vec<PathBuf> {
        vec![self.root.clone()]
    }
}

/// macOS: a configuration profile whose payload type is [`super::schema::APP_ID`] lands in
/// `/Library/Managed Preferences/<user>/jp.houmon.app.plist` (user scope) or
/// `/Library/Managed Preferences/jp.houmon.app.plist` (device scope). Values there are forced
/// (what `CFPreferencesAppValueIsForced` reports), so they are read as Managed; the user-scope
/// file wins over the device-scope one. Reading the plist files directly keeps this free of
/// `unsafe` FFI and testable on any OS; `MacManagedPreferences::system()` is the real location.
#[derive(Debug, Clone)]
pub struct MacManagedPreferences {
    dir: PathBuf,
    user: Option<String>,
}

impl MacManagedPreferences {
    pub const DEFAULT_DIR: &str = "/Library/Managed Preferences";

    pub fn new(dir: impl Into<PathBuf>, user: Option<String>) -> Self {
        Self { dir: dir.into(), user }
    }
    /// The real location for the current user (`$USER`).
    pub fn system() -> Self {
        Self::new(Self::DEFAULT_DIR, std::env::var("USER").ok())
    }
    fn files(&self) -> Vec<PathBuf> {
        let name = format!("{}.plist", super::schema::APP_ID);
        let mut v = vec![self.dir.join(&name)];
        if let Some(u) = &self.user {
            v.push(self.dir.join(u).join(&name));
        }
        v
    }
}

impl PolicySource for MacManagedPreferences {
    fn read(&self) -> PolicyRead {
        let mut out = PolicyRead::default();
        for path in self.files() {
            if !path.exists() {
                continue;
            }
            let origin = path.display().to_string();
            let parsed = plist::Value::from_file(&path)
                .map_err(|e| SourceProblem::NotJson { detail: e.to_string() })
                .and_then(|v| serde_json::to_value(v).map_err(|e| SourceProblem::NotJson { detail: e.to_string() }));
            match parsed {
                Ok(Value::Object(values)) => out.layers.push(PolicyLayer {
                    level: PolicyLevel::Managed,
                    origin,
                    values: strip_payload_keys(values),
                }),
                Ok(_) => out.problems.push((origin, Some(PolicyLevel::Managed), SourceProblem::NotAnObject)),
                Err(p) => out.problems.push((origin, Some(PolicyLevel::Managed), p)),
            }
        }
        out
    }
    fn watch_dirs(&self) -> Vec<PathBuf> {
        vec![self.dir.clone()]
    }
}

/// Profile bookkeeping keys that are not settings.
fn strip_payload_keys(mut m: Map<String, Value>) -> Map<String, Value> {
    m.retain(|k, _| !k.starts_with("Payload") && k != "PayloadContent");
    m
}

/// Android (`RestrictionsManager.getApplicationRestrictions()`) and iOS (`UserDefaults`
/// `com.apple.configuration.managed`): the seam the mobile plugin fills.
///
/// The plugin converts the bundle/dictionary to a JSON object (Android `multi-select` arrays as
/// JSON arrays, numbers as numbers) and calls [`PushedManagedConfig::set`] on start, on resume
/// and on `ACTION_APPLICATION_RESTRICTIONS_CHANGED` / `UserDefaults.didChangeNotification`,
/// then `PolicyWatcher::reload_now()`. Both platforms only know managed values.
#[derive(Debug, Clone, Default)]
pub struct PushedManagedConfig {
    origin: String,
    values: Arc<Mutex<Option<Map<String, Value>>>>,
}

impl PushedManagedConfig {
    /// `origin` names the platform on the policy page, e.g. "Android managed configuration".
    pub fn new(origin: impl Into<String>) -> Self {
        Self { origin: origin.into(), values: Arc::default() }
    }
    /// Replace the managed values (`None`: no managed configuration).
    pub fn set(&self, values: Option<Map<String, Value>>) {
        if let Ok(mut g) = self.values.lock() {
            *g = values;
        }
    }
}

impl PolicySource for PushedManagedConfig {
    fn read(&self) -> PolicyRead {
        let values = self.values.lock().map(|g| g.clone()).unwrap_or_default();
        PolicyRead {
            layers: values
                .map(|values| PolicyLayer { level: PolicyLevel::Managed, origin: self.origin.clone(), values })
                .into_iter()
                .collect(),
            problems: Vec::new(),
        }
    }
}

/// Windows: `HKLM\SOFTWARE\Policies\Houmon` (managed) and `…\Houmon\Recommended`, then the same
/// under HKCU at lower precedence (machine policy beats user policy, as in Chrome). Values are
/// `REG_DWORD` for booleans and integers, `REG_SZ` for text; list settings are subkeys with
/// values `1`, `2`, … (what the ADMX `<list>` element writes).
#[cfg(windows)]
#[derive(Debug, Clone, Default)]
pub struct WindowsRegistryPolicy;

#[cfg(windows)]
impl WindowsRegistryPolicy {
    pub const KEY: &str = r"SOFTWARE\Policies\Houmon";

    fn read_key(hive: &winreg::RegKey, path: &str) -> Option<Map<String, Value>> {
        use winreg::enums::RegType;
        let key = hive.open_subkey(path).ok()?;
        let mut out = Map::new();
        for (name, value) in key.enum_values().filter_map(|r| r.ok()) {
            let v = match value.vtype {
                RegType::REG_DWORD => {
                    let b: [u8; 4] = value.bytes.get(..4).and_then(|b| b.try_into().ok()).unwrap_or_default();
                    Value::from(u32::from_le_bytes(b))
                }
                RegType::REG_QWORD => {
                    let b: [u8; 8] = value.bytes.get(..8).and_then(|b| b.try_into().ok()).unwrap_or_default();
                    Value::from(u64::from_le_bytes(b))
                }
                _ => Value::from(value.to_string()),
            };
            out.insert(name, v);
        }
        for sub in key.enum_keys().filter_map(|r| r.ok()) {
            if sub == "Recommended" {
                continue;
            }
            if let Ok(list) = key.open_subkey(&sub) {
                let mut items: Vec<(u32, String)> = list
                    .enum_values()
                    .filter_map(|r| r.ok())
                    .filter_map(|(n, v)| n.parse::<u32>().ok().map(|i| (i, v.to_string())))
                    .collect();
                items.sort();
                out.insert(sub, Value::from(items.into_iter().map(|(_, s)| s).collect::<Vec<_>>()));
            }
        }
        Some(out)
    }
}

#[cfg(windows)]
impl PolicySource for WindowsRegistryPolicy {
    fn read(&self) -> PolicyRead {
        use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE};
        let mut out = PolicyRead::default();
        // Increasing precedence within a level: HKCU first, then HKLM.
        for (hive_name, hive) in [("HKCU", HKEY_CURRENT_USER), ("HKLM", HKEY_LOCAL_MACHINE)] {
            let root = winreg::RegKey::predef(hive);
            for (level, path) in [
                (PolicyLevel::Recommended, format!(r"{}\Recommended", Self::KEY)),
                (PolicyLevel::Managed, Self::KEY.to_string()),
            ] {
                if let Some(values) = Self::read_key(&root, &path) {
                    out.layers.push(PolicyLayer { level, origin: format!(r"{hive_name}\{path}"), values });
                }
            }
        }
        out
    }
}

/// The sources for the platform this build runs on, with their real locations.
pub fn platform_sources() -> Vec<Box<dyn PolicySource>> {
    let sources: Vec<Box<dyn PolicySource>> = vec![
        #[cfg(target_os = "linux")]
        Box::new(LinuxPolicyDir::system()),
        #[cfg(target_os = "macos")]
        Box::new(MacManagedPreferences::system()),
        #[cfg(windows)]
        Box::new(WindowsRegistryPolicy),
    ];
    sources
}
