//! A channel that holds one value, the latest: receivers see the newest value and wait for the
//! next change, without a queue.
//!
//! The value lives in a `RefCell` of its own; a version counter says which value each receiver
//! has seen. Invariants:
//! - Every send bumps the version and wakes every receiver waiting in `changed`; a receiver
//!   that has not seen the current version completes `changed` at once.
//! - Closed semantics are tokio's: when every sender is gone, `changed` still reports a change
//!   not yet seen, then fails; [`Sender::send`] fails (and stores nothing) when every receiver is
//!   gone, while [`Sender::send_replace`] and [`Sender::send_modify`] always store.
//! - A receiver is also a `futures_core::Stream` of clones of each value it has not seen, which
//!   ends where `changed` would fail; while it waits as a stream, its waiter node is kept in the
//!   receiver and freed when the receiver is dropped or next waits through `changed` (one per
//!   receiver at most).
//! - The stream clones the value while it is borrowed: `T::clone` must not send on the same
//!   channel (the send would find it borrowed and panic).
//! - A [`Ref`] borrows the value: do not hold one across an `.await`, and do not send while
//!   one is alive on the same channel (the send would find the value borrowed and panic).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use minireactor_reactor::coop;

use crate::waiters::{WaitList, WaiterKey, WakeList};

/// Errors of the [`watch`](self) channel.
pub mod error {
    use std::fmt;

    /// Every receiver is gone; the value that was not stored is handed back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl_closed_error!(SendError<T>);

    /// Every sender is gone (and no change is left unseen).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl_closed_error!(RecvError);
}

use error::{RecvError, SendError};

struct Shared<T> {
    value: RefCell<T>,
    /// Bumped by every send.
    version: Cell<u64>,
    senders: Cell<usize>,
    receivers: Cell<usize>,
    /// Receivers waiting in `changed`.
    changed_waiters: RefCell<WaitList<()>>,
    /// Senders waiting in `closed`.
    closed_waiters: RefCell<WaitList<()>>,
}

impl<T> Shared<T> {
    fn wake_all(list: &RefCell<WaitList<()>>) {
        let mut wakes = WakeList::new();
        list.borrow_mut().drain(|_| {}, &mut wakes);
        wakes.wake_all();
    }

    fn bump_version(&self) {
        self.version.set(self.version.get().wrapping_add(1));
        Shared::<T>::wake_all(&self.changed_waiters);
    }
}

/// Creates a channel holding `init`, which every receiver sees as already seen.
///
/// ```
/// use minireactor_sync::watch;
///
/// minireactor::block_on(async {
///     let (tx, mut rx) = watch::channel("starting");
///     let reader = minireactor::spawn(async move {
///         rx.changed().await.unwrap();
///         *rx.borrow_and_update()
///     });
///     tx.send("running").unwrap();
///     assert_eq!(reader.await.unwrap(), "running");
/// });
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Rc::new(Shared {
        value: RefCell::new(init),
        version: Cell::new(0),
        senders: Cell::new(1),
        receivers: Cell::new(1),
        changed_waiters: RefCell::new(WaitList::new()),
        closed_waiters: RefCell::new(WaitList::new()),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            seen: 0,
            stream_key: None,
        },
    )
}

/// A borrow of the value of a [`watch`](self) channel.
pub struct Ref<'a, T> {
    value: std::cell::Ref<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether the value was new to the receiver when borrowed (always `false` from a sender).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

/// The sending half of a [`watch`](self) channel.
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender of a channel holding `init`, with no receiver yet (add them with
    /// [`subscribe`](Self::subscribe)).
    pub fn new(init: T) -> Sender<T> {
        let (sender, _) = channel(init);
        sender
    }

    /// Stores a new value and notifies every receiver; fails, storing nothing, if every
    /// receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.get() == 0 {
            return Err(SendError(value));
        }
        drop(self.send_replace(value));
        Ok(())
    }

    /// Stores a new value, notifies every receiver, and returns the old value; works with no
    /// receiver too.
    ///
    /// # Panics
    ///
    /// If a [`Ref`] of this channel is alive.
    pub fn send_replace(&self, value: T) -> T {
        let old = std::mem::replace(&mut *self.shared.value.borrow_mut(), value);
        self.shared.bump_version();
        old
    }

    /// Modifies the value in place and notifies every receiver.
    ///
    /// ```
    /// use minireactor_sync::watch;
    ///
    /// let (tx, rx) = watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert!(rx.has_changed().unwrap());
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    ///
    /// # Panics
    ///
    /// If a [`Ref`] of this channel is alive, or if `modify` panics; in that case no receiver
    /// is notified, but what `modify` changed before panicking stays changed.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Modifies the value in place; notifies every receiver if `modify` returns `true`.
    ///
    /// # Panics
    ///
    /// As for [`send_modify`](Self::send_modify).
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let modified = modify(&mut self.shared.value.borrow_mut());
        if modified {
            self.shared.bump_version();
        }
        modified
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            value: self.shared.value.borrow(),
            has_changed: false,
        }
    }

    /// A new receiver, which has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.set(self.shared.receivers.get() + 1);
        Receiver {
            shared: self.shared.clone(),
            seen: self.shared.version.get(),
            stream_key: None,
        }
    }

    /// Number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.get()
    }

    /// Number of senders.
    pub fn sender_count(&self) -> usize {
        self.shared.senders.get()
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.receivers.get() == 0
    }

    /// Waits until every receiver is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            key: None,
        }
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

#[cfg(test)]
impl<T> Sender<T> {
    pub(crate) fn allocated_waiters(&self) -> usize {
        self.shared.changed_waiters.borrow().allocated()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.senders.set(self.shared.senders.get() + 1);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let senders = self.shared.senders.get() - 1;
        self.shared.senders.set(senders);
        if senders == 0 {
            tracing::debug!("watch: last sender dropped");
            Shared::<T>::wake_all(&self.shared.changed_waiters);
        }
    }
}

impl<T: Default> Default for Sender<T> {
    fn default() -> Sender<T> {
        Sender::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("version", &self.shared.version.get())
            .field("receivers", &self.shared.receivers.get())
            .finish_non_exhaustive()
    }
}

/// Future of [`Sender::closed`].
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    key: Option<WaiterKey>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        wait_until(
            this.shared.receivers.get() == 0,
            &this.shared.closed_waiters,
            &mut this.key,
            cx,
        )
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.closed_waiters.borrow_mut().remove(key);
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

/// Completes if `done`, else (re)queues the waiter behind `key` in `list`.
fn wait_until(
    done: bool,
    list: &RefCell<WaitList<()>>,
    key: &mut Option<WaiterKey>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    if done {
        ready!(coop::poll_proceed(cx));
        if let Some(key) = key.take() {
            list.borrow_mut().remove(key);
        }
        return Poll::Ready(());
    }
    let mut list = list.borrow_mut();
    match key {
        Some(key) => list.rewait(key, cx.waker()),
        None => *key = Some(list.push_back((), cx.waker())),
    }
    Poll::Pending
}

/// The receiving half of a [`watch`](self) channel; clone it for more receivers.
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
    /// The version this receiver has seen.
    seen: u64,
    /// Its waiter node while it waits as a `Stream` (a `Changed` future has its own).
    stream_key: Option<WaiterKey>,
}

impl<T> Receiver<T> {
    /// Borrows the current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            value: self.shared.value.borrow(),
            has_changed: self.seen != self.shared.version.get(),
        }
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let version = self.shared.version.get();
        let has_changed = self.seen != version;
        self.seen = version;
        Ref {
            value: self.shared.value.borrow(),
            has_changed,
        }
    }

    /// Whether a value not yet seen is stored; an error once every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        if self.shared.senders.get() == 0 {
            return Err(RecvError(()));
        }
        Ok(self.seen != self.shared.version.get())
    }

    /// Marks the current value unseen, so the next `changed` completes at once.
    pub fn mark_changed(&mut self) {
        self.seen = self.shared.version.get().wrapping_sub(1);
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.version.get();
    }

    /// Waits for a value not yet seen and marks it seen; fails once every sender is gone and
    /// no unseen value is left.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: only the poll that completes marks the value seen.
    pub fn changed(&mut self) -> Changed<'_, T> {
        self.stop_streaming();
        Changed {
            receiver: self,
            key: None,
        }
    }

    /// Waits until the value satisfies `condition` (checking the current value first), marks
    /// it seen and borrows it.
    ///
    /// ```
    /// use minireactor_sync::watch;
    ///
    /// minireactor::block_on(async {
    ///     let (tx, mut rx) = watch::channel(0);
    ///     let waiter = minireactor::spawn(async move { *rx.wait_for(|&v| v >= 3).await.unwrap() });
    ///     for i in 1..=5 {
    ///         if tx.send(i).is_err() {
    ///             break; // the waiter is done: its receiver is gone
    ///         }
    ///         minireactor::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     }
    ///     assert_eq!(waiter.await.unwrap(), 3);
    /// });
    /// ```
    ///
    /// The returned [`Ref::has_changed`] says whether the value was new to this receiver.
    /// Every value the condition was tried on is marked seen, whether it passed or not, so a
    /// later [`changed`](Self::changed) waits for a value sent after it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped at any point, it leaves the receiver having seen exactly the values
    /// the condition was tried on.
    pub async fn wait_for(
        &mut self,
        mut condition: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        // A unit of budget before anything changes: a wait that succeeds at once still lets a
        // loop of them yield, and a cancellation here leaves the receiver as it was.
        std::future::poll_fn(coop::poll_proceed).await;
        let mut has_changed = self.seen != self.shared.version.get();
        loop {
            let version = self.shared.version.get();
            let satisfied = condition(&self.shared.value.borrow());
            self.seen = version;
            if satisfied {
                return Ok(Ref {
                    value: self.shared.value.borrow(),
                    has_changed,
                });
            }
            self.changed().await?;
            has_changed = true;
        }
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }

    /// Frees the node this receiver waited in as a stream, if any: it now waits (or not) some
    /// other way, and a send should not wake its stream's last waker.
    fn stop_streaming(&mut self) {
        if let Some(key) = self.stream_key.take() {
            self.shared.changed_waiters.borrow_mut().remove(key);
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.shared.receivers.set(self.shared.receivers.get() + 1);
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
            stream_key: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.stop_streaming();
        let receivers = self.shared.receivers.get() - 1;
        self.shared.receivers.set(receivers);
        if receivers == 0 {
            Shared::<T>::wake_all(&self.shared.closed_waiters);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

/// Future of [`Receiver::changed`].
#[must_use = "futures do nothing unless polled"]
pub struct Changed<'a, T> {
    receiver: &'a mut Receiver<T>,
    key: Option<WaiterKey>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_changed(
            &this.receiver.shared,
            &mut this.receiver.seen,
            &mut this.key,
            cx,
        )
    }
}

/// Marks an unseen value seen, or queues the receiver under `key` until there is one (or
/// every sender is gone).
fn poll_changed<T>(
    shared: &Shared<T>,
    seen: &mut u64,
    key: &mut Option<WaiterKey>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), RecvError>> {
    let version = shared.version.get();
    let changed = *seen != version;
    let closed = shared.senders.get() == 0;
    ready!(wait_until(
        changed || closed,
        &shared.changed_waiters,
        key,
        cx
    ));
    if changed {
        *seen = version;
        Poll::Ready(Ok(()))
    } else {
        Poll::Ready(Err(RecvError(())))
    }
}

/// Each value this receiver has not seen, cloned and marked seen, as a stream; the stream ends
/// where [`Receiver::changed`] would fail. Values sent between two polls are not each seen: as
/// `changed`, it yields the latest. Call [`mark_changed`](Receiver::mark_changed) first to
/// have it start with the current value.
///
/// ```
/// use futures_core::Stream;
/// use minireactor_sync::watch;
///
/// /// The next item (what `StreamExt::next` of futures-util does).
/// async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
///     std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
/// }
///
/// minireactor::block_on(async {
///     let (tx, mut rx) = watch::channel("starting");
///     tx.send("running").unwrap();
///     tx.send("stopping").unwrap();
///     drop(tx);
///     assert_eq!(next(&mut rx).await, Some("stopping"));
///     assert_eq!(next(&mut rx).await, None);
/// });
/// ```
///
/// Cancel safe, as `changed`: only the poll that returns a value marks it seen.
impl<T: Clone> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let changed = ready!(poll_changed(
            &this.shared,
            &mut this.seen,
            &mut this.stream_key,
            cx
        ));
        Poll::Ready(changed.ok().map(|()| this.shared.value.borrow().clone()))
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.receiver
                .shared
                .changed_waiters
                .borrow_mut()
                .remove(key);
        }
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changed").finish_non_exhaustive()
    }
}
