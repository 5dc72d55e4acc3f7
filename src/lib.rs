//! minireactor: a single-threaded async runtime for Linux, built directly on epoll.
//!
//! One thread, one epoll instance (edge-triggered), nothing hidden. The runtime is a few small
//! crates, re-exported here (all but the blocking pool, which [`spawn_blocking`] reaches):
//!
//! - the **reactor** (`minireactor-reactor`): the thread's epoll instance, per-fd readiness and
//!   waiters, timers and their clock, the cooperative budget, and the cross-thread unparker;
//! - the **executor** (`minireactor-executor`): [`block_on`], [`spawn`], [`spawn_blocking`],
//!   [`JoinHandle`], [`task::JoinSet`], [`Runtime`] and its [`Builder`];
//! - the **blocking pool** (`minireactor-blocking`), for what would block the thread: use it
//!   through [`spawn_blocking`], or depend on it for a pool of your own;
//! - **io** (`minireactor-io`): [`io::AsyncFd`], which makes any fd awaitable, and what is built
//!   on it: [`net`], [`process`], [`signal`], [`fs`], the standard streams;
//! - **sync** (`minireactor-sync`): [`sync`], local channels, locks and notifications;
//! - **devone** (`minireactor-devone`): [`devone::Devone`], our teaching character device.
//!
//! ```
//! use std::time::Duration;
//!
//! let total = minireactor::block_on(async {
//!     let tasks: Vec<_> = (1..=3)
//!         .map(|i| minireactor::spawn(async move {
//!             minireactor::time::sleep(Duration::from_millis(i)).await;
//!             i
//!         }))
//!         .collect();
//!     let mut total = 0;
//!     for task in tasks {
//!         total += task.await.unwrap();
//!     }
//!     total
//! });
//! assert_eq!(total, 6);
//! ```

pub use minireactor_executor::{
    block_on, spawn, spawn_blocking, yield_now, Builder, JoinError, JoinHandle, Runtime,
};
pub use minireactor_reactor::time;

/// Awaitable file descriptors, and the standard streams.
pub mod io {
    pub use minireactor_io::stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
    pub use minireactor_io::{
        AsyncFd, AsyncFdReadyGuard, AsyncFdTryNewError, Interest, Ready, TryIoError,
    };
}

pub use minireactor_io::{fs, net, process, signal};

pub use minireactor_devone as devone;
pub use minireactor_sync as sync;

/// Tasks: handles, ids, sets, and the cooperative budget.
pub mod task {
    pub use minireactor_executor::task::{id, try_id, AbortHandle, Id, JoinError, JoinHandle};
    pub use minireactor_executor::{spawn, spawn_blocking, yield_now, JoinSet};
    pub use minireactor_reactor::coop::{consume_budget, unconstrained, Unconstrained};
}

/// The reactor itself, for tests and for code that drives it directly.
pub mod reactor {
    pub use minireactor_reactor::{Reactor, Readiness, ReadyEvent, Registration, Unparker};
}

/// The README's code blocks, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
