//! Driving the real `houmon-app` binary: Xvfb (when no display is set), `tauri-driver` and
//! WebKitWebDriver, spoken to with plain W3C WebDriver calls over HTTP/1.1 on loopback.
//!
//! Used by the end-to-end tests (`tests/app_e2e.rs`) and by `houmon-bench app`.
//! Tools are looked up, never downloaded: `tauri-driver` from `TAURI_DRIVER`, PATH or
//! `~/.cache/houmon/tools/bin`; `WebKitWebDriver` from PATH (Debian `webkit2gtk-driver`).

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// `tauri-driver` (2.1.0, `cargo install tauri-driver --version 2.1.0 --locked`).
pub fn tauri_driver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return Some(p.into());
    }
    which("tauri-driver").or_else(|| {
        let home = std::env::var_os("HOME")?;
        let p = Path::new(&home).join(".cache/houmon/tools/bin/tauri-driver");
        p.is_file().then_some(p)
    })
}

/// The target directory this test binary or benchmark was built into (…/target/<profile>).
pub fn profile_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    Some(if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.parent()?.to_path_buf()
    } else {
        dir.to_path_buf()
    })
}

/// A binary of the workspace built next to this one (`houmon-app`, `houmon-bare`).
pub fn workspace_bin(name: &str) -> Option<PathBuf> {
    let env = format!("HOUMON_{}_BIN", name.trim_start_matches("houmon-").to_uppercase());
    if let Some(p) = std::env::var_os(env) {
        return Some(p.into());
    }
    let p = profile_dir()?.join(name);
    p.is_file().then_some(p)
}

/// Why the real-app lane cannot run here, if it cannot.
pub fn missing_prerequisite() -> Option<String> {
    if tauri_driver().is_none() {
        return Some("tauri-driver not found (cargo install tauri-driver --version 2.1.0 --locked)".into());
    }
    if which("WebKitWebDriver").is_none() {
        return Some("WebKitWebDriver not found (apt-get install webkit2gtk-driver)".into());
    }
    if std::env::var_os("DISPLAY").is_none() && which("Xvfb").is_none() {
        return Some("no DISPLAY and no Xvfb (apt-get install xvfb)".into());
    }
    if workspace_bin("houmon-app").is_none() {
        return Some("houmon-app binary not built (cargo build -p houmon-app)".into());
    }
    None
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A private X server for the run (killed on drop), unless a display is already set.
#[derive(Debug)]
pub struct Display {
    pub name: String,
    xvfb: Option<Child>,
}

impl Display {
    pub fn get() -> Result<Self, String> {
        if let Some(d) = std::env::var_os("DISPLAY") {
            return Ok(Self { name: d.to_string_lossy().into_owned(), xvfb: None });
        }
        for n in 90..140 {
            if display_in_use(n) {
                continue;
            }
            let name = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([name.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("Xvfb: {e}"))?;
            let mut d = Self { name, xvfb: Some(child) };
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return Ok(d);
                }
                if let Some(c) = d.xvfb.as_mut()
                    && let Ok(Some(_)) = c.try_wait()
                {
                    break; // lost a race for this display number: try the next
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Some(mut c) = d.xvfb.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        Err("could not start Xvfb".into())
    }
}

/// Whether display `:n` belongs to a running X server. A lock file whose process is gone
/// (an Xvfb that was SIGKILLed) is stale: the new server replaces it.
fn display_in_use(n: u32) -> bool {
    let lock = format!("/tmp/.X{n}-lock");
    match std::fs::read_to_string(&lock) {
        Ok(pid) => pid.trim().parse::<u32>().is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists()),
        Err(_) => Path::new(&format!("/tmp/.X11-unix/X{n}")).exists(),
    }
}

impl Drop for Display {
    /// SIGTERM first so Xvfb removes its lock file and socket.
    fn drop(&mut self) {
        if let Some(mut c) = self.xvfb.take() {
            stop(&mut c);
        }
    }
}

/// One HTTP/1.1 request to the driver on loopback; returns the JSON body's `value`.
/// tauri-driver sometimes drops a fresh connection without answering; that is retried.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut last = String::new();
    for attempt in 0..8 {
        match http_once(port, method, path, body) {
            Err(e) if e.starts_with("empty response") => {
                last = e;
                std::thread::sleep(Duration::from_millis(25 << attempt.min(4)));
            }
            other => return other,
        }
    }
    Err(last)
}

fn http_once(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect driver: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(if path.ends_with("/session") { 120 } else { 20 }))).ok();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    // Read until the body is complete (drivers may keep the connection open).
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let split = loop {
        let n = s.read(&mut buf).map_err(|e| format!("read driver: {e}"))?;
        if n == 0 {
            if raw.is_empty() {
                return Err(format!("empty response to {method} {path}"));
            }
            break raw
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .ok_or_else(|| format!("bad HTTP response to {method} {path}: {:?}", String::from_utf8_lossy(&raw)))?;
        }
        raw.extend_from_slice(&buf[..n]);
        let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let body = raw.len() - split - 4;
        let length =
            head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
        match length {
            Some(len) if body >= len => break split,
            None if head.contains("transfer-encoding: chunked") && raw.ends_with(b"0\r\n\r\n") => break split,
            _ => {}
        }
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
            if size == 0 || rest.len() < eol + 2 + size {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[(eol + 4 + size).min(rest.len())..];
        }
        body = out;
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| format!("driver answered non-JSON ({e}): {head}"))?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if let Some(err) = value.get("error").and_then(Value::as_str) {
        let msg = value.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(format!("webdriver {err}: {msg}"));
    }
    Ok(value)
}

/// A running `tauri-driver` and one session on the app (the app starts with the session).
#[derive(Debug)]
pub struct AppSession {
    driver: Child,
    port: u16,
    session: String,
    /// How long `POST /session` took (the app process started and its window came up).
    pub session_ms: f64,
    pub started: Instant,
    /// The X display the app runs on (screenshots are read from it).
    display: String,
}

impl AppSession {
    /// Start `tauri-driver`, then the app `bin` with these environment variables.
    pub fn launch(display: &Display, bin: &Path, env: &[(&str, &Path)]) -> Result<Self, String> {
        let td = tauri_driver().ok_or("tauri-driver not found")?;
        let port = free_port().map_err(|e| e.to_string())?;
        let native = free_port().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(td);
        cmd.args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("DISPLAY", &display.name)
            .env("NO_AT_BRIDGE", "1")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let driver = cmd.spawn().map_err(|e| format!("tauri-driver: {e}"))?;
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > Duration::from_secs(20) {
                return Err("tauri-driver did not listen".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut s = Self {
            driver,
            port,
            session: String::new(),
            session_ms: 0.0,
            started: Instant::now(),
            display: display.name.clone(),
        };
        let caps = json!({"capabilities": {"alwaysMatch": {"tauri:options": {"application": bin, "args": []}}}});
        s.started = Instant::now();
        let v = http(port, "POST", "/session", Some(&caps))?;
        s.session_ms = s.started.elapsed().as_secs_f64() * 1000.0;
        s.session = v.get("sessionId").and_then(Value::as_str).ok_or("no session id")?.to_string();
        Ok(s)
    }

    fn path(&self, p: &str) -> String {
        format!("/session/{}{p}", self.session)
    }

    pub fn script(&self, script: &str, args: Value) -> Result<Value, String> {
        http(self.port, "POST", &self.path("/execute/sync"), Some(&json!({"script": script, "args": args})))
    }

    /// An asynchronous script: its last argument is the callback that returns the value.
    pub fn script_async(&self, script: &str, args: Value) -> Result<Value, String> {
        http(self.port, "POST", &self.path("/execute/async"), Some(&json!({"script": script, "args": args})))
    }

    /// Elements matching a CSS selector (ids for `click`, `text` …).
    pub fn find_all(&self, css: &str) -> Result<Vec<String>, String> {
        let v =
            http(self.port, "POST", &self.path("/elements"), Some(&json!({"using": "css selector", "value": css})))?;
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(|e| e.get(ELEMENT_KEY)?.as_str().map(str::to_string)).collect())
            .unwrap_or_default())
    }

    /// Wait until a selector matches a displayed element; returns its id.
    pub fn wait(&self, css: &str, timeout: Duration) -> Result<String, String> {
        let start = Instant::now();
        loop {
            if let Some(id) = self.find_all(css)?.into_iter().next() {
                return Ok(id);
            }
            if start.elapsed() > timeout {
                return Err(format!("timed out waiting for {css}"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Wait until the element's text contains `needle`; returns the text.
    pub fn wait_text(&self, css: &str, needle: &str, timeout: Duration) -> Result<String, String> {
        let start = Instant::now();
        let mut last = String::new();
        loop {
            if let Some(id) = self.find_all(css)?.into_iter().next() {
                last = self.text(&id)?;
                if last.contains(needle) {
                    return Ok(last);
                }
            }
            if start.elapsed() > timeout {
                return Err(format!("timed out waiting for {needle:?} in {css} (last: {last:?})"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn click(&self, id: &str) -> Result<(), String> {
        http(self.port, "POST", &self.path(&format!("/element/{id}/click")), Some(&json!({}))).map(|_| ())
    }

    /// Wait for a selector, then click it.
    pub fn tap(&self, css: &str) -> Result<(), String> {
        let id = self.wait(css, Duration::from_secs(20))?;
        self.click(&id)
    }

    pub fn text(&self, id: &str) -> Result<String, String> {
        Ok(http(self.port, "GET", &self.path(&format!("/element/{id}/text")), None)?.as_str().unwrap_or("").to_string())
    }

    pub fn attr(&self, id: &str, name: &str) -> Result<Option<String>, String> {
        Ok(http(self.port, "GET", &self.path(&format!("/element/{id}/attribute/{name}")), None)?
            .as_str()
            .map(str::to_string))
    }

    pub fn property(&self, id: &str, name: &str) -> Result<Value, String> {
        http(self.port, "GET", &self.path(&format!("/element/{id}/property/{name}")), None)
    }

    pub fn type_text(&self, id: &str, text: &str) -> Result<(), String> {
        http(self.port, "POST", &self.path(&format!("/element/{id}/value")), Some(&json!({"text": text}))).map(|_| ())
    }

    /// Save a PNG screenshot of the screen the app is on. Read straight from the X server:
    /// WebKitWebDriver's own screenshot under Xvfb sometimes never answers (20 s each), so it
    /// is only the fallback. A missing picture is reported, not a failure of the app.
    pub fn screenshot(&self, file: &Path) -> Result<(), String> {
        // Let the last DOM change reach the screen first.
        std::thread::sleep(Duration::from_millis(150));
        let x11 = capture_x11(&self.display).and_then(|png| std::fs::write(file, png).map_err(|e| e.to_string()));
        let Err(x11_error) = x11 else { return Ok(()) };
        use base64::Engine;
        match http(self.port, "GET", &self.path("/screenshot"), None) {
            Ok(v) => {
                let png = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap_or(""))
                    .map_err(|e| format!("screenshot: {e}"))?;
                std::fs::write(file, png).map_err(|e| e.to_string())
            }
            Err(e) => {
                eprintln!("screenshot {} not taken: X11: {x11_error}; WebDriver: {e}", file.display());
                Ok(())
            }
        }
    }

    /// End the session politely (the app quits) and stop the driver.
    pub fn close(self) {
        let _ = http(self.port, "DELETE", &self.path(""), None);
        // Drop stops the driver.
    }
}

/// Stop tauri-driver with SIGTERM first so it stops WebKitWebDriver too, then make sure.
fn stop(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for AppSession {
    fn drop(&mut self) {
        stop(&mut self.driver);
    }
}

/// Pids of running processes whose executable is `bin` and whose environment holds
/// `HOUMON_DATA_DIR=<data_dir>`: exactly the app instances this run started.
pub fn app_pids(bin: &Path, data_dir: &Path) -> Vec<u32> {
    let want_env = format!("HOUMON_DATA_DIR={}", data_dir.display());
    let Ok(rd) = std::fs::read_dir("/proc") else { return vec![] };
    rd.filter_map(|e| {
        let e = e.ok()?;
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let exe = std::fs::read_link(e.path().join("exe")).ok()?;
        if exe != bin {
            return None;
        }
        let env = std::fs::read(e.path().join("environ")).ok()?;
        env.split(|b| *b == 0).any(|kv| kv == want_env.as_bytes()).then_some(pid)
    })
    .collect()
}

/// SIGKILL one process by id (the crash test).
pub fn kill_9(pid: u32) -> bool {
    Command::new("kill").args(["-9", &pid.to_string()]).status().is_ok_and(|s| s.success())
}

/// The whole X screen as PNG (24/32-bit TrueColor, as Xvfb `-screen 0 WxHx24` gives).
fn capture_x11(display: &str) -> Result<Vec<u8>, String> {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ConnectionExt, ImageFormat};
    let (conn, screen) = x11rb::connect(Some(display)).map_err(|e| e.to_string())?;
    let root = &conn.setup().roots[screen];
    let (w, h) = (root.width_in_pixels, root.height_in_pixels);
    let image = conn
        .get_image(ImageFormat::Z_PIXMAP, root.root, 0, 0, w, h, !0)
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|e| e.to_string())?;
    if image.depth != 24 && image.depth != 32 {
        return Err(format!("unsupported X depth {}", image.depth));
    }
    let (w, h) = (usize::from(w), usize::from(h));
    if image.data.len() < w * h * 4 {
        return Err("short X image".into());
    }
    // Z pixmap at depth 24 is 32 bits per pixel, little-endian BGRX.
    let rgb: Vec<u8> = image.data.chunks_exact(4).take(w * h).flat_map(|p| [p[2], p[1], p[0]]).collect();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The app binary for an end-to-end test, or `None` (the reason printed) when a prerequisite
/// is missing; under CI (which installs them all) a missing one fails instead of skipping.
pub fn app_binary_or_skip(what: &str) -> Option<PathBuf> {
    if let Some(why) = missing_prerequisite() {
        assert!(std::env::var_os("CI").is_none(), "{what} cannot run under CI: {why}");
        eprintln!("SKIPPED {what}: {why}");
        return None;
    }
    workspace_bin("houmon-app").and_then(|p| p.canonicalize().ok())
}

/// Where end-to-end screenshots go (`HOUMON_SCREENSHOT_DIR`, default
/// `<target>/houmon-e2e-screens`), printed.
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("HOUMON_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| profile_dir().unwrap_or_else(std::env::temp_dir).join("houmon-e2e-screens"));
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    eprintln!("screenshots: {}", dir.display());
    dir
}

/// The policy root the app reads (`HOUMON_POLICY_DIR`, Linux layout): `managed/houmon.json`.
pub fn write_managed_policy(root: &Path, body: &Value) {
    let p = root.join("managed/houmon.json");
    std::fs::create_dir_all(p.parent().expect("parent")).expect("policy dir");
    std::fs::write(&p, body.to_string()).expect("policy");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("mode");
    }
}
