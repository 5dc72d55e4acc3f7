//! What the benchmark drivers of this package share: where the workspace and the build
//! output are ([`dirs`]), the Markdown they print and may write into BENCHMARKS.md
//! ([`report`]), and counting instructions under callgrind ([`callgrind`]).
//!
//! The drivers are the bench targets (`benches/echo/`, `benches/executor/`); the baseline echo
//! servers that `echo` compares minireactor's `examples/echo.rs` against are the bins
//! `tokio_echo` and `raw_echo`:
//!
//! ```text
//! cargo bench -p minireactor-benches --bench echo -- --help
//! cargo bench -p minireactor-benches --bench executor
//! cargo bench -p minireactor-benches --bench executor -- --callgrind
//! cargo run --release -p minireactor-benches --bin tokio_echo
//! ```

pub mod callgrind;
pub mod dirs;
pub mod report;
