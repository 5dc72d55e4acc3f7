//! Awaiting Unix signals: [`ctrl_c`] for SIGINT, [`signal`] for any other (SIGTERM, SIGHUP…).
//!
//! ```no_run
//! minireactor::block_on(async {
//!     minireactor::signal::ctrl_c().await?;
//!     println!("interrupted, shutting down");
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Behaviour
//!
//! - **Any number of listeners, on any threads, each see every delivery** that happens while
//!   they exist, with the sender's pid and uid when the kernel reports them
//!   ([`SignalInfo`]).
//! - **Nothing is counted twice or lost from the count**: a listener that falls behind gets the
//!   deliveries whose details were overwritten folded into its next item
//!   ([`SignalInfo::deliveries`]).
//! - **The handler that was there before is kept and called**: a handler installed by other
//!   code (`sa_handler`, or `sa_sigaction` with `SA_SIGINFO`) is called after ours, with the
//!   kernel's arguments. A previous `SIG_IGN` stays ignored. A previous `SIG_DFL` does nothing
//!   while a listener exists: a default action cannot be run from a handler, and a program that
//!   listens for SIGTERM wants exactly that.
//! - **The last listener to go restores the previous disposition**: once every listener for
//!   SIGINT is dropped, a Ctrl-C terminates the program again (unlike tokio, which keeps its
//!   handler forever: tokio-rs/tokio#7905, where a second Ctrl-C is silently swallowed).
//!
//! # Mechanism
//!
//! The first listener for a signal installs our handler (`sigaction` with `SA_SIGINFO` and
//! `SA_ONSTACK`, and `SA_RESTART` unless a handler it replaces chose otherwise), remembering
//! the disposition it replaced; the last one puts
//! it back (`registry`, serialised by a `Mutex`). The handler is async-signal-safe: it numbers
//! the delivery and records its sender in a lock-free ring of recent deliveries (`ring`),
//! writes 1 to the signal's eventfd, calls the previous handler, and restores `errno`
//! (`handler`). The eventfd is never read, so its counter stays non-zero and every write is a
//! new edge that *every* epoll instance watching it sees; each listener watches its own `dup`
//! of it through an [`AsyncFd`](crate::AsyncFd) and reads the ring from the delivery number it
//! has reached ([`Signal`]).
//!
//! # Caveats
//!
//! - SIGKILL and SIGSTOP cannot be caught; SIGSEGV, SIGBUS, SIGILL and SIGFPE are refused,
//!   since returning from their handler would re-run the faulting instruction.
//! - A previous handler installed with `SA_RESETHAND` (one-shot) is called on every delivery,
//!   and one that wanted `SA_NODEFER` runs with the signal blocked.
//! - A listener created in the parent of a forked process ends (yields `None`) in the child:
//!   the child must create its own.
//! - The handler runs on whatever thread the kernel picks, possibly one that belongs to other
//!   code; it only touches atomics and writes an eventfd.

mod handler;
mod info;
mod kind;
mod listener;
mod registry;
mod ring;

use std::io;

pub use info::SignalInfo;
pub use kind::SignalKind;
pub use listener::Signal;

/// Starts listening for `kind`, installing its handler if this is the first listener.
///
/// Only deliveries after this call are reported.
///
/// # Errors
/// `InvalidInput` for a signal that cannot be listened for (see the caveats in the
/// [module documentation](self)); the OS error if the eventfd or the handler cannot be set up.
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    Signal::new(kind)
}

/// Waits for SIGINT (Ctrl-C). The listener is installed when `ctrl_c` is called, not when the
/// future is first polled, so a Ctrl-C right after the call is not missed; from then until the
/// future completes or is dropped, Ctrl-C does not terminate the process, and after that the
/// previous disposition is back.
///
/// # Errors
/// If the listener cannot be created, or ends before a delivery (in a forked child).
pub fn ctrl_c() -> impl std::future::Future<Output = io::Result<()>> {
    let listener = signal(SignalKind::interrupt());
    async move {
        match listener?.recv().await {
            Some(_) => Ok(()),
            None => Err(io::Error::other(
                "the SIGINT listener ended: it was created before this process was forked",
            )),
        }
    }
}
