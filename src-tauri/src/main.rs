//! The Tauri 2 shell (filled by the tablet app issue). Until then the workspace keeps this
//! crate free of Tauri so that `cargo test` needs no WebKit.

fn main() {
    eprintln!("houmon-app: the tablet app is not built yet; try `houmon-card` (see README)");
    std::process::exit(2);
}
