//! A minimal Tauri window with one static paragraph: the yardstick for
//! `houmon-bench app` (start_vs_bare_tauri). Same runtime, same window size, no commands.

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!("bare.tauri.conf.json")) {
        eprintln!("houmon-bare: {e}");
        std::process::exit(1);
    }
}
