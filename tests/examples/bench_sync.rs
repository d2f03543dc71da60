//! Run the sync benchmark without `houmon-bench` (until it is wired as `houmon-bench sync`):
//! `cargo run --release -p houmon-tests --example bench_sync [-- --quick]`.

fn main() -> std::process::ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    match houmon_tests::bench_sync::run(quick) {
        Ok(json) => {
            println!("{json}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("houmon-bench sync: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
