//! Generates the app's command permissions (one `allow-<command>` each), so the capability
//! file can grant exactly the commands the UI uses and nothing else.
//!
//! If the UI has not been built (`ui/dist` missing, e.g. `cargo test` on a fresh clone), a
//! placeholder page is written there so the crate still compiles; the real app needs
//! `npm run build` in `ui/` first (scripts do that).
fn main() {
    let dist = std::path::Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        let _ = std::fs::create_dir_all(dist);
        let _ = std::fs::write(
            dist.join("index.html"),
            "<!doctype html><meta charset=utf-8><title>Houmon</title>\
             <p>UI not built: run <code>npm ci &amp;&amp; npm run build</code> in ui/.</p>",
        );
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(houmon_app_commands::COMMANDS)),
    )
    .expect("tauri-build failed");
}

#[path = "src/command_list.rs"]
mod houmon_app_commands;
