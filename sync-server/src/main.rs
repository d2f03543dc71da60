//! `houmon-relay`: the blind relay (filled by the sync issue). It stores opaque encrypted
//! entries per clinic and must never parse or decrypt a document.

fn main() {
    eprintln!("houmon-relay: not yet implemented (see the sync issue)");
    std::process::exit(2);
}
