//! What the benchmark drivers of this package share: where the workspace and the build
//! output are ([`dirs`]), the Markdown they print and may write into BENCHMARKS.md
//! ([`report`]), counting instructions under callgrind ([`callgrind`]), and the echo client's
//! poller, which the `raw_echo` baseline server uses too ([`epoll`]).
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
pub mod epoll;
pub mod report;

/// tokio's `current_thread` runtime with its I/O and time drivers, as an application builds it:
/// the baseline of the executor and sync benchmarks. (Without the drivers it parks without a
/// syscall, which minireactor, whose reactor is always there, cannot.)
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
