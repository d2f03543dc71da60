//! `houmon-mdm`: writes the MDM artifacts (JSON Schema, Android restrictions, AppConfig,
//! ADMX/ADML, macOS profile, Linux example, reference pages) from the one settings schema.
//!
//! ```text
//! houmon-mdm [DIR]        # default: the repository's mdm/
//! ```
//!
//! Every artifact is first checked as its consumer reads it (`houmon_policy::validate`); if one
//! fails, the problems are printed and nothing is written (exit status 1).
//!
//! Must never: write anything but the generated artifacts, write a file that fails validation,
//! or write a secret setting's value.

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
        Err(houmon_policy::generate::WriteError::Io(e)) => {
            eprintln!("mdm/ を書き込めません / cannot write {}: {e}", dir.display());
            std::process::exit(1);
        }
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    }
}
