//! End-to-end test support shared by the integration tests and `houmon-bench`.

pub mod app_driver;
pub mod bench_app;
pub mod bench_store;
pub mod bench_sync;
pub mod card_env;
pub mod first_visit;
