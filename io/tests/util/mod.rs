//! Fixtures for the fs and stdio tests: those shared with the workspace's integration tests
//! (watchdogs, a scratch directory, test data, pty and FIFO; `tests/util/common.rs`), and the
//! `fcntl` flag checks only these tests need.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

// The fixtures this tree shares with the workspace's integration tests.
#[path = "../../../tests/util/common.rs"]
mod common;
#[allow(unused_imports)] // As for dead code: each test binary uses a different subset.
pub use common::*;

/// Whether `O_NONBLOCK` is set on the open file description behind `fd`.
pub fn is_nonblocking(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GETFL takes no argument; `fd` is open for the borrow's lifetime.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert_ne!(flags, -1, "fcntl(F_GETFL): {}", io::Error::last_os_error());
    flags & libc::O_NONBLOCK != 0
}

/// Sets `O_NONBLOCK` on the open file description behind `fd` (what the stdio handles must
/// never do; used to show that the check above sees it through another fd).
pub fn set_nonblocking(fd: BorrowedFd<'_>) {
    // SAFETY: F_GETFL takes no argument; `fd` is open for the borrow's lifetime.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert_ne!(flags, -1, "fcntl(F_GETFL): {}", io::Error::last_os_error());
    // SAFETY: F_SETFL takes an int of flags; `fd` is open.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) };
    assert_ne!(rc, -1, "fcntl(F_SETFL): {}", io::Error::last_os_error());
}
