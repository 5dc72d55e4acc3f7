//! The reactor of minireactor: one edge-triggered epoll instance per thread, the readiness of
//! every registered fd, the timers, and a way for other threads to interrupt a blocking wait.
//!
//! Reading order:
//! 1. [`sys`](self) — every raw syscall (epoll, eventfd), in one file.
//! 2. `readiness` — the readiness bits and how epoll's event mask maps onto them.
//! 3. `source` — per-fd state in the slab: readiness stamped with a tick, and the waiters.
//! 4. `reactor` — the thread-local [`Reactor`] and its [`Reactor::turn`].
//! 5. `registration` — [`Registration`], what an I/O resource holds.
//! 6. `timers` and [`time`] — the deadline map and the `Sleep`/`Timeout`/`Interval` futures.
//! 7. `unpark` — [`Unparker`], the cross-thread wake through an eventfd.
//!
//! The contract with I/O resources, in one paragraph: every fd is registered once,
//! edge-triggered, for all directions. Readiness, once seen, stays set until the resource
//! observes `EAGAIN`/`WouldBlock` and clears it with the [`ReadyEvent`] it acted on; a clear is
//! ignored if a newer event arrived meanwhile. So the I/O loop is always: wait for readiness, try
//! the operation, and on `WouldBlock` clear and wait again.

pub mod coop;
mod reactor;
mod readiness;
mod registration;
mod source;
mod sys;
pub mod time;
mod timers;
mod unpark;

pub use reactor::Reactor;
pub use readiness::{Interest, Ready, ReadyEvent};
pub use registration::Registration;
pub use unpark::Unparker;
