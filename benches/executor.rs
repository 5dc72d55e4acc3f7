//! Placeholder replaced by the executor micro-benchmarks.
fn main() {}
