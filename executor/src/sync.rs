//! The lock and atomics of the remote-wake protocol in `remote`, from `std` or, in the crate's
//! own loom tests (run as `.ci/run` does: see `remote/loom_tests.rs`), from loom, which then
//! explores every interleaving and every value the memory model lets a load return.
//!
//! Only code that a loom model runs takes them from here; the rest of the crate uses `std`
//! directly. A build of the library with `--cfg loom` that is not its test build still uses
//! `std`: loom is a dev-dependency.

#[cfg(all(test, loom))]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, Ordering},
    Mutex, MutexGuard,
};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, Ordering},
    Mutex, MutexGuard,
};
