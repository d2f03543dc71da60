//! Wire-protocol types shared by `houmon-relay` and the sync client in `houmon-core`, so
//! neither depends on the other. Must never: contain plaintext document types or parse
//! document contents (the relay is blind).
