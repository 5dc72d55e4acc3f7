//! A channel from other threads into a task: [`channel`] returns a `Send + Clone` [`Sender`]
//! and a [`Receiver`] to await on the runtime's thread. It is how a device thread or a blocking
//! closure feeds a task.
//!
//! This is the one primitive of the crate that crosses threads, so it uses a `std::sync::Mutex`
//! (around the queue, the receiver's waker and the counts). Invariants:
//! - **One wake per sleep.** The receiver stores its waker only when it finds the queue empty;
//!   the first send after that takes the waker out and wakes it, later sends find no waker and
//!   only queue. However many messages arrive while the receiver sleeps, it is woken once; for a
//!   minireactor task that is one push to the runtime's remote queue and at most one eventfd
//!   write.
//! - The receiver takes the whole queue at once (swapping it with its own empty buffer), so it
//!   locks once per batch, not once per message.
//! - Wakers are woken, and messages dropped, outside the lock.
//! - Close semantics are [`mpsc`](crate::mpsc)'s: every sender gone → the receiver drains
//!   the queue, then sees `None`; receiver closed or gone → `send` hands the message back.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Waker};

use minireactor_reactor::coop;

/// Errors of the [`remote`](super) channel: those of [`mpsc`](crate::mpsc).
pub mod error {
    pub use crate::mpsc::error::{SendError, TryRecvError};
}

use error::{SendError, TryRecvError};

struct State<T> {
    queue: VecDeque<T>,
    /// The receiver's waker, stored only while it waits on an empty queue.
    waker: Option<Waker>,
    senders: usize,
    /// The receiver was closed or dropped.
    closed: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding the lock (no user code runs under it), but a poisoned
        // lock must not stop the channel either.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Creates a channel whose [`Sender`] may be used from any thread.
///
/// ```
/// use minireactor_sync::remote;
///
/// minireactor::block_on(async {
///     let (tx, mut rx) = remote::channel();
///     let device = std::thread::spawn(move || {
///         for reading in 0..100u32 {
///             tx.send(reading).unwrap();
///         }
///     });
///     let mut total = 0;
///     while let Some(reading) = rx.recv().await {
///         total += reading;
///     }
///     device.join().unwrap();
///     assert_eq!(total, 4950);
/// });
/// ```
pub fn channel<T: Send>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            waker: None,
            senders: 1,
            closed: false,
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            batch: VecDeque::new(),
        },
    )
}

/// The sending half of a [`remote`](self) channel: `Send` and `Clone`, usable from any thread.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Queues a message and wakes the receiver if it sleeps; hands the message back if the
    /// receiver is closed or gone. Never blocks beyond the brief lock.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(SendError(value));
        }
        state.queue.push_back(value);
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            tracing::trace!("remote: waking the receiver");
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver is closed or gone.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        let waker = if state.senders == 0 {
            state.waker.take()
        } else {
            None
        };
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The receiving half of a [`remote`](self) channel, for the runtime's thread.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// Messages taken from the shared queue in one batch, not yet returned.
    batch: VecDeque<T>,
}

impl<T> Receiver<T> {
    /// Waits for the next message; `None` once every sender is gone (or the receiver was
    /// closed) and nothing is left.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a message is returned only by the poll that takes it.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { receiver: self }
    }

    /// [`recv`](Self::recv) as a poll function: registers the waker when it returns `Pending`.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.batch.is_empty() {
            let mut state = self.shared.lock();
            if state.queue.is_empty() {
                if state.senders > 0 && !state.closed {
                    let replaced = match &state.waker {
                        Some(waker) if waker.will_wake(cx.waker()) => None,
                        _ => state.waker.replace(cx.waker().clone()),
                    };
                    drop(state);
                    drop(replaced); // After the lock: its last drop may drop a sender of ours.
                    return Poll::Pending;
                }
                drop(state);
                ready!(coop::poll_proceed(cx));
                return Poll::Ready(None);
            }
            std::mem::swap(&mut state.queue, &mut self.batch);
        }
        ready!(coop::poll_proceed(cx));
        Poll::Ready(self.batch.pop_front())
    }

    /// Takes the next message if there is one.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(value) = self.batch.pop_front() {
            return Ok(value);
        }
        let mut state = self.shared.lock();
        match state.queue.pop_front() {
            Some(value) => Ok(value),
            None if state.senders == 0 || state.closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses new messages; those already queued can still be received.
    pub fn close(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        let waker = state.waker.take();
        drop(state);
        drop(waker);
    }

    /// Whether the receiver was closed or every sender is gone.
    pub fn is_closed(&self) -> bool {
        let state = self.shared.lock();
        state.closed || state.senders == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        let queue = std::mem::take(&mut state.queue);
        let waker = state.waker.take();
        drop(state);
        drop((queue, waker)); // Outside the lock: a message's destructor may do anything.
    }
}

// Nothing is pinned through the receiver: its buffered messages are plain values.
impl<T> Unpin for Receiver<T> {}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("batch", &self.batch.len())
            .finish_non_exhaustive()
    }
}

/// Future of [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}
