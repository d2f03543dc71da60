//! The device lifecycle (decision 9): 未登録 → 登録済み → (消去) → 未登録.
//!
//! Layout of the app data directory this owns:
//!
//! - `device.json` — lifecycle state (no patient data, no secrets). The only file a wipe keeps.
//! - `device-key.json` — the device's Ed25519 signing seed, wrapped by the keystore.
//! - `store/` — the encrypted [`Store`] (database, WAL, wrapped data key).
//! - anything else the app or the sync client puts there (content keys, caches, user settings):
//!   a wipe erases it all.
//!
//! Seams: [`EnrollmentExchange`] (the sync client redeems the one-time code at the relay),
//! [`DeviceLifecycle::relay_reports`] (the sync client reports a revoked device),
//! [`DeviceLifecycle::sync_succeeded`] (the sync client reports a completed catch-up, which
//! resets the offline-data TTL), and [`DeviceKeystore::erase`] (the shell deletes its OS keystore
//! entry).

use super::resolve::{EffectiveSettings, TrainingMode};
use crate::error::CoreError;
use crate::model::{Actor, ClinicId, DeviceId, StaffId};
use crate::store::audit::{self, AuditAction};
use crate::store::keys::{DataKey, FileFallback, KEY_FILE, KeyWrapper, write_private};
use crate::store::{Store, StoreOptions};
use chrono::{DateTime, Duration, Utc};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::Zeroize;

pub const STATE_FILE: &str = "device.json";
pub const DEVICE_KEY_FILE: &str = "device-key.json";
pub const STORE_DIR: &str = "store";
/// Where the shell should keep the user's own setting values (erased by a wipe).
pub const USER_SETTINGS_FILE: &str = "user-settings.json";

/// A keystore that can also forget its wrapping key (the shell's Android Keystore / Keychain /
/// DPAPI wrapper). Erasing the keystore entry makes every wrapped key on disk useless even if a
/// copy of the files survived on flash.
pub trait DeviceKeystore: KeyWrapper + Send {
    fn erase(&self) -> crate::Result<()>;
}

impl DeviceKeystore for FileFallback {
    /// Nothing to forget: the key lives only in the files the wipe overwrites and deletes.
    fn erase(&self) -> crate::Result<()> {
        Ok(())
    }
}

/// Why a device was wiped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WipeReason {
    /// The `remoteWipe` managed setting is on.
    Policy,
    /// The relay reports this device as revoked (lost or retired in the back office).
    RelayRevoked,
}

impl WipeReason {
    pub fn message(self) -> (&'static str, &'static str) {
        match self {
            Self::Policy => (
                "管理者の指示(リモート消去)により、この端末のデータと鍵を消去しました。端末を再登録するには管理者に連絡してください。",
                "This device's data and keys were erased by your administrator (remote wipe). Contact your administrator to enroll it again.",
            ),
            Self::RelayRevoked => (
                "この端末の登録が取り消されたため、データと鍵を消去しました。引き続き使う場合は、新しい登録コードで再登録してください。",
                "This device's enrollment was revoked, so its data and keys were erased. To keep using it, enroll again with a new code.",
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipeRecord {
    pub reason: WipeReason,
    pub at: DateTime<Utc>,
}

/// What the device knows about its enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub device_id: DeviceId,
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    pub institution_code: Option<String>,
    pub relay_url: String,
    pub enrolled_at: DateTime<Utc>,
    /// Last completed catch-up with the relay (the TTL counts from here, or from enrollment).
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Last time stale patient data was purged.
    pub purged_at: Option<DateTime<Utc>>,
}

/// The lifecycle state, persisted in `device.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LifecycleState {
    /// 未登録: the enrollment screen (or training mode).
    Unenrolled { last_wipe: Option<WipeRecord> },
    /// 登録済み.
    Enrolled(Enrollment),
    /// A wipe started and has not finished (crash, power loss): it is finished on next open.
    Wiping { reason: WipeReason, started_at: DateTime<Utc> },
}

/// What the relay says about this device (reported by the sync client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayDeviceStatus {
    Active,
    Revoked,
}

/// The one-time code exchange, implemented by the sync client against the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRequest {
    pub relay_url: String,
    pub code: String,
    pub device_id: DeviceId,
    /// Ed25519 public key the relay will verify this device's signatures with.
    pub device_public_key: [u8; 32],
    /// Pins the TLS connection must match (empty: normal certificate validation only).
    pub certificate_pins: Vec<String>,
    /// The managed 医療機関コード, if set: the relay must confirm the code belongs to it.
    pub institution_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentGrant {
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    pub institution_code: Option<String>,
}

/// Why enrollment did not happen. Each has a Japanese and English message with the next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum EnrollmentError {
    #[error("登録コードが無効です。")]
    CodeRejected,
    #[error("同期サーバーに接続できません。")]
    Unreachable,
    #[error("登録コードと医療機関コードが一致しません。")]
    InstitutionMismatch,
    #[error("同期サーバーのURLが設定されていません。")]
    NoRelayUrl,
    #[error("リモート消去が有効なため登録できません。")]
    WipeRequested,
    #[error("すでに登録されています。")]
    AlreadyEnrolled,
    #[error("端末に保存できません。")]
    Storage,
}

impl EnrollmentError {
    pub fn message(&self) -> (&'static str, &'static str) {
        match self {
            Self::CodeRejected => (
                "登録コードが無効か、すでに使われています。管理画面で新しいコードを発行して入力してください。",
                "The enrollment code is invalid or already used. Issue a new code in the back office and enter it.",
            ),
            Self::Unreachable => (
                "同期サーバーに接続できません。ネットワークを確認して、もう一度お試しください。",
                "Cannot reach the relay. Check the network and try again.",
            ),
            Self::InstitutionMismatch => (
                "この登録コードは設定された医療機関コードのものではありません。管理者に確認してください。",
                "This enrollment code is not for the configured medical institution code. Ask your administrator.",
            ),
            Self::NoRelayUrl => (
                "同期サーバーのURLが設定されていません。URLを入力するか、管理者に設定を依頼してください。",
                "No relay URL is configured. Enter it, or ask your administrator to set it.",
            ),
            Self::WipeRequested => (
                "管理者がリモート消去を指示しているため、この端末は登録できません。管理者に連絡してください。",
                "Your administrator has requested a remote wipe, so this device cannot be enrolled. Contact your administrator.",
            ),
            Self::AlreadyEnrolled => ("この端末はすでに登録されています。", "This device is already enrolled."),
            Self::Storage => (
                "登録情報を端末に保存できませんでした。空き容量を確認してもう一度お試しください。",
                "Could not save the enrollment on this device. Check free storage and try again.",
            ),
        }
    }
}

pub trait EnrollmentExchange {
    fn redeem(&mut self, request: &EnrollmentRequest) -> Result<EnrollmentGrant, EnrollmentError>;
}

/// Something the lifecycle did (or needs), for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LifecycleEvent {
    FinishedInterruptedWipe {
        reason: WipeReason,
    },
    Wiped {
        reason: WipeReason,
    },
    Enrolled {
        device_id: DeviceId,
        clinic_name: String,
    },
    EnrollmentFailed {
        error: EnrollmentError,
    },
    /// Show the enrollment screen.
    NeedsEnrollment,
    /// Run the embedded training clinic (訓練モード).
    TrainingMode,
    /// Remote wipe is on: stay unenrolled and say so.
    WipeHeld,
    PurgedStaleData {
        charts: usize,
        rosters: usize,
        days_without_sync: i64,
    },
}

/// How long until stale data is purged (for a warning banner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TtlStatus {
    Disabled,
    NotEnrolled,
    /// Purge happens at `purge_at` unless a sync succeeds first.
    Counting {
        purge_at: DateTime<Utc>,
        days_left: i64,
    },
    Due,
}

/// What a TTL purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub charts: usize,
    pub rosters: usize,
}

/// The device: its lifecycle state, its keys and its store.
pub struct DeviceLifecycle {
    dir: PathBuf,
    keystore: Box<dyn DeviceKeystore>,
    state: LifecycleState,
    store: Option<Store>,
    store_options: StoreOptions,
}

impl std::fmt::Debug for DeviceLifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceLifecycle").field("dir", &self.dir).field("state", &self.state).finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct DeviceKeyFile {
    device_id: DeviceId,
    wrapped_seed_hex: String,
}

impl DeviceLifecycle {
    /// Open the app data directory; finishes a wipe that was interrupted.
    pub fn open(dir: &Path, keystore: Box<dyn DeviceKeystore>) -> crate::Result<(Self, Vec<LifecycleEvent>)> {
        std::fs::create_dir_all(dir)?;
        let state = match std::fs::read(dir.join(STATE_FILE)) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|_| CoreError::InvalidInput { field: "device.json", reason: "unreadable lifecycle state" })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LifecycleState::Unenrolled { last_wipe: None },
            Err(e) => return Err(e.into()),
        };
        let mut me =
            Self { dir: dir.to_path_buf(), keystore, state, store: None, store_options: StoreOptions::default() };
        let mut events = Vec::new();
        if let LifecycleState::Wiping { reason, .. } = me.state {
            me.finish_wipe(reason, Utc::now())?;
            events.push(LifecycleEvent::FinishedInterruptedWipe { reason });
        }
        Ok((me, events))
    }

    pub fn state(&self) -> &LifecycleState {
        &self.state
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn enrollment(&self) -> Option<&Enrollment> {
        match &self.state {
            LifecycleState::Enrolled(e) => Some(e),
            _ => None,
        }
    }

    /// Where the shell keeps the user's own setting values (see `PolicyEngine::new`).
    pub fn user_settings_path(&self) -> PathBuf {
        self.dir.join(USER_SETTINGS_FILE)
    }

    pub fn store_dir(&self) -> PathBuf {
        self.dir.join(STORE_DIR)
    }

    /// The store, opened on first use; `None` while not enrolled.
    pub fn store(&mut self) -> crate::Result<Option<&mut Store>> {
        if self.enrollment().is_none() {
            return Ok(None);
        }
        if self.store.is_none() {
            self.store = Some(Store::open_with(&self.store_dir(), self.keystore.as_ref(), self.store_options.clone())?);
        }
        Ok(self.store.as_mut())
    }

    /// The device's signing key (for the sync client). `None` while not enrolled.
    pub fn device_signing_key(&self) -> crate::Result<Option<Ed25519KeyPair>> {
        if self.enrollment().is_none() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(self.dir.join(DEVICE_KEY_FILE))?;
        let f: DeviceKeyFile = serde_json::from_str(&text).map_err(|_| CoreError::WrongKey)?;
        let mut blob = hex::decode(&f.wrapped_seed_hex).map_err(|_| CoreError::WrongKey)?;
        let seed = self.keystore.unwrap(&blob);
        blob.zeroize();
        let seed = seed?;
        Ed25519KeyPair::from_seed_unchecked(seed.as_bytes()).map(Some).map_err(|_| CoreError::Crypto)
    }

    /// Apply the current settings: at start and after every policy change. Wipes when
    /// `remoteWipe` is on, enrolls with a managed enrollment code when not yet enrolled, and
    /// purges patient data not synced for `offlineDataTtlDays`.
    pub fn apply(
        &mut self,
        settings: &EffectiveSettings,
        exchange: Option<&mut dyn EnrollmentExchange>,
        now: DateTime<Utc>,
    ) -> crate::Result<Vec<LifecycleEvent>> {
        let mut events = Vec::new();
        if settings.remote_wipe {
            if matches!(self.state, LifecycleState::Enrolled(_)) {
                self.wipe(WipeReason::Policy, now)?;
                events.push(LifecycleEvent::Wiped { reason: WipeReason::Policy });
            }
            events.push(LifecycleEvent::WipeHeld);
            return Ok(events);
        }
        if matches!(self.state, LifecycleState::Unenrolled { .. }) {
            match (&settings.enrollment_code, exchange) {
                (Some(code), Some(ex)) => match self.enroll(settings, code, ex, now) {
                    Ok(e) => events
                        .push(LifecycleEvent::Enrolled { device_id: e.device_id, clinic_name: e.clinic_name.clone() }),
                    Err(error) => {
                        events.push(LifecycleEvent::EnrollmentFailed { error });
                        events.push(LifecycleEvent::NeedsEnrollment);
                    }
                },
                _ if settings.training_mode != TrainingMode::Off => events.push(LifecycleEvent::TrainingMode),
                _ => events.push(LifecycleEvent::NeedsEnrollment),
            }
            return Ok(events);
        }
        if let Some(ev) = self.purge_if_stale(settings.offline_data_ttl_days, now)? {
            events.push(ev);
        }
        Ok(events)
    }

    /// Enroll with a one-time code (from MDM, or typed on the enrollment screen).
    pub fn enroll(
        &mut self,
        settings: &EffectiveSettings,
        code: &str,
        exchange: &mut dyn EnrollmentExchange,
        now: DateTime<Utc>,
    ) -> Result<&Enrollment, EnrollmentError> {
        if settings.remote_wipe {
            return Err(EnrollmentError::WipeRequested);
        }
        if !matches!(self.state, LifecycleState::Unenrolled { .. }) {
            return Err(EnrollmentError::AlreadyEnrolled);
        }
        let relay_url = settings.relay_url.clone().ok_or(EnrollmentError::NoRelayUrl)?;
        let device_id = DeviceId::new();
        let seed = DataKey::random().map_err(|_| EnrollmentError::Storage)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.as_bytes()).map_err(|_| EnrollmentError::Storage)?;
        let mut public = [0u8; 32];
        public.copy_from_slice(pair.public_key().as_ref());
        let request = EnrollmentRequest {
            relay_url: relay_url.clone(),
            code: code.trim().to_ascii_uppercase(),
            device_id,
            device_public_key: public,
            certificate_pins: settings.relay_certificate_pins.clone(),
            institution_code: settings.institution_code.as_ref().map(|c| c.as_str().to_string()),
        };
        let grant = exchange.redeem(&request)?;
        if let (Some(want), Some(got)) = (&request.institution_code, &grant.institution_code)
            && want != got
        {
            return Err(EnrollmentError::InstitutionMismatch);
        }
        let saved = (|| -> crate::Result<()> {
            let mut blob = self.keystore.wrap(&seed)?;
            let f = DeviceKeyFile { device_id, wrapped_seed_hex: hex::encode(&blob) };
            blob.zeroize();
            let json = serde_json::to_vec_pretty(&f).map_err(|_| CoreError::Crypto)?;
            write_private(&self.dir.join(DEVICE_KEY_FILE), &json)?;
            // Create the encrypted store now, so a keystore problem shows at enrollment.
            self.store = Some(Store::open_with(&self.store_dir(), self.keystore.as_ref(), self.store_options.clone())?);
            Ok(())
        })();
        if saved.is_err() {
            self.store = None;
            let _ = erase_dir_contents(&self.dir);
            return Err(EnrollmentError::Storage);
        }
        let enrollment = Enrollment {
            device_id,
            clinic_id: grant.clinic_id,
            clinic_name: grant.clinic_name,
            institution_code: grant.institution_code.or(request.institution_code),
            relay_url,
            enrolled_at: now,
            last_sync_at: None,
            purged_at: None,
        };
        self.set_state(LifecycleState::Enrolled(enrollment)).map_err(|_| EnrollmentError::Storage)?;
        self.enrollment().ok_or(EnrollmentError::Storage)
    }

    /// The sync client completed a catch-up with the relay: the TTL restarts.
    pub fn sync_succeeded(&mut self, at: DateTime<Utc>) -> crate::Result<()> {
        if let LifecycleState::Enrolled(e) = &self.state {
            let mut e = e.clone();
            e.last_sync_at = Some(at);
            self.set_state(LifecycleState::Enrolled(e))?;
        }
        Ok(())
    }

    /// The sync client reports what the relay says about this device. `Revoked` wipes.
    pub fn relay_reports(
        &mut self,
        status: RelayDeviceStatus,
        now: DateTime<Utc>,
    ) -> crate::Result<Option<LifecycleEvent>> {
        if status == RelayDeviceStatus::Revoked && matches!(self.state, LifecycleState::Enrolled(_)) {
            self.wipe(WipeReason::RelayRevoked, now)?;
            return Ok(Some(LifecycleEvent::Wiped { reason: WipeReason::RelayRevoked }));
        }
        Ok(None)
    }

    /// Erase all local data and keys and return to the enrollment state. Crash-safe: the
    /// `Wiping` state is written first, and finished on the next open if interrupted.
    pub fn wipe(&mut self, reason: WipeReason, now: DateTime<Utc>) -> crate::Result<()> {
        self.set_state(LifecycleState::Wiping { reason, started_at: now })?;
        self.finish_wipe(reason, now)
    }

    fn finish_wipe(&mut self, reason: WipeReason, now: DateTime<Utc>) -> crate::Result<()> {
        // Close the database before its files go.
        self.store = None;
        self.keystore.erase()?;
        erase_dir_contents(&self.dir)?;
        self.set_state(LifecycleState::Unenrolled { last_wipe: Some(WipeRecord { reason, at: now }) })
    }

    /// Days left before stale data is purged, for a warning banner.
    pub fn ttl_status(&self, ttl_days: u32, now: DateTime<Utc>) -> TtlStatus {
        let Some(e) = self.enrollment() else { return TtlStatus::NotEnrolled };
        if ttl_days == 0 {
            return TtlStatus::Disabled;
        }
        let purge_at = e.last_sync_at.unwrap_or(e.enrolled_at) + Duration::days(i64::from(ttl_days));
        if now >= purge_at {
            TtlStatus::Due
        } else {
            TtlStatus::Counting { purge_at, days_left: (purge_at - now).num_days() }
        }
    }

    /// Purge local patient data when the device has not synced for `ttl_days` (0: never).
    pub fn purge_if_stale(&mut self, ttl_days: u32, now: DateTime<Utc>) -> crate::Result<Option<LifecycleEvent>> {
        if self.ttl_status(ttl_days, now) != TtlStatus::Due {
            return Ok(None);
        }
        let Some(e) = self.enrollment().cloned() else { return Ok(None) };
        let report = self.purge_patient_data(e.device_id, now)?;
        if report.charts == 0 && report.rosters == 0 {
            return Ok(None);
        }
        let mut e2 = e.clone();
        e2.purged_at = Some(now);
        self.set_state(LifecycleState::Enrolled(e2))?;
        Ok(Some(LifecycleEvent::PurgedStaleData {
            charts: report.charts,
            rosters: report.rosters,
            days_without_sync: (now - e.last_sync_at.unwrap_or(e.enrolled_at)).num_days(),
        }))
    }

    /// Delete every chart and roster month (documents, changes, projections) in one
    /// transaction, audited. The clinic document stays, so the device can sync them back.
    /// SQLCipher's `secure_delete` overwrites the freed pages; the WAL is checkpointed.
    fn purge_patient_data(&mut self, device: DeviceId, now: DateTime<Utc>) -> crate::Result<PurgeReport> {
        let Some(store) = self.store()? else { return Ok(PurgeReport { charts: 0, rosters: 0 }) };
        store.clear_cache();
        let conn = store.raw_connection();
        let tx = conn.transaction()?;
        let count = |kind: &str| -> rusqlite::Result<usize> {
            tx.query_row("SELECT count(*) FROM documents WHERE kind = ?1", [kind], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
        };
        let report = PurgeReport { charts: count("chart")?, rosters: count("roster")? };
        if report.charts + report.rosters > 0 {
            tx.execute_batch(
                "DELETE FROM changes WHERE doc_id IN (SELECT doc_id FROM documents WHERE kind IN ('chart', 'roster'));
                 DELETE FROM documents WHERE kind IN ('chart', 'roster');
                 DELETE FROM patients;
                 DELETE FROM roster;
                 DELETE FROM roster_staff;",
            )?;
            // The system acts here, not a staff member: the nil staff id.
            let actor = Actor { staff: StaffId(uuid::Uuid::nil()), device };
            let detail = format!("ttl purge: {} charts, {} roster months", report.charts, report.rosters);
            audit::append(&tx, &actor, AuditAction::Edit, "device", &detail, now)?;
        }
        tx.commit()?;
        if report.charts + report.rosters > 0 {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(report)
    }

    fn set_state(&mut self, state: LifecycleState) -> crate::Result<()> {
        let json = serde_json::to_vec_pretty(&state).map_err(|_| CoreError::Crypto)?;
        write_private(&self.dir.join(STATE_FILE), &json)?;
        self.state = state;
        Ok(())
    }
}

/// Delete everything in `dir` except the lifecycle state file. Key files are overwritten with
/// zeros first (the store's files are ciphertext; its key is what must not survive).
fn erase_dir_contents(dir: &Path) -> std::io::Result<()> {
    for p in [dir.join(DEVICE_KEY_FILE), dir.join(STORE_DIR).join(KEY_FILE)] {
        overwrite_with_zeros(&p);
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == STATE_FILE {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn overwrite_with_zeros(path: &Path) {
    use std::io::Write;
    let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else { return };
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(path) {
        let _ = f.write_all(&vec![0u8; len as usize]);
        let _ = f.sync_all();
    }
}
