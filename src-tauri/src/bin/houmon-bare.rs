//! A minimal Tauri window showing one static paragraph (`ui/public/bare.html`, no script):
//! the yardstick for `houmon-bench app` (start_vs_bare_tauri). Same runtime, same window
//! size and CSP, no commands, no store.

fn main() {
    let mut context = tauri::generate_context!();
    // The window of tauri.conf.json, pointed at the static page instead of the app.
    for w in &mut context.config_mut().app.windows {
        w.url = tauri::WebviewUrl::App("bare.html".into());
        w.title = "bare".into();
    }
    if let Err(e) = tauri::Builder::default().run(context) {
        eprintln!("houmon-bare: {e}");
        std::process::exit(1);
    }
}
