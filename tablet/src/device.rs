//! The device lifecycle in the shell (issue #7): the effective policy decides between the
//! training clinic (訓練モード, the default: exactly the demo of `service.rs`) and a managed
//! device (the [`DeviceLifecycle`] in `<data dir>/device`): enrollment screen while not
//! enrolled, then the lifecycle's store and background sync; a wipe (policy or relay
//! revocation) drops the service and returns the UI to the enrollment screen with the reason.
//!
//! Locks: the background thread takes the lifecycle lock while the lifecycle acts and the
//! service lock only for short store phases ([`ServiceSlot`]); the UI reads the status from
//! its own mutex. Order is always lifecycle → service, so no UI command waits on the network.

use crate::dto::{AppErrorCode, SyncStatus, UiError};
use crate::service::{Service, ServiceOptions};
use chrono::Utc;
use houmon_device::lifecycle::DeviceLifecycle;
use houmon_device::runner::{self, ManagedStore, RelayEnrollment, SyncRunner, SyncStatus as CoreStatus};
use houmon_keys::DeviceKeystore;
use houmon_policy::resolve::{EffectiveSettings, PolicyEngine};
use houmon_policy::sources::{LinuxPolicyDir, PolicySource, platform_sources};
use houmon_policy::watch::PolicyWatcher;
use houmon_store::Store;
use houmon_sync::{StoreAccess, SyncError, SyncIdentity, SyncResult};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Where the managed device keeps its lifecycle, keys and store (a wipe empties it). The
/// training clinic stays in `<data dir>/store`.
pub const DEVICE_DIR: &str = "device";

use houmon_model::lock;

/// The sync status of the training clinic.
pub fn training_status() -> SyncStatus {
    to_dto(&CoreStatus::Training, false)
}

pub(crate) fn to_dto(s: &CoreStatus, managed_code: bool) -> SyncStatus {
    let t = s.text();
    let last = match s {
        CoreStatus::UpToDate { at, .. } | CoreStatus::Unreadable { at, .. } | CoreStatus::SetAside { at, .. } => {
            Some(*at)
        }
        CoreStatus::Syncing { last_sync_at, .. }
        | CoreStatus::Offline { last_sync_at, .. }
        | CoreStatus::ClockSkew { last_sync_at, .. } => *last_sync_at,
        _ => None,
    };
    SyncStatus {
        state: t.code,
        pending: s.pending() as u32,
        last_sync_at: last.map(|t| t.to_rfc3339()),
        label_ja: t.label_ja,
        label_en: t.label_en,
        next_ja: t.next_ja,
        next_en: t.next_en,
        needs_enrollment: matches!(s, CoreStatus::NotEnrolled { .. }),
        managed_code,
    }
}

/// The OS keystore for this data directory (Secret Service, DPAPI …), or the marked file
/// fallback where there is none (the UI then warns). One keystore entry per data directory.
pub fn os_keystore(data_dir: &Path) -> Box<dyn DeviceKeystore> {
    use sha2::Digest;
    let account = hex::encode(&sha2::Sha256::digest(data_dir.to_string_lossy().as_bytes())[..8]);
    houmon_keys::device_keystore(&houmon_keystore::KeystoreConfig::new("jp.houmon.app", account, data_dir))
}

/// The policy sources: the platform's, or `HOUMON_POLICY_DIR` (a Linux-layout policy root:
/// `managed/*.json`, `recommended/*.json`) for tests and kiosk set-ups.
pub fn policy_sources() -> Vec<Box<dyn PolicySource>> {
    match std::env::var_os("HOUMON_POLICY_DIR") {
        Some(d) => vec![Box::new(LinuxPolicyDir::new(PathBuf::from(d)))],
        None => platform_sources(),
    }
}

/// The service slot as the shell holds it: `None` while starting, `Err` with the reason to
/// show (not enrolled, wiped) instead of the app.
pub type ServiceCell = Mutex<Option<Result<Service, UiError>>>;

fn not_enrolled_error() -> UiError {
    UiError::new(
        AppErrorCode::NotEnrolled,
        "この端末は未登録です。登録コードを入力して登録してください。",
        "This device is not enrolled. Enter an enrollment code to enroll it.",
    )
}

#[derive(Debug)]
/// [`ManagedStore`] over the shell's service: the lifecycle's store lives in the [`Service`].
pub struct ServiceSlot<'a> {
    pub cell: &'a ServiceCell,
    pub ready: &'a Condvar,
    pub opts: &'a ServiceOptions,
}

impl StoreAccess for ServiceSlot<'_> {
    fn with_store<R>(&mut self, f: impl FnOnce(&mut Store) -> R) -> SyncResult<R> {
        match lock(self.cell).as_mut() {
            Some(Ok(svc)) => Ok(f(svc.store_mut())),
            _ => Err(SyncError::NotEnrolled),
        }
    }
}

impl ManagedStore for ServiceSlot<'_> {
    fn has_store(&self) -> bool {
        matches!(lock(self.cell).as_ref(), Some(Ok(_)))
    }
    fn install_store(&mut self, mut store: Store) {
        // The device id the relay assigned, from the identity saved at enrollment.
        let device = match SyncIdentity::load(&mut store) {
            Ok(Some(id)) => id.model_device_id(),
            _ => houmon_model::DeviceId::new(),
        };
        *lock(self.cell) = Some(Service::open_enrolled(self.opts, store, device));
        self.ready.notify_all();
    }
    fn close_store(&mut self) {
        // Dropping the service closes the database before the lifecycle erases its files.
        *lock(self.cell) = Some(Err(not_enrolled_error()));
        self.ready.notify_all();
    }
}

/// A managed (non-training) device: lifecycle, policy, runner and the status the UI reads.
pub struct ManagedDevice {
    pub lifecycle: Mutex<DeviceLifecycle>,
    engine: Arc<PolicyEngine>,
    watcher: Mutex<Option<PolicyWatcher>>,
    runner: Mutex<SyncRunner>,
    exchange: Mutex<RelayEnrollment>,
    status: Mutex<SyncStatus>,
    wake: (Mutex<bool>, Condvar),
    /// When a qualification request last went to the clinic's gateway: for a while after, the
    /// runner asks the relay more often, so the answer shows in seconds, not at the next round.
    asked_gateway_at: Mutex<Option<Instant>>,
    opts: ServiceOptions,
}

/// How long after a gateway request the runner keeps syncing every [`ANSWER_POLL`].
const ANSWER_WAIT: Duration = Duration::from_secs(180);
const ANSWER_POLL: Duration = Duration::from_secs(5);

impl std::fmt::Debug for ManagedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedDevice").field("status", &self.status).finish_non_exhaustive()
    }
}

/// What the policy decided at start-up.
#[derive(Debug)]
pub enum Mode {
    Training,
    Managed(Arc<ManagedDevice>),
}

impl Mode {
    /// Read the policy and the lifecycle state in `<data dir>/device`.
    pub fn decide(opts: &ServiceOptions, sources: Vec<Box<dyn PolicySource>>) -> Result<Self, UiError> {
        let dir = opts.data_dir.join(DEVICE_DIR);
        let keystore = os_keystore(&opts.data_dir);
        let (lc, _) = DeviceLifecycle::open(&dir, keystore).map_err(UiError::from)?;
        let engine = Arc::new(PolicyEngine::new(sources, Some(lc.user_settings_path())));
        // A production build has no training clinic: an unenrolled device shows enrollment.
        if cfg!(feature = "training") && runner::training_mode(&engine.view().effective(), &lc) {
            return Ok(Mode::Training);
        }
        // Device lists show this label: never the host name, which often carries a person's
        // name; a short random tag tells tablets apart.
        let label = format!("タブレット {:04X}", rand::random::<u16>());
        Ok(Mode::Managed(Arc::new(ManagedDevice {
            lifecycle: Mutex::new(lc),
            engine,
            watcher: Mutex::new(None),
            // A tablet holds its staff's charts, not the whole clinic (部分同期).
            runner: Mutex::new({
                let mut r = SyncRunner::new();
                r.partial_replication = true;
                r
            }),
            exchange: Mutex::new(RelayEnrollment::new(label)),
            status: Mutex::new(to_dto(&CoreStatus::NotEnrolled { wiped: None, enrollment_error: None }, false)),
            wake: (Mutex::new(false), Condvar::new()),
            asked_gateway_at: Mutex::new(None),
            opts: opts.clone(),
        })))
    }
}

impl ManagedDevice {
    pub fn settings(&self) -> EffectiveSettings {
        match lock(&self.watcher).as_ref() {
            Some(w) => w.view().effective(),
            None => self.engine.view().effective(),
        }
    }

    /// The back office's 端末の管理 (codes, device list, revocation) over this device's key and
    /// the managed certificate pins. The caller has checked the signed-in person's role.
    pub fn clinic_relay(&self, store: &mut houmon_store::Store) -> Result<crate::admin::ClinicRelay, UiError> {
        crate::admin::ClinicRelay::connect(&self.lifecycle, store, &self.settings().relay_certificate_pins)
    }

    /// What the header and the enrollment screen show.
    pub fn status(&self) -> SyncStatus {
        lock(&self.status).clone()
    }

    fn publish(&self, s: &CoreStatus) {
        *lock(&self.status) = to_dto(s, self.settings().enrollment_code.is_some());
    }

    /// A qualification request was written for the gateway: send it now, then look for the
    /// answer every few seconds for a while.
    pub fn await_gateway_answer(&self) {
        *lock(&self.asked_gateway_at) = Some(Instant::now());
        self.wake();
    }

    /// Run the next step soon (after enrollment, a saved note, a policy change).
    pub fn wake(&self) {
        *lock(&self.wake.0) = true;
        self.wake.1.notify_all();
    }

    fn slot<'a>(&'a self, cell: &'a ServiceCell, ready: &'a Condvar) -> ServiceSlot<'a> {
        ServiceSlot { cell, ready, opts: &self.opts }
    }

    /// One step of the runner (the background thread calls this in a loop; tests call it).
    pub fn step(&self, cell: &ServiceCell, ready: &Condvar) -> Duration {
        let settings = self.settings();
        let mut slot = self.slot(cell, ready);
        let mut runner = lock(&self.runner);
        let mut exchange = lock(&self.exchange);
        let out =
            runner.step(&self.lifecycle, &settings, &mut slot, &mut *exchange, Utc::now(), &mut |s| self.publish(s));
        let next = match out {
            Ok(o) => {
                self.publish(&o.status);
                // Only while the relay answers: offline, the runner's backoff stands.
                let waiting = lock(&self.asked_gateway_at).is_some_and(|t| t.elapsed() < ANSWER_WAIT);
                if waiting && matches!(o.status, CoreStatus::UpToDate { .. }) {
                    o.next_step_in.min(ANSWER_POLL)
                } else {
                    o.next_step_in
                }
            }
            Err(e) => {
                let m = e.user_message();
                let mut s = lock(&self.status);
                s.state = houmon_model::SyncState::Refused;
                s.next_ja = m.ja.into();
                s.next_en = m.en.into();
                Duration::from_secs(30)
            }
        };
        // Not enrolled: the UI shows the enrollment screen instead of waiting for a store.
        if lock(cell).is_none() {
            *lock(cell) = Some(Err(not_enrolled_error()));
            ready.notify_all();
        }
        next
    }

    /// The enrollment screen: redeem `code` at the policy's relay URL, then sync at once.
    pub fn enroll(&self, code: &str, cell: &ServiceCell, ready: &Condvar) -> Result<SyncStatus, UiError> {
        let settings = self.settings();
        let r = {
            let mut runner = lock(&self.runner);
            let mut exchange = lock(&self.exchange);
            runner.enroll(&self.lifecycle, &settings, code, &mut *exchange, Utc::now())
        };
        if let Err(e) = r {
            let (ja, en) = e.message();
            return Err(UiError::new(e, ja, en));
        }
        self.step(cell, ready);
        self.wake();
        Ok(self.status())
    }

    /// Start the background thread and the policy watcher (a policy change wakes the runner,
    /// so a remote wipe applies within the watcher's poll).
    /// `step` runs one [`Self::step`] on the shell's service cell.
    pub fn spawn(self: &Arc<Self>, step: impl Fn(&ManagedDevice) -> Duration + Send + 'static) {
        let me = self.clone();
        let w = PolicyWatcher::start(self.engine.clone(), Duration::from_secs(30), move |_| me.wake());
        *lock(&self.watcher) = Some(w);
        let me = self.clone();
        std::thread::Builder::new()
            .name("houmon-sync".into())
            .spawn(move || {
                loop {
                    let next = step(&me);
                    let next = next.clamp(Duration::from_millis(200), Duration::from_secs(60));
                    let mut woken = lock(&me.wake.0);
                    if !*woken {
                        woken = me.wake.1.wait_timeout(woken, next).map(|r| r.0).unwrap_or_else(|e| e.into_inner().0);
                    }
                    *woken = false;
                }
            })
            .ok();
    }
}

/// `<data dir>/device` for tests.
pub fn device_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DEVICE_DIR)
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
