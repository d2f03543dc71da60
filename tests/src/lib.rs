//! End-to-end test support shared by the integration tests and `houmon-bench`.

pub mod bench_store;
pub mod card_env;
pub mod bench_sync;
