//! `houmon-tests`: end-to-end test support shared by the integration tests and `houmon-bench`
//! (the card environment through pcscd, signed first visits, the app driver, the benchmarks).
//!
//! Must never: use real patient data or real cards: everything is synthetic and seeded.

pub mod app_driver;
pub mod bench_app;
pub mod bench_clinic;
pub mod bench_store;
pub mod bench_sync;
pub mod card_env;
pub mod first_visit;
pub mod pg_cluster;
