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
//! That deferred wake is for the executor's own wakers (its tasks' and its `block_on`'s, which it
//! declares with [`enter_executor`]). An operation polled with any other waker inside the
//! task's poll (a combinator's own, such as `FuturesUnordered`'s, or a
//! foreign executor's `block_on` nested in the task) is refused too, but its waker is woken at
//! once: a nested executor never returns to ours, so a wake deferred to our next turn would
//! never come. And since such a poller may keep polling without ever yielding to us, every
//! [`FOREIGN_REFUSALS_PER_BUDGET`] of those refusals start the budget over, so it still makes
//! progress instead of spinning.
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
use std::task::{Context, Poll, RawWakerVTable};

use crate::reactor::Reactor;

/// Units each task poll starts with: the number of operations it may complete without yielding.
pub const BUDGET_PER_POLL: u8 = 128;

/// Refusals of operations polled with a waker not the executor's after which the budget starts
/// over: more than a few combinators' worth (a `FuturesUnordered` returns `Pending` after two
/// of its futures woke themselves), so that a poller that never yields to the executor — a
/// nested executor — still makes progress. They are counted across polls (not reset by each),
/// so a combinator's refusals also add up to one fresh budget per this many: a bounded extra.
pub const FOREIGN_REFUSALS_PER_BUDGET: u8 = 16;

thread_local! {
    /// `None`: unconstrained (the default outside an executor's poll).
    static BUDGET: Cell<Option<u8>> = const { Cell::new(None) };
    /// The vtables of the wakers of the executor running on this thread (see [`enter_executor`]).
    static EXECUTOR_WAKERS: Cell<[*const RawWakerVTable; 2]> =
        const { Cell::new([std::ptr::null(); 2]) };
    /// Refusals of other wakers since the budget was last started over by one.
    static FOREIGN_REFUSALS: Cell<u8> = const { Cell::new(0) };
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

/// Declares, until the guard is dropped, the wakers of the executor that runs on this thread
/// and turns its reactor, by their vtables (`Waker::vtable`): its tasks' and its `block_on`
/// future's. A spent budget defers those wakers' wakes to the reactor's next turn, and wakes
/// any other at once (see the module documentation). Set once per `block_on`, not per poll.
pub fn enter_executor(
    task: &'static RawWakerVTable,
    main: &'static RawWakerVTable,
) -> ExecutorGuard {
    ExecutorGuard {
        previous: EXECUTOR_WAKERS.replace([task, main]),
    }
}

/// Restores the previous executor's wakers when dropped; see [`enter_executor`].
#[derive(Debug)]
pub struct ExecutorGuard {
    previous: [*const RawWakerVTable; 2],
}

impl Drop for ExecutorGuard {
    fn drop(&mut self) {
        EXECUTOR_WAKERS.set(self.previous);
    }
}

/// Spends one unit for an operation that is about to complete, or, if the budget is spent,
/// arranges for the task to be woken after the reactor's next turn and returns `Pending`.
///
/// Call it when the operation knows it can complete (its readiness is set, its value is there),
/// before completing it; if the operation then turns out not to complete after all (`EAGAIN` on
/// readiness that was stale), give the unit back with [`refund`]. A refusal may wake
/// `cx.waker()` at once (when it is not the executor's, see the module documentation).
///
/// A refusal runs waker code, so call it with no borrow held that a waker could need; an
/// operation that checks its budget under a borrow of its own state uses
/// [`proceed_releasing`] instead.
#[inline(always)]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    if try_spend() {
        Poll::Ready(())
    } else {
        refuse(cx);
        Poll::Pending
    }
}

/// [`poll_proceed`] for an operation that checks its budget under a borrow of its own state
/// (a `RefMut`, say): gives the borrow back if the operation may complete; if the budget is
/// spent, drops the borrow *before* refusing, since a refusal may run waker code that needs
/// it, and returns `None`, for the caller to return `Pending`.
#[inline(always)]
pub fn proceed_releasing<B>(cx: &mut Context<'_>, borrow: B) -> Option<B> {
    if try_spend() {
        Some(borrow)
    } else {
        drop(borrow);
        refuse(cx);
        None
    }
}

/// Spends one unit if one is left (or there is no budget); false, spending nothing and waking
/// nothing, if the budget is spent.
#[inline(always)]
fn try_spend() -> bool {
    match BUDGET.get() {
        None => true,
        Some(0) => false,
        Some(left) => {
            // Not `BUDGET.set`: std's `initialize_with` under it stayed out of line here, 34
            // instructions of a `Notify` round trip (callgrind, `notify_ping_pong`).
            BUDGET.with(|budget| budget.set(Some(left - 1)));
            true
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

/// Refuses an operation for a spent budget (after [`try_spend`] said so): wakes the executor's
/// waker after the reactor's next turn; any other waker (or any waker, if this thread has no
/// reactor to turn) at once, starting the budget over after [`FOREIGN_REFUSALS_PER_BUDGET`] of
/// those. The caller then returns `Pending`. It runs waker code: call it with no borrow held.
#[cold]
#[inline(never)] // Kept out of every operation's poll: inlined, it lengthened the sleep's.
fn refuse(cx: &mut Context<'_>) {
    let waker = cx.waker();
    let vtable: *const RawWakerVTable = waker.vtable();
    if EXECUTOR_WAKERS.get().contains(&vtable) && Reactor::defer_existing(waker) {
        return;
    }
    waker.wake_by_ref();
    let refusals = FOREIGN_REFUSALS.get() + 1;
    if refusals < FOREIGN_REFUSALS_PER_BUDGET {
        FOREIGN_REFUSALS.set(refusals);
    } else {
        tracing::debug!("operations polled by a nested poller keep being refused: new budget");
        FOREIGN_REFUSALS.set(0);
        BUDGET.set(Some(BUDGET_PER_POLL));
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::*;
    use crate::test_waker::counting_waker;

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
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(
            with_budget(|| spend_all(&mut cx)),
            usize::from(BUDGET_PER_POLL)
        );
        assert!(poll_proceed(&mut cx).is_ready(), "no budget outside a poll");
    }

    #[test]
    fn refund_gives_back_one_unit() {
        let mut cx = Context::from_waker(Waker::noop());
        with_budget(|| {
            assert!(poll_proceed(&mut cx).is_ready());
            refund();
            assert_eq!(spend_all(&mut cx), usize::from(BUDGET_PER_POLL));
        });
    }

    #[test]
    fn unconstrained_is_never_refused_and_restores_the_budget() {
        let mut cx = Context::from_waker(Waker::noop());
        with_budget(|| {
            assert!(poll_proceed(&mut cx).is_ready());
            let mut inner = std::pin::pin!(unconstrained(std::future::poll_fn(|cx| {
                Poll::Ready(spend_all(cx))
            })));
            assert_eq!(inner.as_mut().poll(&mut cx), Poll::Ready(10_001));
            assert_eq!(spend_all(&mut cx), usize::from(BUDGET_PER_POLL) - 1);
        });
    }

    /// A waker of a kind of its own, to stand for a foreign executor's or a combinator's.
    struct Foreign(AtomicUsize);

    impl Wake for Foreign {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn foreign_waker() -> (Waker, Arc<Foreign>) {
        let foreign = Arc::new(Foreign(AtomicUsize::new(0)));
        (Waker::from(foreign.clone()), foreign)
    }

    /// Regression: a spent budget deferred every refused waker to the reactor's next turn, so
    /// a foreign executor nested in a task (its `block_on` over a channel, say) waited for a
    /// turn that could not come until it returned: it hung after 128 operations. Only the
    /// executor's own wakers are deferred now; any other is woken at once.
    #[test]
    fn a_spent_budget_defers_the_executors_waker_and_wakes_any_other_at_once() {
        let reactor = Reactor::current().unwrap();
        let (executors, executor_wakes) = counting_waker();
        let (foreign, foreign_wakes) = foreign_waker();
        let _executor = enter_executor(executors.vtable(), executors.vtable());
        with_budget(|| {
            spend_all(&mut Context::from_waker(&executors));
            assert!(poll_proceed(&mut Context::from_waker(&foreign)).is_pending());
            assert_eq!(foreign_wakes.0.load(Ordering::SeqCst), 1, "woken at once");
        });
        assert_eq!(
            executor_wakes.count(),
            0,
            "the executor's waker waits for the turn"
        );
        reactor.turn(Some(std::time::Duration::ZERO)).unwrap();
        assert_eq!(executor_wakes.count(), 1);
    }

    /// A poller that keeps polling after refusals (it never yields to the executor) gets a
    /// fresh budget after `FOREIGN_REFUSALS_PER_BUDGET` of them, instead of spinning for ever.
    #[test]
    fn refusals_to_a_poller_that_never_yields_start_the_budget_over() {
        let (foreign, wakes) = foreign_waker();
        let mut cx = Context::from_waker(&foreign);
        with_budget(|| {
            for _ in 0..3 {
                assert_eq!(spend_all(&mut cx), usize::from(BUDGET_PER_POLL));
                let mut refusals = 1;
                while poll_proceed(&mut cx).is_pending() {
                    refusals += 1;
                    assert!(refusals <= 1000, "never given a new budget");
                }
                refund(); // The `Ready` that ended the loop.
                assert_eq!(refusals, usize::from(FOREIGN_REFUSALS_PER_BUDGET));
            }
        });
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            3 * usize::from(FOREIGN_REFUSALS_PER_BUDGET)
        );
    }

    /// Regression: with no reactor on the thread (a foreign executor calling `with_budget`), a
    /// refusal created one just to defer the wake into it, and nothing ever turned it: the
    /// waker was never woken. Now it is woken at once, and no reactor is created.
    #[test]
    fn without_a_reactor_a_refused_waker_is_woken_at_once() {
        std::thread::spawn(|| {
            let (executors, wakes) = counting_waker();
            let _executor = enter_executor(executors.vtable(), executors.vtable());
            with_budget(|| spend_all(&mut Context::from_waker(&executors)));
            assert_eq!(wakes.count(), 1);
            assert!(
                Reactor::with_existing(|_| ()).is_none(),
                "a reactor was created"
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_panic_inside_a_budgeted_poll_leaves_no_budget_behind() {
        let result = std::panic::catch_unwind(|| with_budget(|| panic!("inside a poll")));
        assert!(result.is_err());
        assert!(has_budget_remaining());
        assert_eq!(BUDGET.get(), None);
    }
}
