//! [`Turn`]: one operation on a device's fd at a time, in the order the operations asked.
//!
//! A lock for the tasks of one thread: [`Turn::acquire`] resolves to a [`TurnGuard`], and
//! dropping the guard hands the turn straight to the first waiter (marked granted, then woken),
//! so a task that releases and asks again in the same poll cannot overtake the tasks already
//! waiting.
//!
//! Invariants:
//! - `held` is true while a guard exists or a granted waiter has not taken its turn yet; so
//!   waiters exist only while `held` is true, and only the first one can be granted;
//! - a waiter's entry lives exactly as long as its [`Acquire`] future: it is removed when the
//!   turn is taken or the future dropped, and a future dropped after its grant passes the turn
//!   on;
//! - no `RefCell` borrow is held while a waker is woken or dropped.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The turn of one device (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Turn {
    state: RefCell<State>,
}

#[derive(Debug, Default)]
struct State {
    held: bool,
    /// The id the next waiter gets.
    next_id: u64,
    /// Waiting tasks, first come first served.
    waiters: VecDeque<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    /// `None` once taken to wake the waiter.
    waker: Option<Waker>,
    granted: bool,
}

impl Turn {
    /// Waits for the turn.
    pub(crate) fn acquire(&self) -> Acquire<'_> {
        Acquire {
            turn: self,
            waiting_as: None,
        }
    }

    /// Hands the turn to the first waiter, or frees it.
    fn release(&self) {
        let waker = {
            let mut state = self.state.borrow_mut();
            match state.waiters.front_mut() {
                Some(first) => {
                    first.granted = true;
                    first.waker.take()
                }
                None => {
                    state.held = false;
                    None
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// How many tasks wait for the turn.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.state.borrow().waiters.len()
    }
}

/// The future of [`Turn::acquire`].
#[derive(Debug)]
pub(crate) struct Acquire<'a> {
    turn: &'a Turn,
    /// Our entry in the queue, once we had to wait.
    waiting_as: Option<u64>,
}

impl<'a> Future for Acquire<'a> {
    type Output = TurnGuard<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<TurnGuard<'a>> {
        let this = self.get_mut();
        let turn = this.turn;
        let mut state = turn.state.borrow_mut();
        let Some(id) = this.waiting_as else {
            if !state.held {
                state.held = true;
                return Poll::Ready(TurnGuard { turn });
            }
            let id = state.next_id;
            state.next_id += 1;
            state.waiters.push_back(Waiter {
                id,
                waker: Some(cx.waker().clone()),
                granted: false,
            });
            this.waiting_as = Some(id);
            return Poll::Pending;
        };
        let index = state
            .waiters
            .iter()
            .position(|waiter| waiter.id == id)
            .expect("a waiting Acquire keeps its entry");
        if state.waiters[index].granted {
            let taken = state.waiters.remove(index);
            this.waiting_as = None;
            drop(state);
            drop(taken); // After the borrow: it may hold a waker.
            return Poll::Ready(TurnGuard { turn });
        }
        let replaced = state.waiters[index].waker.replace(cx.waker().clone());
        drop(state);
        drop(replaced);
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(id) = self.waiting_as else {
            return;
        };
        let removed = {
            let mut state = self.turn.state.borrow_mut();
            let index = state.waiters.iter().position(|waiter| waiter.id == id);
            index.and_then(|index| state.waiters.remove(index))
        };
        let granted = removed.as_ref().is_some_and(|waiter| waiter.granted);
        drop(removed);
        if granted {
            // Handed the turn, never took it: pass it on.
            self.turn.release();
        }
    }
}

/// The turn, held until dropped.
#[derive(Debug)]
pub(crate) struct TurnGuard<'a> {
    turn: &'a Turn,
}

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        self.turn.release();
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Waker, Arc<CountingWaker>) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (Waker::from(counter.clone()), counter)
    }

    fn poll<F: Future>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_free_turn_is_taken_at_once_and_freed_on_drop() {
        let turn = Turn::default();
        let waker = Waker::noop();
        let guard = poll(pin!(turn.acquire()), waker);
        assert!(guard.is_ready());
        drop(guard);
        assert!(poll(pin!(turn.acquire()), waker).is_ready());
        assert_eq!(turn.waiting(), 0);
    }

    #[test]
    fn waiters_get_the_turn_in_order_and_a_releaser_cannot_overtake_them() {
        let turn = Turn::default();
        let Poll::Ready(first) = poll(pin!(turn.acquire()), Waker::noop()) else {
            panic!("a free turn is taken at once");
        };
        let (waker_a, woken_a) = counting_waker();
        let (waker_b, woken_b) = counting_waker();
        let mut a = pin!(turn.acquire());
        let mut b = pin!(turn.acquire());
        assert!(poll(a.as_mut(), &waker_a).is_pending());
        assert!(poll(b.as_mut(), &waker_b).is_pending());
        assert_eq!(turn.waiting(), 2);

        drop(first);
        assert_eq!(woken_a.0.load(Ordering::SeqCst), 1);
        assert_eq!(woken_b.0.load(Ordering::SeqCst), 0);
        // The releaser asks again at once: it queues behind b.
        let mut again = pin!(turn.acquire());
        assert!(poll(again.as_mut(), Waker::noop()).is_pending());
        assert!(poll(b.as_mut(), &waker_b).is_pending(), "b is not first");
        let Poll::Ready(guard_a) = poll(a.as_mut(), &waker_a) else {
            panic!("a was granted the turn");
        };
        drop(guard_a);
        assert_eq!(woken_b.0.load(Ordering::SeqCst), 1);
        assert!(poll(b.as_mut(), &waker_b).is_ready());
    }

    #[test]
    fn a_dropped_waiter_leaves_no_entry_behind() {
        let turn = Turn::default();
        let Poll::Ready(guard) = poll(pin!(turn.acquire()), Waker::noop()) else {
            panic!("a free turn is taken at once");
        };
        for _ in 0..3 {
            let mut waiter = Box::pin(turn.acquire());
            assert!(poll(waiter.as_mut(), Waker::noop()).is_pending());
            drop(waiter);
        }
        assert_eq!(turn.waiting(), 0);
        drop(guard);
        assert!(poll(pin!(turn.acquire()), Waker::noop()).is_ready());
    }

    #[test]
    fn a_waiter_dropped_after_its_grant_passes_the_turn_on() {
        let turn = Turn::default();
        let Poll::Ready(guard) = poll(pin!(turn.acquire()), Waker::noop()) else {
            panic!("a free turn is taken at once");
        };
        let mut granted = Box::pin(turn.acquire());
        let (waker_next, woken_next) = counting_waker();
        let mut next = pin!(turn.acquire());
        assert!(poll(granted.as_mut(), Waker::noop()).is_pending());
        assert!(poll(next.as_mut(), &waker_next).is_pending());
        drop(guard); // Grants the turn to `granted`...
        drop(granted); // ...which never takes it.
        assert_eq!(woken_next.0.load(Ordering::SeqCst), 1);
        assert!(poll(next.as_mut(), &waker_next).is_ready());
        assert_eq!(turn.waiting(), 0);
    }
}
