//! Every key and stored code string of the Automerge documents, one module per document.
//! `docs/SCHEMA.md` describes each of them (type, meaning, writer, mutability); a test keeps
//! the two in step. The VALUES are what is stored on devices: never change one (old documents
//! must still load and merge). Add a new key instead.
//!
//! Record maps are keyed by fresh UUIDs (a visit, note, consent … id): those keys are ids, not
//! constants.

/// The patient chart (カルテ): [`crate::ChartDoc`].
pub mod chart {
    // Root.
    /// Document type field (root); its value is [`DOC_TYPE`].
    pub const TYPE: &str = "type";
    /// The `type` of a chart document.
    pub const DOC_TYPE: &str = "chart";
    /// Layout version (root), `1`.
    pub const VERSION: &str = "v";
    /// The patient id (root, 患者ID).
    pub const ID: &str = "id";
    /// Demographics map (患者基本情報).
    pub const PATIENT: &str = "patient";
    /// Qualification results (資格確認結果), keyed by request/result id.
    pub const QUALS: &str = "quals";
    /// Qualification requests to the gateway (再照会・初回確認の依頼), keyed by request id.
    pub const QREQS: &str = "qreqs";
    /// Consent records (同意記録), keyed by consent id.
    pub const CONSENTS: &str = "consents";
    /// Visit records (訪問記録), keyed by visit id.
    pub const VISITS: &str = "visits";
    /// Note versions (診療録・看護記録), keyed by note-version id.
    pub const NOTES: &str = "notes";

    // Demographics (patient, quals/‹id›/demo).
    /// Name (氏名).
    pub const NAME: &str = "name";
    /// Name in kana (カナ氏名).
    pub const KANA: &str = "kana";
    /// Birth date (生年月日), `YYYY-MM-DD` or empty.
    pub const BIRTH: &str = "birth";
    /// Sex (性別) as given by the source.
    pub const SEX: &str = "sex";
    /// Address (住所).
    pub const ADDR: &str = "addr";

    // Registration only (patient/): the care team and contacts, and the end of care.
    /// Phone (電話).
    pub const TEL: &str = "tel";
    /// Key person (キーパーソン).
    pub const KP: &str = "kp";
    /// The key person's phone (キーパーソン連絡先).
    pub const KP_TEL: &str = "kp_tel";
    /// Care manager (ケアマネジャー).
    pub const CM: &str = "cm";
    /// Care management office (居宅介護支援事業所).
    pub const CM_OFFICE: &str = "cm_office";
    /// Attending physician (主治医).
    pub const DOCTOR: &str = "doctor";
    /// What the patient shows for qualification (本人確認書類): one of the `IDOC_*` values.
    pub const IDOC: &str = "idoc";
    /// `idoc`: マイナンバーカード.
    pub const IDOC_CARD: &str = "card";
    /// `idoc`: 資格確認書 (or a still-valid 被保険者証).
    pub const IDOC_CERT: &str = "cert";
    /// Why care ended (終了理由): one of the `END_*` values; absent or empty while in care.
    pub const CARE_END: &str = "care_end";
    /// When care ended (終了日), `YYYY-MM-DD`.
    pub const CARE_END_DATE: &str = "care_end_date";
    /// `care_end`: 死亡.
    pub const END_DEATH: &str = "death";
    /// `care_end`: 入院.
    pub const END_HOSPITAL: &str = "hospital";
    /// `care_end`: 転居.
    pub const END_MOVED: &str = "moved";
    /// `care_end`: 終了.
    pub const END_ENDED: &str = "ended";
    /// Commit-message prefix of a registration change, followed by the staff id: the change
    /// history (変更履歴) is read from the document's own changes.
    pub const MSG_PATIENT: &str = "patient:";

    // Fields shared by several record maps.
    /// Time of the record, ms since the epoch.
    pub const AT: &str = "at";
    /// Staff id of who wrote the record.
    pub const BY: &str = "by";
    /// A code: the failure's error code, or a clinical item's standard code (標準コード).
    pub const CODE: &str = "code";

    // Qualification result (quals/‹id›).
    /// Insurer number (保険者番号).
    pub const INSURER: &str = "insurer";
    /// Card symbol (記号).
    pub const SYMBOL: &str = "symbol";
    /// Card number (番号).
    pub const NUMBER: &str = "number";
    /// Branch number (枝番).
    pub const BRANCH: &str = "branch";
    /// Validity code (資格有効性): one of the `VALIDITY_*` values.
    pub const VALIDITY: &str = "validity";
    /// Co-payment percent (負担割合), when known.
    pub const COPAY: &str = "copay";
    /// Consent to share medication information (薬剤情報の閲覧同意).
    pub const C_MED: &str = "c_med";
    /// Consent to share clinical information (診療情報の閲覧同意).
    pub const C_CLIN: &str = "c_clin";
    /// Consent to share check-up results (特定健診情報の閲覧同意).
    pub const C_CHK: &str = "c_chk";
    /// Consent to share surgery information (手術情報の閲覧同意).
    pub const C_SURG: &str = "c_surg";
    /// Date the consent was given (同意日), `YYYY-MM-DD`.
    pub const C_DATE: &str = "c_date";
    /// Date the consent is valid until (同意有効期限), `YYYY-MM-DD`.
    pub const C_UNTIL: &str = "c_until";
    /// Demographics as returned with the result.
    pub const DEMO: &str = "demo";

    // Validity codes (資格有効性).
    /// 有効.
    pub const VALIDITY_VALID: &str = "valid";
    /// 無効.
    pub const VALIDITY_INVALID: &str = "invalid";
    /// 無効（新しい資格あり）.
    pub const VALIDITY_INVALID_NEWER: &str = "invalid_newer";
    /// 該当資格なし.
    pub const VALIDITY_NOT_FOUND: &str = "notfound";
    /// 不明 (also what any other stored value reads as).
    pub const VALIDITY_UNKNOWN: &str = "unknown";

    // Qualification request (qreqs/‹id›).
    /// Whether the gateway has answered (回答済み).
    pub const ANSWERED: &str = "answered";
    /// The question, as JSON of `QualificationQuery` (absent for a plain 再照会).
    pub const QUERY: &str = "query";
    /// The gateway's refusal or error, a map.
    pub const FAILURE: &str = "failure";
    /// Failure message in Japanese.
    pub const JA: &str = "ja";
    /// Failure message in English.
    pub const EN: &str = "en";

    // Consent record (consents/‹id›).
    /// Device id the consent was taken on.
    pub const DEVICE: &str = "device";
    /// Medication information (薬剤情報).
    pub const MED: &str = "med";
    /// Clinical information (診療情報).
    pub const CLIN: &str = "clin";
    /// Check-up results (特定健診情報).
    pub const CHK: &str = "chk";
    /// Surgery information (手術情報).
    pub const SURG: &str = "surg";
    /// Prescription form (処方箋の種類): `RX_ELECTRONIC` or `RX_PAPER`.
    pub const RX: &str = "rx";
    /// Identity confirmation (本人確認): `IDENT_PIN` or `IDENT_VISUAL`.
    pub const IDENT: &str = "ident";
    /// Nonce the consent signature covers, hex.
    pub const NONCE: &str = "nonce";
    /// Whether this record revokes consent (同意の撤回).
    pub const REVOKE: &str = "revoke";
    /// Signature, hex (電子署名).
    pub const SIG: &str = "sig";
    /// Signing certificate, hex.
    pub const CERT: &str = "cert";
    /// 電子処方箋.
    pub const RX_ELECTRONIC: &str = "electronic";
    /// 紙の処方箋 (any other stored value reads as electronic).
    pub const RX_PAPER: &str = "paper";
    /// 暗証番号 (any other stored value reads as visual).
    pub const IDENT_PIN: &str = "pin";
    /// 目視確認.
    pub const IDENT_VISUAL: &str = "visual";

    // Visit record (visits/‹id›).
    /// Visit kind: one of the `KIND_*` values (訪問種別).
    pub const KIND: &str = "kind";
    /// Staff id of who made the visit.
    pub const STAFF: &str = "staff";
    /// Arrival (訪問開始), ms.
    pub const ARR: &str = "arr";
    /// Departure (訪問終了), ms.
    pub const DEP: &str = "dep";
    /// Vitals map (バイタル).
    pub const VITALS: &str = "vitals";
    /// Clinical items map (傷病名・アレルギー・薬剤禁忌・感染症), keyed by item id.
    pub const ITEMS: &str = "items";

    // Visit kinds (訪問種別); also stored in the roster month.
    /// 訪問診療.
    pub const KIND_HOME: &str = "home";
    /// 往診 (`VisitKind::UrgentCall`). The stored code "oushin" is kept for document
    /// compatibility. Any unknown value reads as 訪問診療.
    pub const KIND_URGENT_CALL: &str = "oushin";
    /// 訪問看護.
    pub const KIND_NURSING: &str = "nursing";

    // Vitals (visits/‹id›/vitals).
    /// Systolic blood pressure (収縮期血圧), mmHg.
    pub const SYS: &str = "sys";
    /// Diastolic blood pressure (拡張期血圧), mmHg.
    pub const DIA: &str = "dia";
    /// Pulse (脈拍), /min.
    pub const PULSE: &str = "pulse";
    /// Oxygen saturation (SpO2), %.
    pub const SPO2: &str = "spo2";
    /// Respiration rate (呼吸数), /min.
    pub const RESP: &str = "resp";
    /// Body temperature (体温), °C.
    pub const TEMP: &str = "temp";
    /// Weight (体重), kg.
    pub const WEIGHT: &str = "weight";

    // Clinical item (visits/‹id›/items/‹id›).
    /// Which list: one of the `LIST_*` values.
    pub const LIST: &str = "list";
    /// The entry's text.
    pub const LABEL: &str = "label";
    /// 傷病名.
    pub const LIST_DIAGNOSES: &str = "diagnoses";
    /// アレルギー.
    pub const LIST_ALLERGIES: &str = "allergies";
    /// 薬剤禁忌.
    pub const LIST_CONTRAINDICATIONS: &str = "contraindications";
    /// 感染症.
    pub const LIST_INFECTIONS: &str = "infections";

    // Note version (notes/‹id›).
    /// Id of the first version of this note (the thread all its corrections share).
    pub const THREAD: &str = "thread";
    /// Version number, 1 for the first.
    pub const VER: &str = "ver";
    /// Visit id the note belongs to.
    pub const VISIT: &str = "visit";
    /// Staff id of the author (記載者).
    pub const AUTHOR: &str = "author";
    /// When this version was created, ms.
    pub const CREATED: &str = "created";
    /// `STATUS_DRAFT` or `STATUS_SIGNED`.
    pub const STATUS: &str = "status";
    /// Id of the version this one corrects (訂正).
    pub const REPLACES: &str = "replaces";
    /// Reason for the correction (訂正理由).
    pub const REASON: &str = "reason";
    /// Staff id of the signer (署名者).
    pub const SIGNED_BY: &str = "signed_by";
    /// When it was signed (署名日時), ms.
    pub const SIGNED_AT: &str = "signed_at";
    /// SHA-256 of the body at signing, hex.
    pub const HASH: &str = "hash";
    /// S: subjective (主観的情報).
    pub const S: &str = "s";
    /// O: objective (客観的情報).
    pub const O: &str = "o";
    /// A: assessment (評価).
    pub const A: &str = "a";
    /// P: plan (計画).
    pub const P: &str = "p";
    /// 下書き.
    pub const STATUS_DRAFT: &str = "draft";
    /// 署名済み.
    pub const STATUS_SIGNED: &str = "signed";
    /// Not stored: the last segment of the conflict path `notes/‹id›/corrections` that flags
    /// two corrections of the same version.
    pub const CORRECTIONS: &str = "corrections";
}

/// A roster month (月間訪問予定): [`crate::RosterMonthDoc`].
pub mod roster {
    /// Document type field (root); its value is [`DOC_TYPE`].
    pub const TYPE: &str = "type";
    /// The `type` of a roster month document.
    pub const DOC_TYPE: &str = "roster";
    /// Layout version (root), `1`.
    pub const VERSION: &str = "v";
    /// The month, `YYYY-MM` (対象月).
    pub const MONTH: &str = "month";
    /// Planned visits (訪問予定), keyed by visit id.
    pub const VISITS: &str = "visits";

    // Planned visit (visits/‹id›).
    /// Date (訪問日), `YYYY-MM-DD`.
    pub const DATE: &str = "date";
    /// Start of the time window (開始時刻), `HH:MM`.
    pub const START: &str = "start";
    /// End of the time window (終了時刻), `HH:MM`.
    pub const END: &str = "end";
    /// Patient id (患者ID).
    pub const PATIENT: &str = "patient";
    /// Visit kind (訪問種別): a chart `KIND_*` code.
    pub const KIND: &str = "kind";
    /// Status (訪問状況): one of the `STATUS_*` values.
    pub const STATUS: &str = "status";
    /// Assigned staff (担当者): a map of staff id → bool, so concurrent assignments merge.
    pub const STAFF: &str = "staff";
    /// Why the visit was cancelled (中止理由), with `status` cancelled.
    pub const REASON: &str = "reason";
    /// The recurring plan (繰り返し予定) the visit came from: one id shared by its visits.
    pub const SERIES: &str = "series";

    // Visit status codes.
    /// 予定 (also what any other stored value reads as).
    pub const STATUS_PLANNED: &str = "planned";
    /// 訪問中.
    pub const STATUS_IN_PROGRESS: &str = "in_progress";
    /// 完了.
    pub const STATUS_DONE: &str = "done";
    /// 中止.
    pub const STATUS_CANCELLED: &str = "cancelled";

    pub use super::chart::{KIND_HOME, KIND_NURSING, KIND_URGENT_CALL};
}

/// A device's published access history (監査ログ): [`crate::AuditDoc`].
pub mod audit {
    /// Document type field (root); its value is [`DOC_TYPE`].
    pub const TYPE: &str = "type";
    /// The `type` of an audit document.
    pub const DOC_TYPE: &str = "audit";
    /// Layout version (root), `1`.
    pub const VERSION: &str = "v";
    /// The device whose history this is (root; relay device id, hex).
    pub const DEVICE: &str = "device";
    /// Entries, keyed by the device's sequence number, zero-padded to 12 digits.
    pub const ENTRIES: &str = "entries";
    /// When (ms since the epoch).
    pub const AT: &str = "at";
    /// Staff id of who acted.
    pub const STAFF: &str = "staff";
    /// What kind of act (`view`, `edit`, `sign`, …).
    pub const ACTION: &str = "action";
    /// On what (`chart:‹id›`, `roster:‹month›`, `session`, …).
    pub const TARGET: &str = "target";
    /// What exactly (a fixed English code, shown in Japanese by the app).
    pub const DETAIL: &str = "detail";
    /// The entry's chain hash on its device (hex).
    pub const HASH: &str = "hash";
}

/// The clinic document (医療機関): [`crate::ClinicDoc`].
pub mod clinic {
    /// Document type field (root); its value is [`DOC_TYPE`].
    pub const TYPE: &str = "type";
    /// The `type` of the clinic document.
    pub const DOC_TYPE: &str = "clinic";
    /// Layout version (root), `1`.
    pub const VERSION: &str = "v";
    /// The clinic id (root).
    pub const ID: &str = "id";
    /// Clinic name (医療機関名) at the root; a staff member's name (氏名) in a staff map.
    pub const NAME: &str = "name";
    /// Institution code (医療機関コード).
    pub const CODE: &str = "code";
    /// Address (所在地), root.
    pub const ADDR: &str = "addr";
    /// Telephone (電話番号), root.
    pub const PHONE: &str = "phone";
    /// Staff (職員), keyed by staff id.
    pub const STAFF: &str = "staff";
    /// Enrolled devices (登録端末), keyed by device id.
    pub const DEVICES: &str = "devices";
    /// Settings (設定), a map (created empty, reserved).
    pub const SETTINGS: &str = "settings";

    // Staff member (staff/‹id›).
    /// Role (職種): one of the `ROLE_*` values.
    pub const ROLE: &str = "role";
    /// Whether the staff member may sign in (在職).
    pub const ACTIVE: &str = "active";
    /// Name reading (カナ) of a staff member.
    pub const KANA: &str = "kana";
    /// 資格 and specialty (free text).
    pub const QUALS: &str = "quals";
    /// The PIN set-up in force (map: `ID`, `VERIFIER`, `UNTIL`, `BY`).
    pub const PIN_SETUP: &str = "pin_setup";
    /// Verifier of the one-time PIN set-up code (never the code, never a PIN).
    pub const VERIFIER: &str = "verifier";
    /// When the set-up code expires (ms).
    pub const UNTIL: &str = "until";
    /// The administrator who issued the set-up.
    pub const BY: &str = "by";
    /// 医師.
    pub const ROLE_DOCTOR: &str = "doctor";
    /// 看護師.
    pub const ROLE_NURSE: &str = "nurse";
    /// 事務 (also what any other stored value reads as).
    pub const ROLE_OFFICE: &str = "office";
    /// 管理者.
    pub const ROLE_ADMIN: &str = "admin";

    // Device (devices/‹id›).
    /// Device label (端末名).
    pub const LABEL: &str = "label";
    /// Enrolment time, ms.
    pub const AT: &str = "at";
    /// Whether the device is revoked (失効); a revoked device stays listed.
    pub const REVOKED: &str = "revoked";
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    const SCHEMA: &str = include_str!("../SCHEMA.md");
    const KEYS: &str = include_str!("keys.rs");
    const MODULES: [&str; 4] = ["chart", "roster", "clinic", "audit"];

    /// The values of the `pub const NAME: &str = "value";` lines of `pub mod module` (this file).
    fn constants(module: &str) -> BTreeSet<String> {
        let mut current = None;
        let mut out = BTreeSet::new();
        for line in KEYS.lines().take_while(|l| !l.starts_with("#[cfg(test)]")) {
            let line = line.trim();
            if let Some(m) = line.strip_prefix("pub mod ") {
                current = m.strip_suffix(" {");
            } else if let Some(rest) = line.strip_prefix("pub const ")
                && current == Some(module)
            {
                let (_, value) = rest.split_once(": &str = \"").expect("a &str constant");
                out.insert(value.strip_suffix("\";").expect("one-line constant").to_string());
            }
        }
        out
    }

    /// The part of SCHEMA.md under the `## ` heading naming `keys::module`.
    fn section(module: &str) -> &'static str {
        let marker = format!("(`keys::{module}`)");
        let mut rest = SCHEMA;
        while let Some(i) = rest.find("\n## ") {
            rest = &rest[i + 1..];
            let end = rest[1..].find("\n## ").map_or(rest.len(), |e| e + 1);
            if rest.lines().next().is_some_and(|h| h.contains(&marker)) {
                return &rest[..end];
            }
        }
        panic!("SCHEMA.md has no section for keys::{module}");
    }

    /// The first cell of every table row (below the header) of a section, each `` `value` ``.
    fn table_keys(section: &str) -> BTreeSet<String> {
        let lines: Vec<&str> = section.lines().collect();
        let mut out = BTreeSet::new();
        for (i, line) in lines.iter().enumerate() {
            let is_row = line.starts_with('|');
            let is_separator = line.starts_with("|---");
            let is_header = lines.get(i + 1).is_some_and(|n| n.starts_with("|---"));
            if !is_row || is_separator || is_header {
                continue;
            }
            let cell = line.split('|').nth(1).expect("a cell").trim();
            let key = cell.strip_prefix('`').and_then(|c| c.strip_suffix('`'));
            let key = key.unwrap_or_else(|| panic!("first cell is not one `key`: {line}"));
            out.insert(key.to_string());
        }
        out
    }

    /// The keys named in the section's ```text trees (record ids `‹…›` left out).
    fn tree_keys(section: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut inside = false;
        for line in section.lines() {
            if line.starts_with("```") {
                inside = line == "```text";
                continue;
            }
            if inside {
                for word in line.split_whitespace().filter(|w| !w.starts_with('‹')) {
                    out.insert(word.trim_end_matches('/').to_string());
                }
            }
        }
        out
    }

    #[test]
    fn schema_md_matches_the_constants() {
        for module in MODULES {
            let constants = constants(module);
            assert!(constants.len() > 10, "keys::{module} read from keys.rs: {constants:?}");
            let section = section(module);
            let documented = table_keys(section);
            let undocumented: Vec<_> = constants.difference(&documented).collect();
            let unknown: Vec<_> = documented.difference(&constants).collect();
            assert!(
                undocumented.is_empty() && unknown.is_empty(),
                "SCHEMA.md and keys::{module} drifted: constants missing from its tables {undocumented:?}, \
                 table keys that are no constant {unknown:?}"
            );
            let in_trees = tree_keys(section);
            assert!(!in_trees.is_empty(), "SCHEMA.md has no key tree for keys::{module}");
            let stray: Vec<_> = in_trees.difference(&constants).collect();
            assert!(stray.is_empty(), "SCHEMA.md's tree for keys::{module} names non-constants {stray:?}");
        }
    }

    #[test]
    fn the_values_never_change() {
        // Stored on devices: a renamed value would orphan every existing document.
        use super::{chart, clinic, roster};
        assert_eq!((chart::QREQS, chart::C_MED, chart::SYS, chart::DIA), ("qreqs", "c_med", "sys", "dia"));
        assert_eq!((chart::KIND_HOME, chart::KIND_URGENT_CALL, chart::KIND_NURSING), ("home", "oushin", "nursing"));
        assert_eq!((roster::KIND_URGENT_CALL, roster::STATUS_IN_PROGRESS), ("oushin", "in_progress"));
        assert_eq!((clinic::STAFF, clinic::ROLE_OFFICE), ("staff", "office"));
    }
}
