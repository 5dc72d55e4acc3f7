//! The cooperative budget: how many resource operations one task poll may complete before the
//! task must let the others, the timers and the reactor have a turn.
//!
//! A task whose operations are always ready (a socket flooded by a peer, a pre-filled pipe read
//! a byte at a time, a channel that is never empty) never returns `Pending` by itself, so without
//! a budget it would keep the thread until it finished. The executor therefore gives every task
//! poll (and every poll of the `block_on` future) [`BUDGET_PER_POLL`] units through
//! [`with_budget`]; every resource operation that completes at once spends one through
//! [`poll_proceed`]. When none is left, the operation returns `Pending` instead, and the task is
//! woken again only after the reactor's next turn, so timers and I/O get their turn first.
//!
//! The budget is a thread-local `Cell`: no lock, no atomic. Outside [`with_budget`] (a future
//! polled by another executor, or by a test with its own waker) there is no budget and nothing is
//! ever refused. [`unconstrained`] opts a future out, for code that must not be preempted.
//!
//! ```
//! use minireactor::task::unconstrained;
//!
//! minireactor::block_on(async {
//!     // Never told to yield, however many of its operations complete at once.
//!     unconstrained(async { /* ... */ }).await;
//! });
//! ```

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::reactor::Reactor;

/// Units each task poll starts with: the number of operations it may complete without yielding.
pub const BUDGET_PER_POLL: u8 = 128;

thread_local! {
    /// `None`: unconstrained (the default outside an executor's poll).
    static BUDGET: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `poll` with a fresh budget of [`BUDGET_PER_POLL`], restoring the previous budget after,
/// even if `poll` panics. Executors call it around each poll of a task.
#[inline]
pub fn with_budget<R>(poll: impl FnOnce() -> R) -> R {
    with_budget_set(Some(BUDGET_PER_POLL), poll)
}

/// Runs `poll` with no budget (as [`unconstrained`] does), restoring the budget after.
pub(crate) fn unconstrained_poll<R>(poll: impl FnOnce() -> R) -> R {
    with_budget_set(None, poll)
}

#[inline]
fn with_budget_set<R>(budget: Option<u8>, poll: impl FnOnce() -> R) -> R {
    /// Puts the outer budget back when dropped, so a panic cannot leave a stale one behind.
    struct Restore(Option<u8>);
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            BUDGET.set(self.0);
        }
    }
    let _restore = Restore(BUDGET.replace(budget));
    poll()
}

/// Spends one unit for an operation that is about to complete, or, if the budget is spent,
/// arranges for the task to be woken after the reactor's next turn and returns `Pending`.
///
/// Call it when the operation knows it can complete (its readiness is set, its value is there),
/// before completing it; if the operation then turns out not to complete after all (`EAGAIN` on
/// readiness that was stale), give the unit back with [`refund`].
#[inline(always)]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    match BUDGET.get() {
        None => Poll::Ready(()),
        Some(0) => {
            wake_after_next_turn(cx);
            Poll::Pending
        }
        Some(left) => {
            BUDGET.set(Some(left - 1));
            Poll::Ready(())
        }
    }
}

/// Gives back the unit [`poll_proceed`] took for an operation that then returned `Pending`.
#[inline]
pub fn refund() {
    if let Some(left) = BUDGET.get() {
        BUDGET.set(Some(left.saturating_add(1).min(BUDGET_PER_POLL)));
    }
}

/// Whether the current poll may still complete an operation without being told to yield.
pub fn has_budget_remaining() -> bool {
    BUDGET.get() != Some(0)
}

/// Wakes the task after the reactor's next turn, or at once if this thread has no reactor (the
/// budget is only ever set by an executor that turns one, so that is a fallback, not a path).
fn wake_after_next_turn(cx: &mut Context<'_>) {
    if Reactor::defer_current(cx.waker()).is_err() {
        cx.waker().wake_by_ref();
    }
}

/// Spends one unit of budget, yielding first if none is left: for a loop that does a lot of work
/// without touching any resource, and so would otherwise never yield.
///
/// ```
/// minireactor::block_on(async {
///     let mut sum = 0u64;
///     for i in 0..10_000 {
///         sum += i;
///         minireactor::task::consume_budget().await;
///     }
///     assert_eq!(sum, 49_995_000);
/// });
/// ```
pub async fn consume_budget() {
    std::future::poll_fn(poll_proceed).await
}

/// Runs `future` without a budget: its operations are never told to yield. Use it for code that
/// must not be preempted between two operations; it can starve every other task.
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

pin_project_lite::pin_project! {
    /// Future returned by [`unconstrained`].
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Unconstrained<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let future = self.project().future;
        with_budget_set(None, || future.poll(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spend_all(cx: &mut Context<'_>) -> usize {
        let mut spent = 0;
        while poll_proceed(cx).is_ready() {
            spent += 1;
            if spent > 10_000 {
                break;
            }
        }
        spent
    }

    #[test]
    fn a_budgeted_poll_completes_exactly_the_budget() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert_eq!(
            with_budget(|| spend_all(&mut cx)),
            usize::from(BUDGET_PER_POLL)
        );
        assert!(poll_proceed(&mut cx).is_ready(), "no budget outside a poll");
    }

    #[test]
    fn refund_gives_back_one_unit() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        with_budget(|| {
            assert!(poll_proceed(&mut cx).is_ready());
            refund();
            assert_eq!(spend_all(&mut cx), usize::from(BUDGET_PER_POLL));
        });
    }

    #[test]
    fn unconstrained_is_never_refused_and_restores_the_budget() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        with_budget(|| {
            assert!(poll_proceed(&mut cx).is_ready());
            let mut inner = std::pin::pin!(unconstrained(std::future::poll_fn(|cx| {
                Poll::Ready(spend_all(cx))
            })));
            assert_eq!(inner.as_mut().poll(&mut cx), Poll::Ready(10_001));
            assert_eq!(spend_all(&mut cx), usize::from(BUDGET_PER_POLL) - 1);
        });
    }

    #[test]
    fn a_panic_inside_a_budgeted_poll_leaves_no_budget_behind() {
        let result = std::panic::catch_unwind(|| with_budget(|| panic!("inside a poll")));
        assert!(result.is_err());
        assert!(has_budget_remaining());
        assert_eq!(BUDGET.get(), None);
    }
}
