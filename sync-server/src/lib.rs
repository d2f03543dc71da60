//! `houmon-relay`: the blind relay (ARCHITECTURE.md, *The relay is blind*). Per clinic it keeps
//! an append-only log of opaque entries `(doc id, seq, device, entry id, signature, ciphertext)`
//! and client-made snapshots, serves "everything after cursor N" in one request, and pushes new
//! entries over WebSockets. Devices enroll with one-time codes and sign every request (Ed25519).
//!
//! Must never: parse, decompress or decrypt an entry or snapshot (it has no key and no CRDT
//! code); hold private keys or the clinic content key; answer a device about another clinic.

pub mod server;
pub mod store;

pub use server::{Limits, Relay};
pub use store::{RelayStore, SqliteStore};

/// 16 random bytes (ids).
pub fn random16() -> [u8; 16] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    // The system RNG does not fail on supported platforms; a zero id would be refused by
    // the unique indexes rather than silently shared.
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b
}
