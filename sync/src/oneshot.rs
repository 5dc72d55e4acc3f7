//! A channel for one value: [`channel`] returns a [`Sender`] and a [`Receiver`], which is itself
//! the future of the value.
//!
//! The two halves share one block holding the value slot, a state word and one waker per side:
//! a [`LocalRc`], whose freed blocks a per-thread cache recycles, since a channel is typically
//! made and dropped per request. Invariants:
//! - The value is stored at most once, and only while the receiver is open.
//! - Each side wakes the other exactly when it changes what that side can observe: sending or
//!   dropping the sender wakes the receiver; closing or dropping the receiver wakes a sender
//!   waiting in [`Sender::closed`].
//! - A value still in the slot when the receiver goes away is dropped with the receiver (not
//!   kept until the sender is gone too).
//!
//! `channel`, `send` and the receiver's `poll` are `#[inline]`: without the hint LLVM kept them
//! out of line in a caller's crate, which cost 51 of the 164 instructions of a create, send and
//! receive (`benches/sync.rs`, callgrind).

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use minireactor_reactor::coop;
use minireactor_reactor::local_rc::LocalRc;

use crate::waker_slot::WakerSlot;

/// Errors of the [`oneshot`](self) channel.
pub mod error {
    use std::fmt;

    /// The sender was dropped without sending a value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl_closed_error!(RecvError);

    /// Error of [`Receiver::try_recv`](super::Receiver::try_recv).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value yet; the sender is still there.
        Empty,
        /// The sender was dropped without sending, or the value was already taken.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

/// The value was sent.
const SENT: u8 = 1;
/// The sender was dropped (after sending or not).
const SENDER_GONE: u8 = 2;
/// The receiver was closed or dropped.
const RECEIVER_CLOSED: u8 = 4;

struct Inner<T> {
    state: Cell<u8>,
    value: Cell<Option<T>>,
    receiver_waker: WakerSlot,
    sender_waker: WakerSlot,
}

impl<T> Inner<T> {
    fn has(&self, flag: u8) -> bool {
        self.state.get() & flag != 0
    }

    fn set(&self, flag: u8) {
        self.state.set(self.state.get() | flag);
    }

    /// Out of line: a receive that finds its value then saves no registers for this path.
    #[inline(never)]
    fn register_receiver(&self, waker: &Waker) {
        self.receiver_waker.register(waker);
    }
}

/// Creates a channel for one value.
///
/// ```
/// use minireactor_sync::oneshot;
///
/// minireactor::block_on(async {
///     let (tx, rx) = oneshot::channel();
///     minireactor::spawn(async move {
///         let _ = tx.send(6 * 7);
///     });
///     assert_eq!(rx.await, Ok(42));
///
///     let (tx, rx) = oneshot::channel::<u32>();
///     drop(tx);
///     assert!(rx.await.is_err(), "the sender went away without sending");
/// });
/// ```
#[inline]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = LocalRc::new(Inner {
        state: Cell::new(0),
        value: Cell::new(None),
        receiver_waker: WakerSlot::new(),
        sender_waker: WakerSlot::new(),
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver { inner: Some(inner) },
    )
}

/// The sending half of a [`oneshot`](self) channel.
pub struct Sender<T> {
    inner: LocalRc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends the value, or hands it back if the receiver is closed or gone.
    #[inline]
    pub fn send(self, value: T) -> Result<(), T> {
        if self.inner.has(RECEIVER_CLOSED) {
            return Err(value);
        }
        self.inner.value.set(Some(value));
        self.inner.set(SENT);
        // `self` is dropped on return, which marks the sender gone and wakes the receiver.
        Ok(())
    }

    /// Whether the receiver was closed or dropped: a send would fail.
    pub fn is_closed(&self) -> bool {
        self.inner.has(RECEIVER_CLOSED)
    }

    /// Completes when the receiver is closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.has(RECEIVER_CLOSED) {
            ready!(coop::poll_proceed(cx));
            return Poll::Ready(());
        }
        self.inner.sender_waker.register(cx.waker());
        Poll::Pending
    }

    /// Waits until the receiver is closed or dropped, e.g. to stop computing a value nobody
    /// wants.
    ///
    /// ```
    /// use minireactor_sync::oneshot;
    ///
    /// minireactor::block_on(async {
    ///     let (mut tx, rx) = oneshot::channel::<u32>();
    ///     drop(rx);
    ///     tx.closed().await;
    ///     assert!(tx.send(1).is_err());
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.inner.set(SENDER_GONE);
        self.inner.receiver_waker.wake();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a [`oneshot`](self) channel: a future of the value.
///
/// # Cancel safety
///
/// Awaiting `&mut receiver` is cancel safe: dropping that future loses nothing, and the value
/// can still be awaited or taken with [`try_recv`](Receiver::try_recv).
pub struct Receiver<T> {
    /// `None` once the value (or the error) was returned.
    inner: Option<LocalRc<Inner<T>>>,
}

impl<T> Receiver<T> {
    /// Refuses the value: a later [`Sender::send`] fails and a waiting [`Sender::closed`]
    /// completes. A value sent before the close can still be received.
    pub fn close(&mut self) {
        if let Some(inner) = &self.inner {
            inner.set(RECEIVER_CLOSED);
            // Nothing it could wait for is left: a poll from now on returns at once.
            inner.receiver_waker.clear();
            inner.sender_waker.wake();
        }
    }

    /// Whether the sender is gone, or this receiver was closed, and no value waits: no value
    /// can arrive any more.
    pub fn is_terminated(&self) -> bool {
        self.inner.as_ref().is_none_or(|inner| {
            !inner.has(SENT) && inner.state.get() & (SENDER_GONE | RECEIVER_CLOSED) != 0
        })
    }

    /// Whether no value waits to be received.
    pub fn is_empty(&self) -> bool {
        self.inner.as_ref().is_none_or(|inner| !inner.has(SENT))
    }

    /// Takes the value if it is there.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let inner = self.inner.as_ref().ok_or(TryRecvError::Closed)?;
        if inner.has(SENT) {
            let value = inner.value.take().expect("sent means stored");
            self.finish();
            Ok(value)
        } else if inner.has(SENDER_GONE) {
            self.finish();
            Err(TryRecvError::Closed)
        } else if inner.has(RECEIVER_CLOSED) {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Forgets the channel once the outcome was returned.
    fn finish(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.set(RECEIVER_CLOSED);
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = this
            .inner
            .as_ref()
            .expect("oneshot::Receiver polled after completion");
        let state = inner.state.get();
        if state & SENT != 0 {
            ready!(coop::poll_proceed(cx));
            let value = inner.value.take().expect("sent means stored");
            this.finish();
            Poll::Ready(Ok(value))
        } else if state & (SENDER_GONE | RECEIVER_CLOSED) != 0 {
            ready!(coop::poll_proceed(cx));
            this.finish();
            Poll::Ready(Err(RecvError(())))
        } else {
            inner.register_receiver(cx.waker());
            Poll::Pending
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.set(RECEIVER_CLOSED);
            inner.receiver_waker.clear();
            inner.sender_waker.wake();
            drop(inner.value.take());
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("terminated", &self.is_terminated())
            .finish()
    }
}
