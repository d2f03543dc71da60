//! The shipped binaries. Having an integration test also makes `cargo test --workspace` build
//! `houmon-app` and `houmon-bare`, which the real-app end-to-end tests in `tests/` drive
//! (the CSP and capability are checked in the unit tests; the assets are compressed inside).

fn executable(path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0 && m.len() > 1_000_000)
}

#[test]
fn app_and_bare_yardstick_are_built() {
    assert!(executable(env!("CARGO_BIN_EXE_houmon-app")));
    assert!(executable(env!("CARGO_BIN_EXE_houmon-bare")));
}
