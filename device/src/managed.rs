//! [`ManagedDevice`]: the policy engine, its live reload and the device lifecycle wired
//! together — what the Tauri shell holds. A policy change re-runs [`DeviceLifecycle::apply`],
//! so turning `remoteWipe` on in the MDM console wipes a running device.

use crate::lifecycle::{
    DeviceLifecycle, EnrollmentError, EnrollmentExchange, LifecycleEvent, LifecycleState, RelayDeviceStatus, TtlStatus,
};
use chrono::Utc;
use houmon_keys::DeviceKeystore;
use houmon_policy::resolve::{EffectiveSettings, PolicyEngine, PolicyView, Refusal, TrainingMode};
use houmon_policy::sources::PolicySource;
use houmon_policy::watch::PolicyWatcher;
use houmon_store::Store;
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The relay side of enrollment, shared with the watcher thread.
pub type SharedExchange = Arc<Mutex<dyn EnrollmentExchange + Send>>;

/// What the shell shows in the header and on the policy page besides the settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceStatus {
    pub state: LifecycleState,
    /// Run the embedded training clinic (訓練モード) and mark it clearly.
    pub training: bool,
    pub ttl: TtlStatus,
    pub settings: EffectiveSettings,
}

/// Called from the watcher thread with the new view and what the lifecycle did about it.
pub type ChangeHandler = Box<dyn Fn(&PolicyView, &[LifecycleEvent]) + Send + Sync>;

pub struct ManagedDevice {
    engine: Arc<PolicyEngine>,
    lifecycle: Arc<Mutex<DeviceLifecycle>>,
    exchange: Option<SharedExchange>,
    watcher: PolicyWatcher,
}

impl std::fmt::Debug for ManagedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedDevice").field("lifecycle", &self.lifecycle).finish_non_exhaustive()
    }
}

// A panic elsewhere must not take the policy page down with it.
use houmon_model::lock;

impl ManagedDevice {
    /// Open the app data directory, read the policy, apply it (finish an interrupted wipe,
    /// wipe, enroll with a managed code, purge stale data) and start watching for changes.
    /// `sources`: [`houmon_policy::sources::platform_sources`] plus, on mobile, a
    /// [`houmon_policy::sources::PushedManagedConfig`].
    pub fn start(
        app_dir: &Path,
        keystore: Box<dyn DeviceKeystore>,
        sources: Vec<Box<dyn PolicySource>>,
        exchange: Option<SharedExchange>,
        poll: Duration,
        on_change: ChangeHandler,
    ) -> houmon_model::Result<(Self, Vec<LifecycleEvent>)> {
        let (lifecycle, mut events) = DeviceLifecycle::open(app_dir, keystore)?;
        let engine = Arc::new(PolicyEngine::new(sources, Some(lifecycle.user_settings_path())));
        let lifecycle = Arc::new(Mutex::new(lifecycle));
        events.extend(apply(&lifecycle, exchange.as_ref(), &engine.view().effective())?);
        let (lc, ex) = (lifecycle.clone(), exchange.clone());
        let watcher = PolicyWatcher::start(engine.clone(), poll, move |view| {
            let events = apply(&lc, ex.as_ref(), &view.effective()).unwrap_or_default();
            on_change(view, &events);
        });
        Ok((Self { engine, lifecycle, exchange, watcher }, events))
    }

    /// The policy page (値・出所・固定・問題).
    pub fn policy_view(&self) -> PolicyView {
        self.watcher.view()
    }

    pub fn status(&self) -> DeviceStatus {
        let settings = self.watcher.view().effective();
        let lc = lock(&self.lifecycle);
        let enrolled = lc.enrollment().is_some();
        DeviceStatus {
            state: lc.state().clone(),
            training: match settings.training_mode {
                TrainingMode::On => true,
                TrainingMode::Off => false,
                TrainingMode::Auto => !enrolled,
            },
            ttl: lc.ttl_status(settings.offline_data_ttl_days, Utc::now()),
            settings,
        }
    }

    /// The user changes a setting on the policy page (refused when locked or invalid).
    pub fn set_user_value(&self, key: &str, value: serde_json::Value) -> Result<PolicyView, Refusal> {
        let view = self.engine.set_user_value(key, value)?;
        self.watcher.reload_now();
        Ok(view)
    }

    pub fn clear_user_value(&self, key: &str) -> Result<PolicyView, Refusal> {
        let view = self.engine.clear_user_value(key)?;
        self.watcher.reload_now();
        Ok(view)
    }

    /// Enroll with a code typed on the enrollment screen.
    pub fn enroll(&self, code: &str) -> Result<(), EnrollmentError> {
        let ex = self.exchange.as_ref().ok_or(EnrollmentError::Unreachable)?;
        let settings = self.watcher.view().effective();
        let mut lc = lock(&self.lifecycle);
        lc.enroll(&settings, code, &mut *lock(ex), Utc::now()).map(|_| ())
    }

    /// Run `f` on the store; `None` while not enrolled.
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> houmon_model::Result<Option<R>> {
        let mut lc = lock(&self.lifecycle);
        Ok(lc.store()?.map(f))
    }

    /// For the sync client: a completed catch-up (restarts the TTL).
    pub fn sync_succeeded(&self) -> houmon_model::Result<()> {
        lock(&self.lifecycle).sync_succeeded(Utc::now())
    }

    /// For the sync client: the relay's verdict on this device (`Revoked` wipes).
    pub fn relay_reports(&self, status: RelayDeviceStatus) -> houmon_model::Result<Option<LifecycleEvent>> {
        lock(&self.lifecycle).relay_reports(status, Utc::now())
    }

    /// Re-apply the current policy now (on resume, and once a day, so the TTL purge runs
    /// even when nothing changes).
    pub fn tick(&self) -> houmon_model::Result<Vec<LifecycleEvent>> {
        apply(&self.lifecycle, self.exchange.as_ref(), &self.watcher.view().effective())
    }

    /// The lifecycle itself (device signing key for the sync client, state details).
    pub fn lifecycle(&self) -> Arc<Mutex<DeviceLifecycle>> {
        self.lifecycle.clone()
    }
}

fn apply(
    lifecycle: &Mutex<DeviceLifecycle>,
    exchange: Option<&SharedExchange>,
    settings: &EffectiveSettings,
) -> houmon_model::Result<Vec<LifecycleEvent>> {
    let mut lc = lock(lifecycle);
    match exchange {
        Some(ex) => {
            let mut ex = lock(ex);
            lc.apply(settings, Some(&mut *ex), Utc::now())
        }
        None => lc.apply(settings, None, Utc::now()),
    }
}
