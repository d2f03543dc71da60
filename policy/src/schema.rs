//! The one settings schema (設定スキーマ). Every managed setting is declared once here, with its
//! Japanese and English texts, type, limits, default and the levels it may be set at; the MDM
//! artifacts in `mdm/` and the validation in [`coerce`] are derived from this table.

use houmon_onshi::MedicalInstitutionCode;
use serde::{Deserialize, Serialize};

/// The app identifier used by MDM (Android package, iOS/macOS bundle id, preference domain).
pub const APP_ID: &str = "jp.houmon.app";

/// A text in both UI languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Text {
    pub ja: &'static str,
    pub en: &'static str,
}

/// One allowed value of a choice setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChoiceOption {
    pub value: &'static str,
    pub label: Text,
}

/// How a free-text value must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextFormat {
    /// `https://…` (plain `http` only for loopback, for development).
    RelayUrl,
    /// 医療機関コード: 10 digits with a valid 検証番号.
    InstitutionCode,
    /// One-time enrollment code: 8–64 of `A–Z 0–9 -` (case-insensitive, stored upper case).
    EnrollmentCode,
    /// `sha256/<base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo>`.
    CertificatePin,
    /// Base64 of a DER SubjectPublicKeyInfo (a PEM public key's body).
    PublicKey,
}

/// The type of a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SettingKind {
    Bool,
    Integer { min: i64, max: i64 },
    Text { format: TextFormat },
    Choice { options: &'static [ChoiceOption] },
    MultiChoice { options: &'static [ChoiceOption] },
    TextList { format: TextFormat },
}

/// A default (or example) value in the static table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum StaticValue {
    Bool(bool),
    Integer(i64),
    Text(&'static str),
    List(&'static [&'static str]),
    /// No value (the setting is simply absent).
    Unset,
}

impl StaticValue {
    pub fn to_value(self) -> SettingValue {
        match self {
            StaticValue::Bool(b) => SettingValue::Bool(b),
            StaticValue::Integer(i) => SettingValue::Integer(i),
            StaticValue::Text(s) => SettingValue::Text(s.to_string()),
            StaticValue::List(l) => SettingValue::List(l.iter().map(|s| s.to_string()).collect()),
            StaticValue::Unset => SettingValue::Unset,
        }
    }
    /// As JSON (for generated files).
    pub fn to_json(self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// A resolved value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(untagged)]
pub enum SettingValue {
    Bool(bool),
    Integer(i64),
    Text(String),
    List(Vec<String>),
    #[default]
    Unset,
}

/// One setting of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SettingDef {
    /// The key in every format (JSON, plist, registry value name, Android restriction key).
    pub key: &'static str,
    pub title: Text,
    pub description: Text,
    pub kind: SettingKind,
    pub default: StaticValue,
    /// An example value for the generated examples.
    pub example: StaticValue,
    /// The user may change it on the device (unless a managed policy locks it).
    pub user_settable: bool,
    /// May be given as a recommended (unlocked) value; otherwise managed only.
    pub recommendable: bool,
    /// The value is a secret: the policy page shows only that it is set.
    pub secret: bool,
}

/// Setting keys, for typed access.
pub mod key {
    pub const RELAY_URL: &str = "relayUrl";
    pub const INSTITUTION_CODE: &str = "medicalInstitutionCode";
    pub const ENROLLMENT_CODE: &str = "enrollmentCode";
    pub const IDENTITY_MODES: &str = "allowedIdentityModes";
    pub const CONSENT_INITIAL_MONTHS: &str = "consentInitialMonths";
    pub const CONSENT_EXTEND_WHILE_VISITED: &str = "consentExtendWhileVisited";
    pub const AUTO_LOCK_MINUTES: &str = "autoLockMinutes";
    pub const STAFF_PIN_MIN_LENGTH: &str = "staffPinMinLength";
    pub const OFFICE_READS_NOTES: &str = "officeReadsNotes";
    pub const OFFLINE_DATA_TTL_DAYS: &str = "offlineDataTtlDays";
    pub const SCREENSHOT_PROTECTION: &str = "screenshotProtection";
    pub const TRAINING_MODE: &str = "trainingMode";
    pub const UI_LANGUAGE: &str = "uiLanguage";
    pub const LARGE_TEXT: &str = "largeText";
    pub const RELAY_CERTIFICATE_PINS: &str = "relayCertificatePins";
    pub const REMOTE_WIPE: &str = "remoteWipe";
    pub const VISUAL_CHECK_UNVERIFIED_PHOTO: &str = "visualCheckUnverifiedPhoto";
    pub const CARD_FACE_ISSUER_KEYS: &str = "cardFaceIssuerKeys";
}

const IDENTITY_OPTIONS: &[ChoiceOption] = &[
    ChoiceOption {
        value: "pin", label: Text { ja: "暗証番号(PIN)による本人確認", en: "PIN (the card signs)" }
    },
    ChoiceOption {
        value: "visual", label: Text { ja: "目視による本人確認", en: "Visual check (目視確認)" }
    },
];

const TRAINING_OPTIONS: &[ChoiceOption] = &[
    ChoiceOption {
        value: "auto",
        label: Text {
            ja: "自動(未登録の端末は訓練モード)", en: "Automatic (training mode until enrolled)"
        },
    },
    ChoiceOption { value: "on", label: Text { ja: "常に訓練モード", en: "Always training mode" } },
    ChoiceOption { value: "off", label: Text { ja: "訓練モードを使わない", en: "Never training mode" } },
];

const LANGUAGE_OPTIONS: &[ChoiceOption] = &[
    ChoiceOption { value: "ja", label: Text { ja: "日本語", en: "Japanese" } },
    ChoiceOption { value: "en", label: Text { ja: "英語(English)", en: "English" } },
];

/// Every setting, in the order the policy page and the documents list them.
pub const SETTINGS: &[SettingDef] = &[
    SettingDef {
        key: key::RELAY_URL,
        title: Text { ja: "同期サーバー(リレー)のURL", en: "Relay URL" },
        description: Text {
            ja: "端末が同期に使うリレーのURLです。https:// で始まる必要があります。",
            en: "The relay this device syncs with. Must start with https://.",
        },
        kind: SettingKind::Text { format: TextFormat::RelayUrl },
        default: StaticValue::Unset,
        example: StaticValue::Text("https://relay.example-clinic.jp"),
        user_settable: true,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::INSTITUTION_CODE,
        title: Text { ja: "医療機関コード", en: "Medical institution code (医療機関コード)" },
        description: Text {
            ja: "10桁の医療機関コードです。最後の1桁(検証番号)で入力誤りを確認します。",
            en: "The clinic's 10-digit medical institution code; the last digit is a check digit.",
        },
        kind: SettingKind::Text { format: TextFormat::InstitutionCode },
        default: StaticValue::Unset,
        example: StaticValue::Text("1312345679"),
        user_settable: false,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::ENROLLMENT_CODE,
        title: Text { ja: "端末登録コード", en: "Enrollment code" },
        description: Text {
            ja: "初回起動時に端末を自動で登録するための一回限りのコードです(管理画面で発行)。使用後は無効になります。",
            en: "One-time code (issued in the back office) that enrolls the device automatically on first start. It cannot be used twice.",
        },
        kind: SettingKind::Text { format: TextFormat::EnrollmentCode },
        default: StaticValue::Unset,
        example: StaticValue::Text("HM7Q-2K4D-9XWP"),
        // Typed on the enrollment screen it goes straight to `DeviceLifecycle::enroll`, never
        // into the user settings file.
        user_settable: false,
        recommendable: false,
        secret: true,
    },
    SettingDef {
        key: key::IDENTITY_MODES,
        title: Text { ja: "許可する本人確認の方法", en: "Allowed identity modes" },
        description: Text {
            ja: "初回訪問(居宅同意取得型)で使える本人確認の方法です。少なくとも1つを選んでください。",
            en: "Identity checks allowed at the first visit (居宅同意取得型). Choose at least one.",
        },
        kind: SettingKind::MultiChoice { options: IDENTITY_OPTIONS },
        default: StaticValue::List(&["pin", "visual"]),
        example: StaticValue::List(&["pin", "visual"]),
        user_settable: false,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::VISUAL_CHECK_UNVERIFIED_PHOTO,
        title: Text {
            ja: "検証できない顔写真での目視確認を許可する",
            en: "Allow visual checks without a verified chip photo",
        },
        description: Text {
            ja: "ICチップの顔写真の署名を検証できないとき(発行者の鍵が未設定、照合番号Bのロックでカード表面の写真しか見られない場合)にも目視確認を許可します。偽造カードを見抜けないおそれがあるため既定はオフです。許可した目視確認はその旨が監査記録に残ります。署名が一致しない写真は、この設定にかかわらず拒否します。",
            en: "Allow the visual check when the chip photo's signature cannot be verified (no issuer key configured, or 照合番号B locked so only the printed photo can be seen). Off by default because forged cards may then pass; such checks are audited as unverified. A photo whose signature does not match is refused whatever this says.",
        },
        kind: SettingKind::Bool,
        default: StaticValue::Bool(false),
        example: StaticValue::Bool(false),
        user_settable: false,
        recommendable: false,
        secret: false,
    },
    SettingDef {
        key: key::CARD_FACE_ISSUER_KEYS,
        title: Text { ja: "券面データの発行者公開鍵", en: "Card face issuer public keys" },
        description: Text {
            ja: "マイナンバーカードの券面データ(顔写真を含む)の署名を検証する、発行者(J-LIS)の公開鍵です(DER形式のSubjectPublicKeyInfoをBase64で)。いずれかの鍵で署名が検証できた顔写真だけを「検証済み」と表示します。",
            en: "Public keys of the card issuer (J-LIS) that sign the card face data, photo included (base64 of a DER SubjectPublicKeyInfo). Only a photo whose signature verifies with one of them is shown as verified.",
        },
        kind: SettingKind::TextList { format: TextFormat::PublicKey },
        default: StaticValue::List(&[]),
        example: StaticValue::List(&[]),
        user_settable: false,
        recommendable: false,
        secret: false,
    },
    SettingDef {
        key: key::CONSENT_INITIAL_MONTHS,
        title: Text { ja: "同意の有効期間(月数)", en: "Consent validity (months)" },
        description: Text {
            ja: "初回確認の月から数えて、この月数後の月末まで同意が有効です(既定: 3か月後の月末)。",
            en: "A consent is valid to the end of this many months after the month of the first confirmation (default 3).",
        },
        kind: SettingKind::Integer { min: 1, max: 12 },
        default: StaticValue::Integer(3),
        example: StaticValue::Integer(3),
        user_settable: false,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::CONSENT_EXTEND_WHILE_VISITED,
        title: Text { ja: "訪問継続中は同意を延長する", en: "Extend consent while visits continue" },
        description: Text {
            ja: "有効期間の最後の月に訪問があれば、同意を1か月ずつ延長します。",
            en: "Extend the consent one month at a time while a visit happens in its last valid month.",
        },
        kind: SettingKind::Bool,
        default: StaticValue::Bool(true),
        example: StaticValue::Bool(true),
        user_settable: false,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::AUTO_LOCK_MINUTES,
        title: Text { ja: "自動ロックまでの時間(分)", en: "Auto-lock after (minutes)" },
        description: Text {
            ja: "操作がないとき、この分数でアプリをロックします。解除には職員PINが必要です。",
            en: "Lock the app after this many idle minutes; the staff PIN unlocks it.",
        },
        kind: SettingKind::Integer { min: 1, max: 60 },
        default: StaticValue::Integer(5),
        example: StaticValue::Integer(3),
        user_settable: true,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::STAFF_PIN_MIN_LENGTH,
        title: Text { ja: "職員PINの最小桁数", en: "Minimum staff PIN length" },
        description: Text {
            ja: "職員が選ぶサインイン用PINの最小桁数です(数字のみ、最大12桁)。すでに設定されたPINは次に選び直すときから適用されます。",
            en: "The fewest digits a staff member's sign-in PIN may have (digits only, at most 12). PINs already chosen keep working until they are chosen again.",
        },
        kind: SettingKind::Integer { min: 4, max: 12 },
        default: StaticValue::Integer(6),
        example: StaticValue::Integer(8),
        user_settable: false,
        recommendable: false,
        secret: false,
    },
    SettingDef {
        key: key::OFFICE_READS_NOTES,
        title: Text {
            ja: "事務・管理者による診療記録の閲覧", en: "Office staff may read clinical notes"
        },
        description: Text {
            ja: "オンにすると、事務と管理者の職員もカルテの診療記録(SOAP・バイタル)を閲覧できます。記載と署名は医師と看護師だけです。既定はオフ(基本情報と資格情報のみ)です。",
            en: "When on, office and admin staff may also read clinical notes (SOAP, vitals). Only doctors and nurses write and sign them. Off by default (demographics and qualification only).",
        },
        kind: SettingKind::Bool,
        default: StaticValue::Bool(false),
        example: StaticValue::Bool(true),
        user_settable: false,
        recommendable: false,
        secret: false,
    },
    SettingDef {
        key: key::OFFLINE_DATA_TTL_DAYS,
        title: Text { ja: "未同期時の患者データ保持日数", en: "Offline data lifetime (days)" },
        description: Text {
            ja: "この日数のあいだ一度も同期できなかった場合、端末内の患者データを消去します(次の同期で再取得されます)。0 は消去しません。",
            en: "If the device has not synced for this many days, patient data on it is erased (it is fetched again on the next sync). 0 never erases.",
        },
        kind: SettingKind::Integer { min: 0, max: 365 },
        default: StaticValue::Integer(30),
        example: StaticValue::Integer(14),
        user_settable: false,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::SCREENSHOT_PROTECTION,
        title: Text { ja: "画面の撮影を防止する", en: "Screenshot protection" },
        description: Text {
            ja: "スクリーンショットや画面録画、アプリ切り替え画面への表示を防ぎます。",
            en: "Block screenshots, screen recording and the app-switcher preview.",
        },
        kind: SettingKind::Bool,
        default: StaticValue::Bool(true),
        example: StaticValue::Bool(true),
        user_settable: false,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::TRAINING_MODE,
        title: Text { ja: "訓練モード", en: "Training mode" },
        description: Text {
            ja: "訓練モードでは架空の診療所・模擬の資格確認・仮想カードを使い、実データは扱いません。",
            en: "Training mode uses a synthetic clinic, the qualification simulator and a virtual card; no real data.",
        },
        kind: SettingKind::Choice { options: TRAINING_OPTIONS },
        default: StaticValue::Text("auto"),
        example: StaticValue::Text("off"),
        user_settable: true,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::UI_LANGUAGE,
        title: Text { ja: "表示言語", en: "Display language" },
        description: Text {
            ja: "アプリの表示言語です。画面上部のボタンで切り替えると、次回の起動でもその言語で表示します。",
            en: "The language the app shows. Switched with the button at the top; kept across restarts.",
        },
        kind: SettingKind::Choice { options: LANGUAGE_OPTIONS },
        default: StaticValue::Text("ja"),
        example: StaticValue::Text("ja"),
        user_settable: true,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::LARGE_TEXT,
        title: Text { ja: "文字を大きく表示する", en: "Large text" },
        description: Text {
            ja: "文字とボタンを大きく表示します。画面上部の「文字 大」で切り替えると、次回の起動でも大きいままです。",
            en: "Show larger text and buttons. Switched with \"Large text\" at the top; kept across restarts.",
        },
        kind: SettingKind::Bool,
        default: StaticValue::Bool(false),
        example: StaticValue::Bool(true),
        user_settable: true,
        recommendable: true,
        secret: false,
    },
    SettingDef {
        key: key::RELAY_CERTIFICATE_PINS,
        title: Text { ja: "リレー証明書のピン", en: "Relay certificate pins" },
        description: Text {
            ja: "リレーのTLS証明書の公開鍵ハッシュ(sha256/…)です。設定するといずれかに一致しない接続を拒否します。",
            en: "Public-key hashes (sha256/…) of the relay's TLS certificate. When set, connections matching none are refused.",
        },
        kind: SettingKind::TextList { format: TextFormat::CertificatePin },
        default: StaticValue::List(&[]),
        example: StaticValue::List(&["sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]),
        user_settable: false,
        recommendable: false,
        secret: false,
    },
    SettingDef {
        key: key::REMOTE_WIPE,
        title: Text { ja: "リモート消去", en: "Remote wipe" },
        description: Text {
            ja: "オンにすると、端末内のデータと鍵をすべて消去して登録前の状態に戻します。オンの間は再登録できません。",
            en: "When on, all data and keys on the device are erased and it returns to enrollment. It cannot re-enroll while this is on.",
        },
        kind: SettingKind::Bool,
        default: StaticValue::Bool(false),
        example: StaticValue::Bool(false),
        user_settable: false,
        recommendable: false,
        secret: false,
    },
];

/// Look a setting up by key.
pub fn setting(key: &str) -> Option<&'static SettingDef> {
    SETTINGS.iter().find(|d| d.key == key)
}

/// Why a value was not accepted. Messages in Japanese and English, each saying what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ValueProblem {
    WrongType { expected: &'static str },
    OutOfRange { min: i64, max: i64 },
    NotAChoice { allowed: Vec<&'static str> },
    EmptySelection,
    BadUrl,
    InsecureUrl,
    BadInstitutionCode { ja: String, en: String },
    BadEnrollmentCode,
    BadCertificatePin,
    BadPublicKey,
}

impl ValueProblem {
    pub fn message_ja(&self) -> String {
        match self {
            Self::WrongType { expected } => format!("値の種類が違います({}が必要です)。", expected_ja(expected)),
            Self::OutOfRange { min, max } => format!("値が範囲外です。{min}〜{max}の整数を指定してください。"),
            Self::NotAChoice { allowed } => {
                format!("指定できない値です。次のいずれかを指定してください: {}", allowed.join(", "))
            }
            Self::EmptySelection => "少なくとも1つを選んでください。".into(),
            Self::BadUrl => "URLとして読み取れません。https:// で始まるURLを指定してください。".into(),
            Self::InsecureUrl => "暗号化されていないURLは使えません。https:// で始まるURLを指定してください。".into(),
            Self::BadInstitutionCode { ja, .. } => ja.clone(),
            Self::BadEnrollmentCode => {
                "登録コードの形式が違います(英数字とハイフン8〜64文字)。管理画面で発行したコードを確認してください。"
                    .into()
            }
            Self::BadCertificatePin => {
                "証明書ピンの形式が違います。sha256/ に続けて32バイトのハッシュをBase64で指定してください。".into()
            }
            Self::BadPublicKey => {
                "公開鍵として読み取れません。DER形式のSubjectPublicKeyInfoをBase64で指定してください(PEMの見出し行は不要です)。".into()
            }
        }
    }
    pub fn message_en(&self) -> String {
        match self {
            Self::WrongType { expected } => format!("Wrong type of value: expected {expected}."),
            Self::OutOfRange { min, max } => format!("Out of range: give a whole number from {min} to {max}."),
            Self::NotAChoice { allowed } => format!("Not an allowed value. Use one of: {}", allowed.join(", ")),
            Self::EmptySelection => "Choose at least one.".into(),
            Self::BadUrl => "Not a URL. Give a URL starting with https://.".into(),
            Self::InsecureUrl => "Unencrypted URLs are not allowed. Give a URL starting with https://.".into(),
            Self::BadInstitutionCode { en, .. } => {
                format!("Invalid medical institution code ({en}). Check the 10-digit code.")
            }
            Self::BadEnrollmentCode => {
                "Invalid enrollment code (8-64 letters, digits and hyphens). Check the code issued in the back office."
                    .into()
            }
            Self::BadCertificatePin => {
                "Invalid certificate pin. Use sha256/ followed by the base64 of a 32-byte hash.".into()
            }
            Self::BadPublicKey => {
                "Not a public key. Give the base64 of a DER SubjectPublicKeyInfo (without the PEM header lines).".into()
            }
        }
    }
}

fn expected_ja(expected: &str) -> &'static str {
    match expected {
        "a boolean" => "真偽値(true/false)",
        "a whole number" => "整数",
        "text" => "文字列",
        "a list of text" => "文字列の一覧",
        _ => "正しい種類の値",
    }
}

/// Check and normalise a raw value from any source (JSON file, plist, registry, Android bundle).
///
/// Lenient where platforms differ: booleans may come as 0/1 (registry DWORD) or "true"/"false"
/// (AppConfig strings), integers as numeric strings, lists as arrays or comma-separated text
/// (Android has no free-text list type).
pub fn coerce(def: &SettingDef, raw: &serde_json::Value) -> Result<SettingValue, ValueProblem> {
    use serde_json::Value as J;
    match def.kind {
        SettingKind::Bool => match raw {
            J::Bool(b) => Ok(SettingValue::Bool(*b)),
            J::Number(n) if n.as_i64() == Some(0) => Ok(SettingValue::Bool(false)),
            J::Number(n) if n.as_i64() == Some(1) => Ok(SettingValue::Bool(true)),
            J::String(s) if s.eq_ignore_ascii_case("true") => Ok(SettingValue::Bool(true)),
            J::String(s) if s.eq_ignore_ascii_case("false") => Ok(SettingValue::Bool(false)),
            _ => Err(ValueProblem::WrongType { expected: "a boolean" }),
        },
        SettingKind::Integer { min, max } => {
            let n = match raw {
                J::Number(n) => n.as_i64(),
                J::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or(ValueProblem::WrongType { expected: "a whole number" })?;
            if n < min || n > max {
                return Err(ValueProblem::OutOfRange { min, max });
            }
            Ok(SettingValue::Integer(n))
        }
        SettingKind::Text { format } => {
            let J::String(s) = raw else { return Err(ValueProblem::WrongType { expected: "text" }) };
            check_text(format, s).map(SettingValue::Text)
        }
        SettingKind::Choice { options } => {
            let J::String(s) = raw else { return Err(ValueProblem::WrongType { expected: "text" }) };
            let s = s.trim();
            match options.iter().find(|o| o.value == s) {
                Some(o) => Ok(SettingValue::Text(o.value.to_string())),
                None => Err(ValueProblem::NotAChoice { allowed: options.iter().map(|o| o.value).collect() }),
            }
        }
        SettingKind::MultiChoice { options } => {
            let items = list_items(raw)?;
            let mut out: Vec<String> = Vec::new();
            for s in items {
                match options.iter().find(|o| o.value == s) {
                    Some(o) if !out.iter().any(|v| v == o.value) => out.push(o.value.to_string()),
                    Some(_) => {}
                    None => {
                        return Err(ValueProblem::NotAChoice { allowed: options.iter().map(|o| o.value).collect() });
                    }
                }
            }
            if out.is_empty() {
                return Err(ValueProblem::EmptySelection);
            }
            Ok(SettingValue::List(out))
        }
        SettingKind::TextList { format } => {
            let items = list_items(raw)?;
            let mut out = Vec::new();
            for s in items {
                out.push(check_text(format, &s)?);
            }
            Ok(SettingValue::List(out))
        }
    }
}

fn list_items(raw: &serde_json::Value) -> Result<Vec<String>, ValueProblem> {
    use serde_json::Value as J;
    let wrong = ValueProblem::WrongType { expected: "a list of text" };
    match raw {
        J::Array(a) => a.iter().map(|v| v.as_str().map(|s| s.trim().to_string()).ok_or(wrong.clone())).collect(),
        J::String(s) => Ok(s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()),
        _ => Err(wrong),
    }
}

fn check_text(format: TextFormat, s: &str) -> Result<String, ValueProblem> {
    let s = s.trim();
    match format {
        TextFormat::RelayUrl => {
            let u = url::Url::parse(s).map_err(|_| ValueProblem::BadUrl)?;
            if u.host_str().is_none_or(str::is_empty) {
                return Err(ValueProblem::BadUrl);
            }
            let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            match u.scheme() {
                "https" | "wss" => Ok(s.to_string()),
                "http" | "ws" if loopback => Ok(s.to_string()),
                "http" | "ws" => Err(ValueProblem::InsecureUrl),
                _ => Err(ValueProblem::BadUrl),
            }
        }
        TextFormat::InstitutionCode => match MedicalInstitutionCode::parse_valid(s) {
            Ok(c) => Ok(c.as_str().to_string()),
            Err(e) => Err(ValueProblem::BadInstitutionCode { ja: e.message_ja(), en: e.to_string() }),
        },
        TextFormat::EnrollmentCode => {
            let ok = (8..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if ok { Ok(s.to_ascii_uppercase()) } else { Err(ValueProblem::BadEnrollmentCode) }
        }
        TextFormat::CertificatePin => {
            use base64::Engine;
            let hash = s.strip_prefix("sha256/").ok_or(ValueProblem::BadCertificatePin)?;
            let bytes =
                base64::engine::general_purpose::STANDARD.decode(hash).map_err(|_| ValueProblem::BadCertificatePin)?;
            if bytes.len() != 32 {
                return Err(ValueProblem::BadCertificatePin);
            }
            Ok(s.to_string())
        }
        TextFormat::PublicKey => {
            use base64::Engine;
            let compact: String = s.split_whitespace().collect();
            let der =
                base64::engine::general_purpose::STANDARD.decode(&compact).map_err(|_| ValueProblem::BadPublicKey)?;
            spki::SubjectPublicKeyInfoRef::try_from(der.as_slice()).map_err(|_| ValueProblem::BadPublicKey)?;
            Ok(compact)
        }
    }
}
