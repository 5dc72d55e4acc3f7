//! [`Notify`]: wakes one waiting task, or all of them, with no data attached.
//!
//! Invariants:
//! - [`Notify::notify_one`] with nobody waiting stores a single permit (further calls add
//!   nothing); the next [`Notified`] to be polled consumes it and completes at once.
//! - `notify_one` picks the oldest waiter and marks its node; if that waiter's future is dropped
//!   before it sees the mark, the notification is passed on (to the next waiter, or stored as
//!   the permit). So a notification is never lost to a cancelled wait and never wakes twice.
//! - [`Notify::notify_waiters`] completes every `Notified` created before the call, polled or not
//!   (each records the number of such calls when created), and stores no permit.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use minireactor_reactor::coop;

use crate::waiters::{WaitList, WaiterKey, WakeList};

/// Wakes tasks that wait for "something happened", without carrying what.
///
/// ```
/// use std::rc::Rc;
/// use minireactor_sync::Notify;
///
/// minireactor::block_on(async {
///     let ready = Rc::new(Notify::new());
///     let waiter = {
///         let ready = ready.clone();
///         minireactor::spawn(async move {
///             ready.notified().await;
///             "woken"
///         })
///     };
///     ready.notify_one(); // stored as a permit if the waiter has not started waiting yet
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
pub struct Notify {
    /// A `notify_one` is stored for the next waiter.
    permit: Cell<bool>,
    /// Number of `notify_waiters` calls so far (wrapping).
    notify_waiters_calls: Cell<usize>,
    waiters: RefCell<WaitList<Mark>>,
}

/// What a waiter's node records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Waiting,
    /// Picked by `notify_one`: must be passed on if never seen.
    NotifiedOne,
    /// Woken by `notify_waiters`.
    NotifiedAll,
}

impl Notify {
    /// A `Notify` with no stored permit and nobody waiting.
    pub const fn new() -> Notify {
        Notify {
            permit: Cell::new(false),
            notify_waiters_calls: Cell::new(0),
            waiters: RefCell::new(WaitList::new()),
        }
    }

    /// A future that completes at the next notification meant for it.
    ///
    /// It takes its place in the queue (for `notify_one`) when first polled or
    /// [`enabled`](Notified::enable), but sees every `notify_waiters` from its creation on.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future gives up its place; a `notify_one` notification already
    /// handed to it passes to the next waiter, or is stored as the permit.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            state: State::Init,
            notify_waiters_calls: self.notify_waiters_calls.get(),
        }
    }

    /// Wakes the oldest waiter or, if nobody waits, stores a permit for the next one.
    #[inline]
    pub fn notify_one(&self) {
        let mut waiters = self.waiters.borrow_mut();
        let granted = waiters.grant_front(|mark| {
            *mark = Mark::NotifiedOne;
            true
        });
        drop(waiters);
        match granted {
            Some(waker) => {
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            None => self.permit.set(true),
        }
    }

    /// Wakes every task waiting now, and completes every [`Notified`] created so far. Stores no
    /// permit.
    pub fn notify_waiters(&self) {
        self.notify_waiters_calls
            .set(self.notify_waiters_calls.get().wrapping_add(1));
        let mut wakes = WakeList::new();
        self.waiters
            .borrow_mut()
            .drain(|mark| *mark = Mark::NotifiedAll, &mut wakes);
        wakes.wake_all();
    }

    #[cfg(test)]
    pub(crate) fn allocated_waiters(&self) -> usize {
        self.waiters.borrow().allocated()
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("permit", &self.permit.get())
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

#[derive(Debug)]
enum State {
    Init,
    Waiting(WaiterKey),
    Done,
}

/// Future of [`Notify::notified`].
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    state: State,
    notify_waiters_calls: usize,
}

impl Notified<'_> {
    /// Takes a place in the queue without waiting yet, so a `notify_one` from now on is meant for
    /// this future; returns whether it is already notified (a later poll then completes at once).
    ///
    /// ```
    /// use std::pin::pin;
    /// use minireactor_sync::Notify;
    ///
    /// minireactor::block_on(async {
    ///     let notify = Notify::new();
    ///     let mut notified = pin!(notify.notified());
    ///     assert!(!notified.as_mut().enable());
    ///     notify.notify_one(); // goes to the enabled future, not to a stored permit
    ///     assert!(notified.as_mut().enable());
    ///     notified.await;
    /// });
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        let notify = this.notify;
        match &this.state {
            State::Done => true,
            State::Init => {
                if this.notify_waiters_calls != notify.notify_waiters_calls.get()
                    || notify.permit.replace(false)
                {
                    this.state = State::Done;
                    return true;
                }
                let key = notify
                    .waiters
                    .borrow_mut()
                    .push_back(Mark::Waiting, std::task::Waker::noop());
                this.state = State::Waiting(key);
                false
            }
            State::Waiting(key) => {
                let mut waiters = notify.waiters.borrow_mut();
                if waiters.is_linked(key) {
                    return false;
                }
                // Picked: the caller now knows it was notified, so the notification is taken
                // here, as a completing poll takes it, and the drop does not pass it on.
                let State::Waiting(key) = std::mem::replace(&mut this.state, State::Done) else {
                    unreachable!("matched above")
                };
                waiters.remove(key);
                true
            }
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let notify = this.notify;
        match &this.state {
            State::Done => Poll::Ready(()),
            State::Init => {
                if this.notify_waiters_calls != notify.notify_waiters_calls.get() {
                    ready!(coop::poll_proceed(cx));
                    this.state = State::Done;
                    return Poll::Ready(());
                }
                if notify.permit.get() {
                    ready!(coop::poll_proceed(cx));
                    notify.permit.set(false);
                    this.state = State::Done;
                    return Poll::Ready(());
                }
                let key = notify
                    .waiters
                    .borrow_mut()
                    .push_back(Mark::Waiting, cx.waker());
                this.state = State::Waiting(key);
                Poll::Pending
            }
            State::Waiting(key) => {
                let mut waiters = notify.waiters.borrow_mut();
                if waiters.is_linked(key) {
                    waiters.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                let Some(mut waiters) = coop::proceed_releasing(cx, waiters) else {
                    return Poll::Pending;
                };
                let State::Waiting(key) = std::mem::replace(&mut this.state, State::Done) else {
                    unreachable!("matched above")
                };
                waiters.remove(key);
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let State::Waiting(key) = std::mem::replace(&mut self.state, State::Done) else {
            return;
        };
        let (mark, _) = self.notify.waiters.borrow_mut().remove(key);
        if mark == Mark::NotifiedOne {
            // Picked but never seen: the notification belongs to someone else now.
            self.notify.notify_one();
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
