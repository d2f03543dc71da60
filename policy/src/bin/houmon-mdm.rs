//! `houmon-mdm`: writes the MDM artifacts (JSON Schema, Android restrictions, AppConfig,
//! ADMX/ADML, macOS profile, Linux example, reference pages) from the one settings schema.
//!
//! ```text
//! houmon-mdm [DIR]        # default: the repository's mdm/
//! ```
//!
//! Must never: write anything but the generated artifacts, or a secret setting's value.

use std::path::PathBuf;

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mdm"));
    match houmon_policy::generate::write_all(&dir) {
        Ok(()) => println!(
            "{}",
            serde_json::json!({ "dir": dir.display().to_string(), "files": houmon_policy::generate::artifacts().len() })
        ),
        Err(e) => {
            eprintln!("mdm/ を書き込めません / cannot write {}: {e}", dir.display());
            std::process::exit(1);
        }
    }
}
