//! The sync driver the shell runs on a background thread: one [`SyncRunner::step`] applies the
//! policy (remote wipe, managed enrollment code, offline-data TTL), syncs with backoff, and
//! tells the lifecycle what the relay said (a completed catch-up restarts the TTL; a revoked
//! device is wiped). It returns the [`SyncStatus`] the UI shows.
//!
//! The store is reached only through [`StoreAccess`], for short local phases: the shell's
//! service lock is never held across a network call. The lifecycle lock is held while the
//! lifecycle itself acts (enrollment at the relay, wipe, purge), never while syncing.
//!
//! Also here: [`RelayEnrollment`], the [`EnrollmentExchange`] that redeems a one-time code at
//! the relay.

use crate::lifecycle::{
    DeviceLifecycle, EnrollmentError, EnrollmentExchange, EnrollmentGrant, EnrollmentRequest, LifecycleEvent,
    LifecycleState, RelayDeviceStatus, WipeReason,
};
use chrono::{DateTime, Utc};
use houmon_keys::DeviceSigningKey;
use houmon_model::{Actor, ClinicId, DeviceId as ModelDeviceId, StaffId, SyncState};
use houmon_policy::resolve::{EffectiveSettings, TrainingMode};
use houmon_sync::{Backoff, StoreAccess, SyncClient, SyncError, SyncIdentity, SyncReport, redeem_code};
use houmon_sync_proto::ErrorCode;
use houmon_sync_proto::http::{HttpError, RelayHttp};
use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Redeems one-time codes at the relay named in the request.
#[derive(Debug, Clone)]
pub struct RelayEnrollment {
    /// How the device appears in the back office's device list.
    pub label: String,
    /// A clinic's own CA (DER), for relays not under a public root.
    pub root_der: Option<Vec<u8>>,
}

impl RelayEnrollment {
    pub fn new(label: impl Into<String>) -> Self {
        Self { label: label.into(), root_der: None }
    }
}

/// Why a relay error ends enrollment.
fn enrollment_error(e: &SyncError) -> EnrollmentError {
    match e {
        SyncError::BadCode => EnrollmentError::CodeRejected,
        SyncError::KeylessCode => EnrollmentError::KeylessCode,
        SyncError::Relay(HttpError::Relay { body, .. }) if body.code == ErrorCode::KeylessCode => {
            EnrollmentError::KeylessCode
        }
        SyncError::Relay(h) if h.retryable() => EnrollmentError::Unreachable,
        SyncError::Relay(_) => EnrollmentError::CodeRejected,
        _ => EnrollmentError::Storage,
    }
}

impl EnrollmentExchange for RelayEnrollment {
    fn redeem(
        &mut self,
        request: &EnrollmentRequest,
        key: &DeviceSigningKey,
    ) -> Result<EnrollmentGrant, EnrollmentError> {
        // relayCertificatePins and a clinic CA (root_der), if any, hold from the first request.
        let http = RelayHttp::with_tls(&request.relay_url, self.root_der.as_deref(), &request.certificate_pins)
            .map_err(|_| EnrollmentError::Unreachable)?;
        let id = redeem_code(&http, key, &request.code, &self.label).map_err(|e| enrollment_error(&e))?;
        Ok(EnrollmentGrant {
            device_id: id.model_device_id(),
            clinic_id: ClinicId(uuid::Uuid::from_bytes(id.clinic.0)),
            // The relay is blind: it knows no names. The clinic document brings the name.
            clinic_name: String::new(),
            institution_code: None,
            sync: Some(id),
        })
    }
}

/// What the header shows about sync, always.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncStatus {
    /// 訓練モード: the embedded training clinic; nothing is synced.
    Training,
    /// 未登録: the enrollment screen. `wiped`: why the device's data was erased, if it was.
    NotEnrolled { wiped: Option<WipeReason>, enrollment_error: Option<EnrollmentError> },
    /// 同期中.
    Syncing { pending: usize, last_sync_at: Option<DateTime<Utc>> },
    /// 最新: the last round completed at `at`.
    UpToDate { at: DateTime<Utc>, pending: usize },
    /// オフライン: the relay cannot be reached; `pending` local changes wait on the device.
    Offline { pending: usize, last_sync_at: Option<DateTime<Utc>> },
    /// The relay refuses this device for another reason than revocation (e.g. it does not
    /// know it): sync stops until an administrator acts.
    Refused { pending: usize, message_ja: String, message_en: String },
    /// The round completed at `at`, but `count` entries of other devices could not be opened
    /// (another content key): an error state until the device is enrolled again.
    Unreadable { at: DateTime<Utc>, pending: usize, count: u64 },
    /// The round completed at `at`, but the relay refused `count` entries of this device for
    /// good (too large): set aside, kept on the device, never sent.
    SetAside { at: DateTime<Utc>, pending: usize, count: usize },
    /// The relay refuses this device's requests because its clock is off: retried with
    /// backoff, shown until the clock is set.
    ClockSkew { pending: usize, last_sync_at: Option<DateTime<Utc>> },
}

/// A status as text: short label, and the next step for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusText {
    pub code: SyncState,
    pub label_ja: String,
    pub label_en: String,
    pub next_ja: String,
    pub next_en: String,
}

fn hhmm(t: &DateTime<Utc>) -> String {
    t.with_timezone(&houmon_model::jst()).format("%H:%M").to_string()
}

impl SyncStatus {
    pub fn pending(&self) -> usize {
        match self {
            Self::Syncing { pending, .. }
            | Self::UpToDate { pending, .. }
            | Self::Offline { pending, .. }
            | Self::Refused { pending, .. }
            | Self::Unreadable { pending, .. }
            | Self::SetAside { pending, .. }
            | Self::ClockSkew { pending, .. } => *pending,
            _ => 0,
        }
    }

    pub fn text(&self) -> StatusText {
        let t = |code, lj: String, le: String, nj: &str, ne: &str| StatusText {
            code,
            label_ja: lj,
            label_en: le,
            next_ja: nj.into(),
            next_en: ne.into(),
        };
        match self {
            Self::Training => t(
                SyncState::Training,
                "訓練モード".into(),
                "Training mode".into(),
                "架空の診療所で練習できます。同期はしません。実際の患者の記録には使わないでください。",
                "Practise on a fictional clinic. Nothing is synced; do not record real patients.",
            ),
            Self::NotEnrolled { wiped: Some(WipeReason::RelayRevoked), .. } => {
                let (nj, ne) = WipeReason::RelayRevoked.message();
                t(SyncState::Refused, "拒否—端末が失効".into(), "Refused — device revoked".into(), nj, ne)
            }
            Self::NotEnrolled { wiped: Some(WipeReason::Policy), .. } => {
                let (nj, ne) = WipeReason::Policy.message();
                t(SyncState::Unenrolled, "未登録".into(), "Not enrolled".into(), nj, ne)
            }
            Self::NotEnrolled { enrollment_error: Some(e), .. } => {
                let (nj, ne) = e.message();
                t(SyncState::Unenrolled, "未登録".into(), "Not enrolled".into(), nj, ne)
            }
            Self::NotEnrolled { .. } => t(
                SyncState::Unenrolled,
                "未登録".into(),
                "Not enrolled".into(),
                "管理者から受け取った登録コードを入力して、この端末を登録してください。",
                "Enter the enrollment code from your administrator to enroll this device.",
            ),
            Self::Syncing { .. } => t(
                SyncState::Syncing,
                "同期中".into(),
                "Syncing".into(),
                "そのまま操作を続けられます。",
                "You can keep working.",
            ),
            Self::UpToDate { at, .. } => t(
                SyncState::Online,
                format!("最新({})", hhmm(at)),
                format!("Up to date ({})", hhmm(at)),
                "記録は同期サーバーに送信済みです。",
                "Records have been sent to the sync server.",
            ),
            Self::Offline { pending, .. } => t(
                SyncState::Offline,
                format!("オフライン(未送信{pending}件)"),
                format!("Offline ({pending} unsent)"),
                "記録は端末に保存されています。接続が戻ると自動で送信します。",
                "Records are saved on this device and will be sent automatically when the connection returns.",
            ),
            Self::Unreadable { count, .. } => StatusText {
                code: SyncState::Unreadable,
                label_ja: "他の端末のデータを読めません。端末を登録し直してください".into(),
                label_en: "Cannot read other devices' data. Enroll this device again".into(),
                next_ja: format!(
                    "他の端末の記録{count}件を開けませんでした。この端末は医療機関の鍵を持っていません。管理者に連絡し、事務所の管理用端末で発行した登録コードで登録し直してください。"
                ),
                next_en: format!(
                    "{count} records from other devices could not be opened: this device does not hold the clinic's key. Contact your administrator and enroll again with a code issued by the clinic's admin device."
                ),
            },
            Self::SetAside { count, .. } => StatusText {
                code: SyncState::SetAside,
                label_ja: format!("送信できない変更があります({count}件)"),
                label_en: format!("Changes that cannot be sent ({count})"),
                next_ja: "同期サーバーが大きすぎる変更を受け付けませんでした。この端末には保存されており、ほかの変更は送信を続けます。大きな写真や添付を分けて保存し直すか、管理者に連絡してください。".into(),
                next_en: "The sync server refused changes that are too large. They are kept on this device and the other changes are still sent. Save large photos or attachments separately, or contact your administrator.".into(),
            },
            Self::ClockSkew { pending, .. } => StatusText {
                code: SyncState::ClockSkew,
                label_ja: "端末の時刻がずれています。時刻を合わせてください".into(),
                label_en: "This device's clock is wrong. Set the clock".into(),
                next_ja: format!(
                    "同期サーバーが端末の時刻を受け付けません。端末の設定で日付と時刻を「自動」にしてください。記録(未送信{pending}件)は端末に保存されており、時刻が合うと自動で送信します。"
                ),
                next_en: format!(
                    "The sync server does not accept this device's time. Set date and time to automatic in the device settings. Records ({pending} unsent) are kept on this device and are sent automatically once the clock is right."
                ),
            },
            Self::Refused { message_ja, message_en, .. } => StatusText {
                code: SyncState::Refused,
                label_ja: "拒否".into(),
                label_en: "Refused".into(),
                next_ja: message_ja.clone(),
                next_en: message_en.clone(),
            },
        }
    }
}

/// The shell's side of the store: it holds the store the lifecycle lends it (its use cases
/// run on it), and gives it up before a wipe.
pub trait ManagedStore: StoreAccess {
    /// Whether a store is installed.
    fn has_store(&self) -> bool;
    /// The device is enrolled: here is its store (lent by the lifecycle).
    fn install_store(&mut self, store: houmon_store::Store);
    /// Close the store (drop every connection) before its files are erased.
    fn close_store(&mut self);
}

/// A [`ManagedStore`] for a holder that keeps the lent store itself (no shell around it): the
/// `houmon-clinic` device and tests.
#[derive(Debug, Default)]
pub struct HeldStore(pub Option<houmon_store::Store>);

impl StoreAccess for HeldStore {
    fn with_store<R>(&mut self, f: impl FnOnce(&mut houmon_store::Store) -> R) -> houmon_sync::SyncResult<R> {
        self.0.as_mut().map(f).ok_or(SyncError::NotEnrolled)
    }
}

impl ManagedStore for HeldStore {
    fn has_store(&self) -> bool {
        self.0.is_some()
    }
    fn install_store(&mut self, store: houmon_store::Store) {
        self.0 = Some(store);
    }
    fn close_store(&mut self) {
        self.0 = None;
    }
}

/// What one step did.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub status: SyncStatus,
    pub events: Vec<LifecycleEvent>,
    pub report: Option<SyncReport>,
    /// When the shell should call [`SyncRunner::step`] again at the latest.
    pub next_step_in: Duration,
}

/// The background sync driver: one per app.
pub struct SyncRunner {
    client: Option<SyncClient>,
    /// The `relayCertificatePins` the client was built with: new pins, new client.
    client_pins: Vec<String>,
    backoff: Backoff,
    /// The backoff's jitter: from entropy on a device (spreads a clinic's retries), from a seed
    /// in tests ([`SyncRunner::with_seed`]), so a seed replays the same delays.
    jitter: rand::rngs::StdRng,
    not_before: Option<Instant>,
    /// Steady-state pace between rounds when all is well.
    pub interval: Duration,
    /// The managed code already tried (a one-time code is not redeemed twice in a row).
    tried_code: Option<String>,
    last_enrollment_error: Option<EnrollmentError>,
    status: SyncStatus,
    /// Partial replication (部分同期) from the visit plan: the app on a tablet. Off for the
    /// set-up tool and tests that want the whole clinic.
    pub partial_replication: bool,
}

impl std::fmt::Debug for SyncRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncRunner").field("status", &self.status).finish_non_exhaustive()
    }
}

impl Default for SyncRunner {
    fn default() -> Self {
        Self::new()
    }
}

use houmon_model::lock;

/// Whether the shell runs the training clinic instead of the device lifecycle: `On`, or
/// `Auto` on a device that is not enrolled and has no managed enrollment code.
pub fn training_mode(settings: &EffectiveSettings, lifecycle: &DeviceLifecycle) -> bool {
    match settings.training_mode {
        TrainingMode::On => true,
        TrainingMode::Off => false,
        TrainingMode::Auto => lifecycle.enrollment().is_none() && settings.enrollment_code.is_none(),
    }
}

fn is_clock_skew(e: &SyncError) -> bool {
    matches!(e, SyncError::Relay(HttpError::Relay { body, .. }) if body.code == ErrorCode::ClockSkew)
}

fn is_revoked(e: &SyncError) -> bool {
    matches!(e, SyncError::Relay(HttpError::Relay { body, .. }) if body.code == ErrorCode::Revoked)
}

impl SyncRunner {
    pub fn new() -> Self {
        Self::with_jitter(rand::SeedableRng::from_entropy())
    }

    /// A runner whose backoff jitter comes from `seed` (deterministic tests).
    pub fn with_seed(seed: u64) -> Self {
        Self::with_jitter(rand::SeedableRng::seed_from_u64(seed))
    }

    fn with_jitter(jitter: rand::rngs::StdRng) -> Self {
        Self {
            client: None,
            client_pins: Vec::new(),
            backoff: Backoff::new(Duration::from_secs(2), Duration::from_secs(300)),
            jitter,
            not_before: None,
            interval: Duration::from_secs(30),
            tried_code: None,
            last_enrollment_error: None,
            status: SyncStatus::NotEnrolled { wiped: None, enrollment_error: None },
            partial_replication: false,
        }
    }

    pub fn status(&self) -> &SyncStatus {
        &self.status
    }

    /// Try the relay at the next step even while backing off (network came back, the user
    /// tapped 再試行, a note was saved).
    pub fn retry_now(&mut self) {
        self.not_before = None;
    }

    /// Point at another relay address (tests restart the relay on a new port; the
    /// enrollment's URL is used otherwise).
    pub fn set_relay(&mut self, relay: RelayHttp) {
        if let Some(c) = &mut self.client {
            c.set_relay(relay);
        }
    }

    /// A code typed on the enrollment screen (network: holds the lifecycle lock, not the
    /// store's). After success the next step starts syncing.
    pub fn enroll(
        &mut self,
        lifecycle: &Mutex<DeviceLifecycle>,
        settings: &EffectiveSettings,
        code: &str,
        exchange: &mut dyn EnrollmentExchange,
        now: DateTime<Utc>,
    ) -> Result<LifecycleEvent, EnrollmentError> {
        let mut lc = lock(lifecycle);
        let r = lc
            .enroll(settings, code, exchange, now)
            .map(|e| LifecycleEvent::Enrolled { device_id: e.device_id, clinic_name: e.clinic_name.clone() });
        self.last_enrollment_error = r.as_ref().err().cloned();
        self.client = None;
        self.retry_now();
        r
    }

    fn set(&mut self, status: SyncStatus, publish: &mut dyn FnMut(&SyncStatus)) {
        if status != self.status {
            publish(&status);
        }
        self.status = status;
    }

    fn not_enrolled(&self, lc: &DeviceLifecycle) -> SyncStatus {
        let wiped = match lc.state() {
            LifecycleState::Unenrolled { last_wipe } => last_wipe.map(|w| w.reason),
            _ => None,
        };
        SyncStatus::NotEnrolled { wiped, enrollment_error: self.last_enrollment_error }
    }

    fn wipe<S: ManagedStore + ?Sized>(
        &mut self,
        lc: &mut DeviceLifecycle,
        store: &mut S,
        reason: WipeReason,
        now: DateTime<Utc>,
    ) -> houmon_model::Result<()> {
        self.client = None;
        self.tried_code = None;
        store.close_store();
        lc.wipe(reason, now)
    }

    /// One step. `publish` sees every status change as it happens (同期中 before the network
    /// round, then the result). `now` is the wall clock for the lifecycle (tests move it).
    pub fn step<S: ManagedStore + ?Sized>(
        &mut self,
        lifecycle: &Mutex<DeviceLifecycle>,
        settings: &EffectiveSettings,
        store: &mut S,
        exchange: &mut dyn EnrollmentExchange,
        now: DateTime<Utc>,
        publish: &mut dyn FnMut(&SyncStatus),
    ) -> houmon_model::Result<StepOutcome> {
        let mut events = Vec::new();
        let idle = |status: SyncStatus, events: Vec<LifecycleEvent>, next: Duration| StepOutcome {
            status,
            events,
            report: None,
            next_step_in: next,
        };
        if self.client_pins != settings.relay_certificate_pins {
            self.client = None;
            self.client_pins = settings.relay_certificate_pins.clone();
        }
        // Policy first: a remote wipe wins over everything; training mode does nothing.
        let (key, relay_url) = {
            let mut lc = lock(lifecycle);
            if settings.remote_wipe {
                if lc.enrollment().is_some() {
                    self.wipe(&mut lc, store, WipeReason::Policy, now)?;
                    events.push(LifecycleEvent::Wiped { reason: WipeReason::Policy });
                }
                let s = self.not_enrolled(&lc);
                drop(lc);
                self.set(s.clone(), publish);
                return Ok(idle(s, events, self.interval));
            }
            if training_mode(settings, &lc) {
                drop(lc);
                self.set(SyncStatus::Training, publish);
                return Ok(idle(SyncStatus::Training, events, self.interval));
            }
            if lc.enrollment().is_none() {
                // First start with a managed enrollment code: enroll (once per code).
                if let Some(code) = settings.enrollment_code.clone()
                    && self.tried_code.as_deref() != Some(code.as_str())
                {
                    self.tried_code = Some(code.clone());
                    match lc.enroll(settings, &code, exchange, now) {
                        Ok(e) => {
                            events.push(LifecycleEvent::Enrolled {
                                device_id: e.device_id,
                                clinic_name: e.clinic_name.clone(),
                            });
                            self.last_enrollment_error = None;
                        }
                        Err(error) => {
                            self.last_enrollment_error = Some(error);
                            events.push(LifecycleEvent::EnrollmentFailed { error });
                        }
                    }
                }
                if lc.enrollment().is_none() {
                    let s = self.not_enrolled(&lc);
                    drop(lc);
                    self.set(s.clone(), publish);
                    return Ok(idle(s, events, self.interval));
                }
            }
            if !store.has_store()
                && let Some(st) = lc.lend_store()?
            {
                store.install_store(st);
            }
            // The offline-data TTL, on the shell's store.
            let ttl = settings.offline_data_ttl_days;
            let purged = match store.with_store(|st| lc.purge_if_stale_in(st, ttl, now)) {
                Ok(r) => r?,
                Err(_) => None,
            };
            if let Some(ev) = purged {
                events.push(ev);
                // The purge reset the cursor: the documents come back at the next sync.
                self.client = None;
            }
            let url = settings.relay_url.clone().or_else(|| lc.enrollment().map(|e| e.relay_url.clone()));
            let key = if self.client.is_none() { lc.device_signing_key()? } else { None };
            (key, url)
        };
        let pending = |store: &mut S| store.with_store(SyncClient::pending).ok().and_then(|r| r.ok());
        if self.not_before.is_some_and(|t| Instant::now() < t) {
            let n = pending(store).unwrap_or(self.status.pending());
            let s = match &self.status {
                SyncStatus::Offline { last_sync_at, .. } => {
                    SyncStatus::Offline { pending: n, last_sync_at: *last_sync_at }
                }
                other => other.clone(),
            };
            self.set(s.clone(), publish);
            let wait = self.not_before.map(|t| t.saturating_duration_since(Instant::now())).unwrap_or_default();
            return Ok(idle(s, events, wait));
        }
        if self.client.is_none() {
            let Some(key) = key else {
                return Err(houmon_model::CoreError::WrongKey);
            };
            let identity = match store.with_store(SyncIdentity::load) {
                Ok(Ok(Some(id))) => id,
                _ => return Err(houmon_model::CoreError::NotFound { what: "sync identity" }),
            };
            let actor = Actor { staff: StaffId(uuid::Uuid::nil()), device: identity.model_device_id() };
            let relay = match relay_url {
                Some(u) => Some(RelayHttp::with_tls(&u, None, &self.client_pins).map_err(|_| {
                    houmon_model::CoreError::InvalidInput { field: "relayCertificatePins", reason: "malformed" }
                })?),
                None => None,
            };
            let client = SyncClient::from_identity(identity, relay, key, actor).map_err(|e| match e {
                SyncError::Core(c) => c,
                _ => houmon_model::CoreError::WrongKey,
            })?;
            self.client = Some(client.with_partial_replication(self.partial_replication));
        }
        let last_sync_at = lock(lifecycle).enrollment().and_then(|e| e.last_sync_at);
        let n = pending(store).unwrap_or(0);
        self.set(SyncStatus::Syncing { pending: n, last_sync_at }, publish);
        let Some(client) = self.client.as_mut() else { return Err(houmon_model::CoreError::WrongKey) };
        // The network round: only short store phases inside.
        let result = client.sync_once(store);
        match result {
            Ok(report) => {
                self.backoff.reset();
                self.not_before = None;
                lock(lifecycle).sync_succeeded(now)?;
                let n = pending(store).unwrap_or(0);
                let unreadable = store.with_store(SyncClient::unreadable).ok().and_then(|r| r.ok()).unwrap_or(0);
                let set_aside = store.with_store(SyncClient::set_aside).ok().and_then(|r| r.ok()).unwrap_or(0);
                let s = if unreadable > 0 {
                    SyncStatus::Unreadable { at: now, pending: n, count: unreadable }
                } else if set_aside > 0 {
                    SyncStatus::SetAside { at: now, pending: n, count: set_aside }
                } else {
                    SyncStatus::UpToDate { at: now, pending: n }
                };
                self.set(s.clone(), publish);
                let next = if n > 0 { Duration::ZERO } else { self.interval };
                Ok(StepOutcome { status: s, events, report: Some(report), next_step_in: next })
            }
            Err(e) if is_revoked(&e) => {
                let mut lc = lock(lifecycle);
                self.client = None;
                store.close_store();
                if let Some(ev) = lc.relay_reports(RelayDeviceStatus::Revoked, now)? {
                    events.push(ev);
                }
                let s = self.not_enrolled(&lc);
                drop(lc);
                self.set(s.clone(), publish);
                Ok(idle(s, events, self.interval))
            }
            Err(SyncError::NotEnrolled) => {
                // The store was closed under us (a wipe): report what the lifecycle says.
                let s = self.not_enrolled(&lock(lifecycle));
                self.set(s.clone(), publish);
                Ok(idle(s, events, self.interval))
            }
            Err(e) => {
                let delay = self.backoff.next_delay(&mut self.jitter);
                self.not_before = Some(Instant::now() + delay);
                let n = pending(store).unwrap_or(0);
                let s = if is_clock_skew(&e) {
                    SyncStatus::ClockSkew { pending: n, last_sync_at }
                } else if e.retryable() {
                    SyncStatus::Offline { pending: n, last_sync_at }
                } else {
                    let (ja, en) = e.user_message();
                    SyncStatus::Refused { pending: n, message_ja: ja, message_en: en }
                };
                self.set(s.clone(), publish);
                Ok(idle(s, events, delay))
            }
        }
    }
}

/// The model id of a relay device id (the same 16 bytes).
pub fn model_device_id(d: houmon_sync_proto::DeviceId) -> ModelDeviceId {
    ModelDeviceId(uuid::Uuid::from_bytes(d.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(mut r: SyncRunner) -> Vec<Duration> {
        (0..8).map(|_| r.backoff.next_delay(&mut r.jitter)).collect()
    }

    #[test]
    fn a_seeded_runner_replays_its_backoff() {
        assert_eq!(delays(SyncRunner::with_seed(7)), delays(SyncRunner::with_seed(7)));
        assert_ne!(delays(SyncRunner::with_seed(7)), delays(SyncRunner::with_seed(8)), "control: the seed matters");
    }
}
