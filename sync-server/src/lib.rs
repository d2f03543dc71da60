//! `houmon-relay`: the blind relay (ARCHITECTURE.md, *The relay is blind*). Per clinic it keeps
//! an append-only log of opaque entries `(doc id, seq, device, entry id, signature, ciphertext)`
//! and client-made snapshots, serves "everything after cursor N" in one request, and pushes new
//! entries over WebSockets. Devices enroll with one-time codes and sign every request (Ed25519).
//!
//! Must never: parse, decompress or decrypt an entry or snapshot (it has no key and no CRDT
//! code); hold private keys or the clinic content key; answer a device about another clinic.

pub mod pg;
pub mod server;
pub mod store;

pub use pg::PgStore;
pub use server::{Limits, Relay};
pub use store::{RelayStore, SqliteStore, StoreError};

use std::sync::Arc;

/// Whether `--database` names a PostgreSQL server rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Open the relay database: a `postgres://` URL (several relay processes may share it) or a
/// SQLite file path (created if missing; one process).
pub fn open_store(db: &str) -> Result<Arc<dyn RelayStore>, StoreError> {
    if is_postgres_url(db) { Ok(PgStore::open(db, 16)?) } else { Ok(SqliteStore::open(std::path::Path::new(db))?) }
}

/// 16 random bytes (ids).
pub fn random16() -> [u8; 16] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    // The system RNG does not fail on supported platforms; a zero id would be refused by
    // the unique indexes rather than silently shared.
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b
}
