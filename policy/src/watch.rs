//! Live reload. A background thread re-resolves the policy when a watched directory changes
//! (inotify/FSEvents/ReadDirectoryChangesW through `notify`) and, as a safety net, every poll
//! interval (directories created after start, platforms that only push events). The callback
//! runs only when the resolved view actually changed.

use super::resolve::{PolicyEngine, PolicyView};
use notify::{RecursiveMode, Watcher};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

enum Wake {
    Changed,
    Reload,
    Stop,
}

/// Keeps the current [`PolicyView`] up to date. Dropping it stops the thread.
pub struct PolicyWatcher {
    current: Arc<Mutex<PolicyView>>,
    tx: Sender<Wake>,
    thread: Option<JoinHandle<()>>,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl std::fmt::Debug for PolicyWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyWatcher").finish_non_exhaustive()
    }
}

impl PolicyWatcher {
    /// Start watching. `on_change` gets every new view (from the watcher thread).
    pub fn start(engine: Arc<PolicyEngine>, poll: Duration, on_change: impl Fn(&PolicyView) + Send + 'static) -> Self {
        let current = Arc::new(Mutex::new(engine.view()));
        let (tx, rx) = channel();
        let watcher = Self::fs_watcher(&engine, tx.clone());
        let shared = current.clone();
        let thread = std::thread::Builder::new()
            .name("houmon-policy-watch".into())
            .spawn(move || run(engine, rx, poll, shared, on_change))
            .ok();
        Self { current, tx, thread, _watcher: watcher }
    }

    /// `None` when no watched directory exists yet or the platform has no watcher: the poll
    /// still notices changes.
    fn fs_watcher(engine: &PolicyEngine, tx: Sender<Wake>) -> Option<notify::RecommendedWatcher> {
        let tx = Mutex::new(tx);
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if res.is_ok()
                && let Ok(tx) = tx.lock()
            {
                let _ = tx.send(Wake::Changed);
            }
        })
        .ok()?;
        let mut any = false;
        for dir in engine.watch_dirs() {
            if dir.is_dir() && w.watch(&dir, RecursiveMode::Recursive).is_ok() {
                any = true;
            }
        }
        any.then_some(w)
    }

    /// The current view.
    pub fn view(&self) -> PolicyView {
        self.current.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Re-read now (Android restrictions-changed broadcast, after a user change).
    pub fn reload_now(&self) {
        let _ = self.tx.send(Wake::Reload);
    }
}

impl Drop for PolicyWatcher {
    fn drop(&mut self) {
        let _ = self.tx.send(Wake::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    engine: Arc<PolicyEngine>,
    rx: Receiver<Wake>,
    poll: Duration,
    current: Arc<Mutex<PolicyView>>,
    on_change: impl Fn(&PolicyView),
) {
    loop {
        match rx.recv_timeout(poll) {
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Wake::Changed) => {
                // Editors write a file in several steps: let the burst settle, then read once.
                std::thread::sleep(Duration::from_millis(50));
                while let Ok(w) = rx.try_recv() {
                    if matches!(w, Wake::Stop) {
                        return;
                    }
                }
            }
            Ok(Wake::Reload) | Err(RecvTimeoutError::Timeout) => {}
        }
        let view = engine.view();
        let changed = match current.lock() {
            Ok(mut g) if *g != view => {
                *g = view.clone();
                true
            }
            _ => false,
        };
        if changed {
            on_change(&view);
        }
    }
}
