//! The shell's device module against the real `houmon-relay` binary on loopback and a
//! policy directory read by the real Linux reader: the default stays the training clinic;
//! trainingMode off shows the enrollment screen; a typed code enrolls and syncs; a back-office
//! revocation wipes data and keys and returns to the enrollment screen with the reason.

use super::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `HOUMON_RELAY_BIN`, or `houmon-relay` in this target dir (built on demand into a side dir).
fn relay_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HOUMON_RELAY_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("houmon-relay");
    if bin.exists() {
        return bin;
    }
    let side = dir.join("houmon-relay-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let _ = Command::new(cargo).args(["build", "-p", "houmon-relay"]).env("CARGO_TARGET_DIR", &side).status();
    side.join("debug").join("houmon-relay")
}

struct Relay(Child, String);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn admin(db: &Path, args: &[&str]) -> String {
    let out = Command::new(relay_bin()).args(["admin", "--db"]).arg(db).args(args).output().expect("relay admin");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn start_relay(db: &Path) -> Relay {
    let mut child = Command::new(relay_bin())
        .args(["serve", "--db"])
        .arg(db)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("houmon-relay starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("://").next().unwrap().to_string();
    Relay(child, format!("http://{addr}"))
}

fn write_policy(root: &Path, body: serde_json::Value) {
    let p = root.join("managed/houmon.json");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

fn sources(root: &Path) -> Vec<Box<dyn PolicySource>> {
    vec![Box::new(LinuxPolicyDir::new(root))]
}

#[test]
fn no_policy_is_the_training_clinic() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ServiceOptions { data_dir: tmp.path().join("app"), ..Default::default() };
    let mode = Mode::decide(&opts, sources(&tmp.path().join("policies"))).unwrap();
    assert!(matches!(mode, Mode::Training));
    let s = training_status();
    assert_eq!((s.state.as_str(), s.label_ja.as_str()), ("training", "訓練モード"));
    assert!(!s.needs_enrollment);
}

#[test]
fn enroll_then_sync_then_revocation_wipes_and_returns_to_enrollment() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("relay.db");
    let out = admin(&db, &["create-clinic", "--name", "架空在宅クリニック"]);
    let code = out.lines().find_map(|l| l.strip_prefix("code ")).expect("code").to_string();
    let relay = start_relay(&db);
    let policies = tmp.path().join("policies");
    write_policy(&policies, serde_json::json!({"relayUrl": relay.1, "trainingMode": "off"}));
    let opts = ServiceOptions { data_dir: tmp.path().join("app"), ..Default::default() };
    let Mode::Managed(dev) = Mode::decide(&opts, sources(&policies)).unwrap() else {
        panic!("trainingMode off is a managed device")
    };
    let cell: ServiceCell = Mutex::new(None);
    let ready = Condvar::new();

    // Not enrolled: the enrollment screen, and commands get a clear reason instead of data.
    dev.step(&cell, &ready);
    let s = dev.status();
    assert!(s.needs_enrollment && !s.managed_code);
    assert_eq!((s.state.as_str(), s.label_ja.as_str()), ("unenrolled", "未登録"));
    assert!(matches!(lock(&cell).as_ref(), Some(Err(e)) if e.code == "not_enrolled"));

    // A mistyped code is refused with the next step.
    let e = dev.enroll("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG", &cell, &ready).unwrap_err();
    assert_eq!(e.code, "code_rejected");
    assert!(e.ja.contains("新しいコード"), "{e:?}");

    // The right code: enrolled, the store lent to a non-training service, first round done.
    let s = dev.enroll(&code, &cell, &ready).unwrap();
    assert_eq!(s.state, "online", "{s:?}");
    assert!(s.label_ja.starts_with("最新("), "{s:?}");
    assert!(!s.needs_enrollment);
    {
        let mut g = lock(&cell);
        let svc = g.as_mut().unwrap().as_mut().expect("service on the lifecycle's store");
        assert!(!svc.app_info().training_mode);
        assert!(svc.store_dir().starts_with(device_dir(&opts.data_dir)));
    }
    let dir = device_dir(&opts.data_dir);
    assert!(dir.join("device-key.json").exists());

    // The back office revokes the tablet (the relay applies it within a second).
    let device = lock(&dev.lifecycle).enrollment().unwrap().device_id;
    admin(&db, &["revoke", "--device", &device.0.simple().to_string()]);
    let mut s = dev.status();
    for _ in 0..100 {
        dev.step(&cell, &ready);
        s = dev.status();
        if s.needs_enrollment {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!((s.state.as_str(), s.label_ja.as_str()), ("refused", "拒否—端末が失効"), "{s:?}");
    assert!(s.needs_enrollment && s.next_ja.contains("再登録"), "{s:?}");
    assert!(matches!(lock(&cell).as_ref(), Some(Err(e)) if e.code == "not_enrolled"));
    let left: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, vec!["device.json".to_string()], "data and keys erased");
}
