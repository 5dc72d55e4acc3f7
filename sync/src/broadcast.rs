//! A multi-producer, multi-consumer channel where every receiver sees every value: [`channel`].
//!
//! Values live in a ring of `capacity` slots; each receiver has its own position (the sequence
//! number of the next value it will read). Invariants:
//! - The ring holds the last `capacity` values sent, at most. A receiver whose next value was
//!   overwritten has *lagged*: its next receive returns
//!   [`RecvError::Lagged`] with how many it missed, and moves it to
//!   the oldest value still retained.
//! - Each slot counts the receivers that still have to read it; the last one takes the value
//!   (moves it instead of cloning), so a value read by everyone is not kept until overwritten.
//!   A receiver that is dropped gives up its unread values the same way.
//! - A new receiver ([`Sender::subscribe`], [`Receiver::resubscribe`]) starts after the values
//!   already sent.
//! - When every sender is gone, receivers drain what they have not read, then see `Closed`.
//! - A receiver is also a `futures_core::Stream` of `Result<T, Lagged>`, which ends where
//!   `recv` would return `Closed`; while it waits as a stream, its waiter node is kept in the
//!   receiver and freed when the receiver is dropped or next waits through `recv` (one per
//!   receiver at most).
//! - Values (old ones overwritten, unread ones given up) are dropped outside every borrow. A
//!   value is *cloned* inside the channel's borrow, so `T::clone` must not use the same channel.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use minireactor_reactor::coop;

use crate::waiters::{WaitList, WaiterKey, WakeList};

/// Errors of the [`broadcast`](self) channel.
pub mod error {
    use std::fmt;

    /// Every receiver is gone; the value is handed back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl_closed_error!(SendError<T>);

    /// Error of [`Receiver::recv`](super::Receiver::recv).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RecvError {
        /// Every sender is gone and every retained value was read.
        Closed,
        /// The receiver fell behind: this many values were overwritten before it read them. The
        /// next receive returns the oldest value still retained.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// What a receiver's `Stream` yields in place of values it missed: this many were
    /// overwritten before it read them (as [`RecvError::Lagged`]); the stream goes on with the
    /// oldest value still retained.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Lagged(pub u64);

    impl fmt::Display for Lagged {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "channel lagged by {}", self.0)
        }
    }

    impl std::error::Error for Lagged {}

    /// Error of [`Receiver::try_recv`](super::Receiver::try_recv).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value to read now; senders remain.
        Empty,
        /// Every sender is gone and every retained value was read.
        Closed,
        /// As [`RecvError::Lagged`].
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{Lagged, RecvError, SendError, TryRecvError};

struct Slot<T> {
    /// Receivers that still have to read this value.
    unread_by: usize,
    value: Option<T>,
}

struct State<T> {
    slots: Box<[Slot<T>]>,
    /// Sequence number of the next value to be sent.
    tail: u64,
    /// Slots holding a value.
    retained: usize,
    senders: usize,
    receivers: usize,
    /// Receivers waiting in `recv`.
    waiters: WaitList<()>,
}

impl<T: Clone> State<T> {
    /// Reads the value at `*next` for a receiver; clones it unless that receiver is the last
    /// to read it.
    fn take(&mut self, next: &mut u64) -> Result<T, TryRecvError> {
        if *next == self.tail {
            return Err(if self.senders == 0 {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
        let oldest = self.oldest();
        if *next < oldest {
            let missed = oldest - *next;
            *next = oldest;
            return Err(TryRecvError::Lagged(missed));
        }
        let seq = *next;
        *next += 1;
        match self.read_by_one(seq) {
            Some(last) => Ok(last),
            None => Ok(self
                .slot(seq)
                .value
                .clone()
                .expect("a value is retained while unread")),
        }
    }
}

impl<T> State<T> {
    fn capacity(&self) -> u64 {
        self.slots.len() as u64
    }

    /// Sequence number of the oldest value the ring can still hold.
    fn oldest(&self) -> u64 {
        self.tail.saturating_sub(self.capacity())
    }

    fn slot(&mut self, seq: u64) -> &mut Slot<T> {
        let index = (seq % self.capacity()) as usize;
        &mut self.slots[index]
    }

    /// Marks the value at `seq` read by one more receiver; returns it if that was the last.
    fn read_by_one(&mut self, seq: u64) -> Option<T> {
        let slot = self.slot(seq);
        slot.unread_by -= 1;
        if slot.unread_by > 0 {
            return None;
        }
        let value = slot.value.take();
        self.retained -= 1;
        value
    }
}

/// Creates a channel retaining the last `capacity` values.
///
/// ```
/// use minireactor_sync::broadcast;
///
/// minireactor::block_on(async {
///     let (tx, mut rx1) = broadcast::channel(16);
///     let mut rx2 = tx.subscribe();
///     tx.send("hello").unwrap();
///     assert_eq!(rx1.recv().await.unwrap(), "hello");
///     assert_eq!(rx2.recv().await.unwrap(), "hello");
///
///     // A receiver that falls behind is told how much it missed.
///     let (tx, mut rx) = broadcast::channel(2);
///     for i in 0..5 {
///         tx.send(i).unwrap();
///     }
///     assert_eq!(rx.recv().await, Err(broadcast::error::RecvError::Lagged(3)));
///     assert_eq!(rx.recv().await, Ok(3));
///     assert_eq!(rx.recv().await, Ok(4));
/// });
/// ```
///
/// # Panics
///
/// If `capacity` is 0 or exceeds `usize::MAX / 2`.
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel requires capacity > 0");
    assert!(
        capacity <= usize::MAX >> 1,
        "broadcast channel capacity exceeds usize::MAX / 2"
    );
    let slots = (0..capacity)
        .map(|_| Slot {
            unread_by: 0,
            value: None,
        })
        .collect();
    let shared = Rc::new(RefCell::new(State {
        slots,
        tail: 0,
        retained: 0,
        senders: 1,
        receivers: 1,
        waiters: WaitList::new(),
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            next: 0,
            stream_key: None,
        },
    )
}

/// The sending half of a [`broadcast`](self) channel; clone it for more senders.
pub struct Sender<T> {
    shared: Rc<RefCell<State<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver; returns how many there are. Fails, handing the
    /// value back, if there are none. Never waits: a full ring overwrites its oldest value.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut state = self.shared.borrow_mut();
        if state.receivers == 0 {
            return Err(SendError(value));
        }
        let receivers = state.receivers;
        let tail = state.tail;
        let slot = state.slot(tail);
        let overwritten = slot.value.replace(value);
        slot.unread_by = receivers;
        if overwritten.is_none() {
            state.retained += 1;
        }
        state.tail += 1;
        let mut wakes = WakeList::new();
        state.waiters.drain(|_| {}, &mut wakes);
        drop(state);
        drop(overwritten);
        wakes.wake_all();
        Ok(receivers)
    }

    /// A new receiver, which will see the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.borrow_mut();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: state.tail,
            stream_key: None,
        }
    }

    /// Number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.borrow().receivers
    }

    /// Number of values retained: sent, and neither read by every receiver nor overwritten.
    pub fn len(&self) -> usize {
        self.shared.borrow().retained
    }

    /// Whether no value is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.borrow_mut().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.borrow_mut();
        state.senders -= 1;
        if state.senders > 0 {
            return;
        }
        tracing::debug!("broadcast: last sender dropped");
        let mut wakes = WakeList::new();
        state.waiters.drain(|_| {}, &mut wakes);
        drop(state);
        wakes.wake_all();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.borrow();
        f.debug_struct("Sender")
            .field("retained", &state.retained)
            .field("receivers", &state.receivers)
            .finish_non_exhaustive()
    }
}

/// The receiving half of a [`broadcast`](self) channel.
pub struct Receiver<T> {
    shared: Rc<RefCell<State<T>>>,
    /// Sequence number of the next value to read.
    next: u64,
    /// Its waiter node while it waits as a `Stream` (a `Recv` future has its own).
    stream_key: Option<WaiterKey>,
}

impl<T: Clone> Receiver<T> {
    /// Waits for the next value.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is read only by the poll that returns it.
    pub fn recv(&mut self) -> Recv<'_, T> {
        if let Some(key) = self.stream_key.take() {
            // It waited as a stream: that wait is over, and a send should not wake it.
            self.shared.borrow_mut().waiters.remove(key);
        }
        Recv {
            receiver: self,
            key: None,
        }
    }

    /// Reads the next value if there is one.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.shared.borrow_mut().take(&mut self.next)
    }
}

impl<T> Receiver<T> {
    /// A new receiver of the same channel, which will see the values sent from now on.
    pub fn resubscribe(&self) -> Receiver<T> {
        let mut state = self.shared.borrow_mut();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: state.tail,
            stream_key: None,
        }
    }

    /// Number of retained values this receiver has not read.
    pub fn len(&self) -> usize {
        let state = self.shared.borrow();
        (state.tail - self.next.max(state.oldest())) as usize
    }

    /// Whether this receiver has read every retained value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.borrow().senders == 0
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.borrow_mut();
        state.receivers -= 1;
        if let Some(key) = self.stream_key.take() {
            state.waiters.remove(key);
        }
        let mut given_up = Vec::new();
        for seq in self.next.max(state.oldest())..state.tail {
            given_up.extend(state.read_by_one(seq));
        }
        drop(state);
        drop(given_up); // After the borrow.
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// Future of [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
    key: Option<WaiterKey>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_recv(
            &this.receiver.shared,
            &mut this.receiver.next,
            &mut this.key,
            cx,
        )
    }
}

/// Takes the value at `*next`, or queues the receiver under `key` until one is sent.
fn poll_recv<T: Clone>(
    shared: &RefCell<State<T>>,
    next: &mut u64,
    key: &mut Option<WaiterKey>,
    cx: &mut Context<'_>,
) -> Poll<Result<T, RecvError>> {
    let mut state = shared.borrow_mut();
    if *next == state.tail && state.senders > 0 {
        match key {
            Some(key) => state.waiters.rewait(key, cx.waker()),
            None => *key = Some(state.waiters.push_back((), cx.waker())),
        }
        return Poll::Pending;
    }
    let Some(mut state) = coop::proceed_releasing(cx, state) else {
        return Poll::Pending;
    };
    if let Some(key) = key.take() {
        state.waiters.remove(key);
    }
    Poll::Ready(state.take(next).map_err(|err| match err {
        TryRecvError::Lagged(missed) => RecvError::Lagged(missed),
        TryRecvError::Closed | TryRecvError::Empty => RecvError::Closed,
    }))
}

/// The values as a stream: `Err(Lagged(n))` where `n` values were missed, and the end where
/// [`Receiver::recv`] would return `Closed`.
///
/// ```
/// use futures_core::Stream;
/// use minireactor_sync::broadcast::{self, error::Lagged};
///
/// /// The next item (what `StreamExt::next` of futures-util does).
/// async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
///     std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
/// }
///
/// minireactor::block_on(async {
///     let (tx, mut rx) = broadcast::channel(2);
///     for i in 0..3 {
///         tx.send(i).unwrap(); // 0 is overwritten: the ring holds 2.
///     }
///     drop(tx);
///     assert_eq!(next(&mut rx).await, Some(Err(Lagged(1))));
///     assert_eq!(next(&mut rx).await, Some(Ok(1)));
///     assert_eq!(next(&mut rx).await, Some(Ok(2)));
///     assert_eq!(next(&mut rx).await, None);
/// });
/// ```
///
/// Cancel safe, as `recv`: a value is read only by the poll that returns it.
impl<T: Clone> futures_core::Stream for Receiver<T> {
    type Item = Result<T, Lagged>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let received = ready!(poll_recv(
            &this.shared,
            &mut this.next,
            &mut this.stream_key,
            cx
        ));
        Poll::Ready(match received {
            Ok(value) => Some(Ok(value)),
            Err(RecvError::Lagged(missed)) => Some(Err(Lagged(missed))),
            Err(RecvError::Closed) => None,
        })
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.receiver.shared.borrow_mut().waiters.remove(key);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

#[cfg(test)]
impl<T> Sender<T> {
    pub(crate) fn allocated_waiters(&self) -> usize {
        self.shared.borrow().waiters.allocated()
    }
}
