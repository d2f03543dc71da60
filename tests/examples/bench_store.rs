//! Temporary runner for the store benchmark until `houmon-bench store` is wired:
//! `cargo run --release -p houmon-tests --example bench_store -- --patients 1000`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result =
        houmon_tests::bench_store::StoreBenchArgs::parse(&args).and_then(|a| houmon_tests::bench_store::run(&a));
    if let Err(e) = result {
        eprintln!("bench_store: {e}");
        std::process::exit(1);
    }
}
