//! A production build of the app (`cargo build -p houmon-app --no-default-features`) carries no
//! synthetic card's private key; the training build (the default) does, which is the control
//! that shows the search finds an embedded key.
//!
//! `HOUMON_PRODUCTION_APP` names the production binary and `HOUMON_TRAINING_APP` the training one
//! (`scripts/test-all.sh` builds both and runs these with `--ignored`). Without them the test says
//! why it does nothing; under CI it fails instead.

use std::path::{Path, PathBuf};

/// 64 bytes from the middle of each synthetic card's PKCS#8 key (inside the private exponent):
/// a binary that embeds the key holds them contiguously.
fn key_windows() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/jpki-test");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixtures/jpki-test")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("card-") && n.ends_with(".key.pk8"))
        })
        .map(|p| {
            let der = std::fs::read(&p).expect("key file");
            (p.file_name().unwrap().to_string_lossy().into_owned(), der[400..464].to_vec())
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 5, "the five synthetic cards' keys");
    out
}

fn embedded_keys(binary: &Path) -> Vec<String> {
    let bytes = std::fs::read(binary).unwrap_or_else(|e| panic!("read {}: {e}", binary.display()));
    key_windows()
        .into_iter()
        .filter(|(_, w)| bytes.windows(w.len()).any(|b| b == w.as_slice()))
        .map(|(n, _)| n)
        .collect()
}

fn binary(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CI").is_some() => panic!("{var} is not set: scripts/test-all.sh builds it"),
        None => {
            eprintln!("skipped: {var} is not set (scripts/test-all.sh builds the binary and sets it)");
            None
        }
    }
}

#[test]
#[ignore = "needs both app builds: scripts/test-all.sh runs it with --ignored"]
fn the_training_build_embeds_the_synthetic_card_keys() {
    let Some(app) = binary("HOUMON_TRAINING_APP") else { return };
    assert_eq!(embedded_keys(&app).len(), 5, "the control: the training app holds every synthetic card key");
}

#[test]
#[ignore = "needs both app builds: scripts/test-all.sh runs it with --ignored"]
fn the_production_build_embeds_no_synthetic_card_key() {
    let Some(app) = binary("HOUMON_PRODUCTION_APP") else { return };
    assert_eq!(embedded_keys(&app), Vec::<String>::new(), "a production app must carry no synthetic card key");
}
