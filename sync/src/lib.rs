//! Synchronisation for the tasks of one thread: channels, a notifier, a semaphore, locks, a
//! cancellation token, and one channel that crosses threads.
//!
//! minireactor runs all its tasks on one thread, and they are `!Send`. So these primitives keep
//! their state in `Cell`s and `RefCell`s behind an `Rc`: no atomic instruction, no lock, no
//! memory fence, where `tokio::sync` and `futures-channel` pay for all three (they work on
//! minireactor too, at that price). Nothing here is `Sync`, and every handle that shares state
//! (channel halves, tokens, owned permits), every future and every guard is `!Send` — except in
//! [`remote`], whose sender is meant for other threads and which uses a `std::sync::Mutex`. (A
//! primitive you own outright, such as a `Semaphore` or a `Mutex<T>`, is `Send` when its
//! contents are, like a `RefCell`: it can move to another thread, never be shared with one.)
//! Re-exported by the facade as `minireactor::sync`.
//!
//! | primitive | what for |
//! |---|---|
//! | [`oneshot`] | one value, once |
//! | [`mpsc`] | a queue of messages, bounded (senders wait, FIFO) or unbounded |
//! | [`broadcast`] | every receiver sees every value; slow receivers are told what they missed |
//! | [`watch`] | the latest value, and a wake when it changes |
//! | [`Notify`] | "something happened", to one task or to all |
//! | [`Semaphore`] | at most N at a time |
//! | [`Mutex`], [`RwLock`] | exclusive or shared access held across `.await` |
//! | [`CancellationToken`] | a tree of "stop" flags |
//! | [`remote`] | from another thread into a task |
//!
//! The names and signatures are tokio's where tokio has the same thing, so code moves over by
//! changing the import. The differences: the `owned` variants take `Rc`, not `Arc`;
//! [`Semaphore::acquire_owned`] exists but the locks have no owned guards.
//!
//! ```
//! use std::rc::Rc;
//! use minireactor_sync::{mpsc, oneshot, Mutex};
//!
//! minireactor::block_on(async {
//!     // A task that owns a counter and answers requests.
//!     let (requests, mut inbox) = mpsc::channel::<(u32, oneshot::Sender<u32>)>(8);
//!     let total = Rc::new(Mutex::new(0));
//!     let server = {
//!         let total = total.clone();
//!         minireactor::spawn(async move {
//!             while let Some((n, reply)) = inbox.recv().await {
//!                 let mut total = total.lock().await;
//!                 *total += n;
//!                 let _ = reply.send(*total);
//!             }
//!         })
//!     };
//!     for n in 1..=3 {
//!         let (reply, answer) = oneshot::channel();
//!         requests.send((n, reply)).await.unwrap();
//!         println!("running total: {}", answer.await.unwrap());
//!     }
//!     drop(requests); // the server's `recv` now returns `None`
//!     server.await.unwrap();
//!     assert_eq!(*total.lock().await, 6);
//! });
//! ```
//!
//! # Common to every primitive
//!
//! - **Close semantics are tokio's**: when every sender is gone the receiver drains what is
//!   queued and then sees the end; when the receiver is gone, a send hands the value back.
//! - **Waiters leave when their future is dropped.** Each waiting future owns one node of a
//!   slab-backed linked list (`waiters`), removed in O(1) by its `Drop`; re-polling only swaps
//!   its waker, in O(1). Whatever was handed to a waiter that is then dropped — a `notify_one`,
//!   semaphore permits, a lock, a channel slot — passes to the next waiter. Each method says
//!   what cancelling it means, under "Cancel safety".
//! - **FIFO where it matters**: the semaphore, both locks, bounded senders and
//!   `Notify::notify_one` serve waiters in arrival order, and a newcomer never overtakes them.
//! - **The cooperative budget**: an operation that completes without waiting spends one unit
//!   of the task's budget ([`minireactor_reactor::coop`]), so a task whose channel is never
//!   empty still yields to the others every 128 operations.
//! - **No borrow across user code**: wakers are woken, and user values dropped, only after the
//!   primitive's `RefCell` borrow is released. (Exceptions, for speed: a waker is cloned while
//!   the primitive is borrowed, and so is a [`broadcast`] value; a waker a re-poll or a dropped
//!   waiter replaces is dropped there too, which for this runtime's wakers only decrements a
//!   count. A `Clone` or a waker's drop that used the same primitive would panic.) The crate
//!   has no `unsafe`.

#![forbid(unsafe_code)]

#[macro_use]
mod closed_error;

pub mod broadcast;
mod cancellation_token;
pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
pub mod remote;
mod rwlock;
mod semaphore;
mod waiters;
mod waker_slot;
pub mod watch;

pub use cancellation_token::{
    CancellationToken, DropGuard, WaitForCancellationFuture, WaitForCancellationFutureOwned,
};
pub use mutex::{Lock, MappedMutexGuard, Mutex, MutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use rwlock::{Read, RwLock, RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard, Write};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};

#[cfg(test)]
mod tests;
