//! The I/O layer of minireactor: [`AsyncFd`], which makes any fd awaitable through this
//! thread's reactor. It depends on the reactor, and on the blocking pool for the DNS lookups of
//! [`net`] and for [`fs`] and [`stdio`], never on the executor: any executor that turns this
//! thread's reactor can drive it.
//!
//! Reading order: `sys` (the raw syscalls), then [`AsyncFd`] (the edge-trigger contract is in its
//! module documentation), then [`net`] (sockets), [`signal`] and [`process`] (child processes,
//! watched through pidfds or `SIGCHLD`); [`fs`] and [`stdio`] are what cannot be epolled, run on
//! the blocking pool.

mod async_fd;
pub mod fs;
pub mod net;
pub mod process;
pub mod signal;
pub mod stdio;
mod sys;

pub use async_fd::{AsyncFd, AsyncFdReadyGuard, AsyncFdTryNewError, TryIoError};
pub use minireactor_reactor::{Interest, Ready};
