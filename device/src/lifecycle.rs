//! The device lifecycle (ARCHITECTURE.md, *Devices and trust*): 未登録 → 登録済み → (消去) → 未登録.
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

use chrono::{DateTime, Duration, Utc};
use houmon_keys::{DeviceKeystore, DeviceSigningKey, KEY_FILE, write_private};
use houmon_model::error::CoreError;
use houmon_model::{Actor, ClinicId, DeviceId, StaffId};
use houmon_policy::resolve::{EffectiveSettings, TrainingMode};
use houmon_store::{Store, StoreOptions};
use houmon_sync::SyncIdentity;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "device.json";
pub use houmon_keys::DEVICE_KEY_FILE;
pub const STORE_DIR: &str = "store";
/// Where the shell should keep the user's own setting values (erased by a wipe).
pub const USER_SETTINGS_FILE: &str = "user-settings.json";

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

/// The one-time code exchange, implemented by the sync client against the relay
/// ([`crate::runner::RelayEnrollment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRequest {
    pub relay_url: String,
    pub code: String,
    /// A proposed id; the relay assigns the real one ([`EnrollmentGrant::device_id`]).
    pub device_id: DeviceId,
    /// Ed25519 public key the relay will verify this device's signatures with.
    pub device_public_key: [u8; 32],
    /// Pins the TLS connection must match (empty: normal certificate validation only).
    pub certificate_pins: Vec<String>,
    /// The managed 医療機関コード, if set: the relay must confirm the code belongs to it.
    pub institution_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EnrollmentGrant {
    /// The id the relay knows this device by (signs as).
    pub device_id: DeviceId,
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    pub institution_code: Option<String>,
    /// What the sync client needs (relay identity, clinic content key): saved in the new
    /// encrypted store, never next to it. `None` for exchanges without a relay (tests).
    pub sync: Option<SyncIdentity>,
}

/// Why enrollment did not happen. Each has a Japanese and English message with the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
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
    /// The code carries no clinic content key and is not the clinic's founding code (the
    /// relay refused it, or answered without a key): a second key would split the clinic.
    #[error("この登録コードには医療機関の鍵が含まれていません。")]
    KeylessCode,
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
            Self::KeylessCode => (
                "この登録コードには医療機関の鍵が含まれていません。事務所の管理用端末(管理画面、または houmon-clinic code create)で発行したコードを入力してください。",
                "This enrollment code does not carry the clinic's key. Enter a code issued by the clinic's admin device (back office, or houmon-clinic code create).",
            ),
            Self::Storage => (
                "登録情報を端末に保存できませんでした。空き容量を確認してもう一度お試しください。",
                "Could not save the enrollment on this device. Check free storage and try again.",
            ),
        }
    }
}

pub trait EnrollmentExchange {
    /// Redeem the code for `key` (the new device key: it signs the proof of possession).
    fn redeem(
        &mut self,
        request: &EnrollmentRequest,
        key: &DeviceSigningKey,
    ) -> Result<EnrollmentGrant, EnrollmentError>;
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
    /// The store was handed to the shell ([`DeviceLifecycle::lend_store`]): never open a
    /// second connection; the holder closes it before a wipe.
    lent: bool,
    store_options: StoreOptions,
}

impl std::fmt::Debug for DeviceLifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceLifecycle").field("dir", &self.dir).field("state", &self.state).finish_non_exhaustive()
    }
}

impl DeviceLifecycle {
    /// Open the app data directory; finishes a wipe that was interrupted.
    pub fn open(dir: &Path, keystore: Box<dyn DeviceKeystore>) -> houmon_model::Result<(Self, Vec<LifecycleEvent>)> {
        std::fs::create_dir_all(dir)?;
        let state = match std::fs::read(dir.join(STATE_FILE)) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|_| CoreError::InvalidInput { field: "device.json", reason: "unreadable lifecycle state" })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LifecycleState::Unenrolled { last_wipe: None },
            Err(e) => return Err(e.into()),
        };
        let mut me = Self {
            dir: dir.to_path_buf(),
            keystore,
            state,
            store: None,
            lent: false,
            store_options: StoreOptions::default(),
        };
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

    /// The store, opened on first use; `None` while not enrolled or lent out.
    pub fn store(&mut self) -> houmon_model::Result<Option<&mut Store>> {
        if self.enrollment().is_none() || self.lent {
            return Ok(None);
        }
        if self.store.is_none() {
            self.store = Some(Store::open_with(&self.store_dir(), self.keystore.as_ref(), self.store_options.clone())?);
        }
        Ok(self.store.as_mut())
    }

    /// Hand the store to the shell, which keeps it next to its use cases (one connection per
    /// database). The holder must close it before [`Self::wipe`] and run the TTL purge through
    /// [`Self::purge_if_stale_in`]; [`Self::apply`] no longer purges. `None` while not enrolled.
    /// Lending again (the holder lost or closed it) opens it again.
    pub fn lend_store(&mut self) -> houmon_model::Result<Option<Store>> {
        if self.enrollment().is_none() {
            return Ok(None);
        }
        let store = match self.store.take() {
            Some(s) => s,
            None => Store::open_with(&self.store_dir(), self.keystore.as_ref(), self.store_options.clone())?,
        };
        self.lent = true;
        Ok(Some(store))
    }

    /// The device's signing key: the one key the sync client signs with. `None` while not
    /// enrolled.
    pub fn device_signing_key(&self) -> houmon_model::Result<Option<DeviceSigningKey>> {
        if self.enrollment().is_none() {
            return Ok(None);
        }
        let key = DeviceSigningKey::load(&self.dir.join(DEVICE_KEY_FILE), self.keystore.as_ref())?;
        key.map(|(k, _)| Some(k)).ok_or(CoreError::WrongKey)
    }

    /// Apply the current settings: at start and after every policy change. Wipes when
    /// `remoteWipe` is on, enrolls with a managed enrollment code when not yet enrolled, and
    /// purges patient data not synced for `offlineDataTtlDays`.
    pub fn apply(
        &mut self,
        settings: &EffectiveSettings,
        exchange: Option<&mut dyn EnrollmentExchange>,
        now: DateTime<Utc>,
    ) -> houmon_model::Result<Vec<LifecycleEvent>> {
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
        let (key, seed) = DeviceSigningKey::generate().map_err(|_| EnrollmentError::Storage)?;
        let public = key.public_key();
        let request = EnrollmentRequest {
            relay_url: relay_url.clone(),
            code: code.trim().to_ascii_uppercase(),
            device_id,
            device_public_key: public,
            certificate_pins: settings.relay_certificate_pins.clone(),
            institution_code: settings.institution_code.as_ref().map(|c| c.as_str().to_string()),
        };
        let grant = exchange.redeem(&request, &key)?;
        let device_id = grant.device_id;
        if let (Some(want), Some(got)) = (&request.institution_code, &grant.institution_code)
            && want != got
        {
            return Err(EnrollmentError::InstitutionMismatch);
        }
        let saved = (|| -> houmon_model::Result<()> {
            DeviceSigningKey::save(&self.dir.join(DEVICE_KEY_FILE), self.keystore.as_ref(), &seed, Some(device_id))?;
            // Create the encrypted store now, so a keystore problem shows at enrollment, and
            // put the sync identity (content key) in it.
            let mut store = Store::open_with(&self.store_dir(), self.keystore.as_ref(), self.store_options.clone())?;
            if let Some(sync) = &grant.sync {
                sync.save(&mut store).map_err(|_| CoreError::Crypto)?;
            }
            self.store = Some(store);
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
    pub fn sync_succeeded(&mut self, at: DateTime<Utc>) -> houmon_model::Result<()> {
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
    ) -> houmon_model::Result<Option<LifecycleEvent>> {
        if status == RelayDeviceStatus::Revoked && matches!(self.state, LifecycleState::Enrolled(_)) {
            self.wipe(WipeReason::RelayRevoked, now)?;
            return Ok(Some(LifecycleEvent::Wiped { reason: WipeReason::RelayRevoked }));
        }
        Ok(None)
    }

    /// Erase all local data and keys and return to the enrollment state. Crash-safe: the
    /// `Wiping` state is written first, and finished on the next open if interrupted.
    pub fn wipe(&mut self, reason: WipeReason, now: DateTime<Utc>) -> houmon_model::Result<()> {
        self.set_state(LifecycleState::Wiping { reason, started_at: now })?;
        self.finish_wipe(reason, now)
    }

    fn finish_wipe(&mut self, reason: WipeReason, now: DateTime<Utc>) -> houmon_model::Result<()> {
        // Close the database before its files go (a lent store was closed by its holder).
        self.store = None;
        self.lent = false;
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
    pub fn purge_if_stale(
        &mut self,
        ttl_days: u32,
        now: DateTime<Utc>,
    ) -> houmon_model::Result<Option<LifecycleEvent>> {
        self.purge_stale(None, ttl_days, now)
    }

    /// [`Self::purge_if_stale`] on a lent store.
    pub fn purge_if_stale_in(
        &mut self,
        store: &mut Store,
        ttl_days: u32,
        now: DateTime<Utc>,
    ) -> houmon_model::Result<Option<LifecycleEvent>> {
        self.purge_stale(Some(store), ttl_days, now)
    }

    fn purge_stale(
        &mut self,
        store: Option<&mut Store>,
        ttl_days: u32,
        now: DateTime<Utc>,
    ) -> houmon_model::Result<Option<LifecycleEvent>> {
        if self.ttl_status(ttl_days, now) != TtlStatus::Due {
            return Ok(None);
        }
        let Some(e) = self.enrollment().cloned() else { return Ok(None) };
        // The system acts here, not a staff member: the nil staff id.
        let actor = Actor { staff: StaffId(uuid::Uuid::nil()), device: e.device_id };
        let counts = match store {
            Some(s) => s.purge_patient_data(&actor, now)?,
            None => match self.store()? {
                Some(s) => s.purge_patient_data(&actor, now)?,
                None => return Ok(None),
            },
        };
        let report = PurgeReport { charts: counts.charts, rosters: counts.rosters };
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

    fn set_state(&mut self, state: LifecycleState) -> houmon_model::Result<()> {
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
