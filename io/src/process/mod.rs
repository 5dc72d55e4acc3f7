//! Child processes, awaited through this thread's reactor: [`Command`], [`Child`] and the
//! child's pipes — the shape of `tokio::process`.
//!
//! ```
//! use minireactor::process::Command;
//!
//! minireactor::block_on(async {
//!     let output = Command::new("echo").arg("hi").output().await?;
//!     assert!(output.status.success());
//!     assert_eq!(output.stdout, b"hi\n");
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # No thread, no zombies
//!
//! Spawning is std's ([`std::process::Command`]). A child's exit is an event on the epoll set
//! like any other: a **pidfd** (`pidfd_open`, Linux ≥ 5.3) that becomes readable when it
//! exits, after which it is reaped with `waitid(P_PIDFD)`. Where pidfds are unavailable
//! (`ENOSYS`, or `EPERM` in some sandboxes) each child waits for **SIGCHLD** instead (through
//! [`crate::signal`]) and is reaped with `waitpid(its pid, WNOHANG)` — only our own children,
//! never `waitpid(-1)`. The environment variable `MINIREACTOR_FORCE_SIGCHLD_REAPER` forces
//! that path (read once, at the first spawn), for tests.
//!
//! A [`Child`] dropped before it was reaped is **orphaned**, not forgotten: it is killed first
//! if [`Command::kill_on_drop`] was set, then kept in a per-thread list and reaped when it
//! exits, by the reactor itself (the list's waker reaps when woken) — no task, no thread, no
//! lasting zombie, as long as the thread's runtime runs. A child still running when its thread
//! exits is left as it is.
//!
//! A [`Child`] belongs to the thread that spawned it (it is not `Send`), like every resource
//! of this runtime.
//!
//! # Caveats
//!
//! - If other code reaps our children (`SIGCHLD` set to `SIG_IGN`, `SA_NOCLDWAIT`, or a
//!   `waitpid(-1)` loop), waiting fails with an error that says so; no status can be recovered.
//! - Writing to the stdin of a child that has exited fails with `BrokenPipe`, because Rust
//!   programs ignore SIGPIPE (see [`ChildStdin`]).

mod child;
mod command;
mod orphans;
mod pipe;
mod unreaped;

pub use child::Child;
pub use command::Command;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};
