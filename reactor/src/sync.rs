//! The atomics of the cross-thread handshake in `unpark`, from `std` or, in the crate's own loom
//! tests (run as `.ci/run` does: see `unpark/loom_tests.rs`), from loom, which then explores every
//! interleaving and every value the memory model lets a load return.
//!
//! Only code that a loom model runs takes its atomics from here; the rest of the crate uses
//! `std` directly (loom atomics cannot be `static`, and work only inside a model). A build of
//! the library with `--cfg loom` that is not its test build still uses `std`: loom is a
//! dev-dependency.

#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
