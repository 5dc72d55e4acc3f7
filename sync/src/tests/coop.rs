//! Every operation that completes without waiting spends one unit of the task's budget; with
//! the budget spent it returns `Pending` instead, and completes again once a new poll brings a
//! new budget.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use minireactor_reactor::coop::{poll_proceed, with_budget, BUDGET_PER_POLL};

use super::Probe;
use crate::{broadcast, mpsc, oneshot, remote, watch, CancellationToken, Mutex, Notify, Semaphore};

/// Runs `op` (always ready) in one budgeted poll until it is refused; returns how many
/// completed, and checks that the next budget lets it complete again.
fn completed_per_budget(mut op: impl FnMut(&Probe) -> Poll<()>) -> usize {
    let probe = Probe::new();
    let completed = with_budget(|| {
        let mut completed = 0;
        while op(&probe).is_ready() {
            completed += 1;
            assert!(completed <= 1000, "never refused");
        }
        completed
    });
    assert!(
        with_budget(|| op(&probe)).is_ready(),
        "a new budget, a new completion"
    );
    completed
}

const BUDGET: usize = BUDGET_PER_POLL as usize;

#[test]
fn channel_receives_spend_the_budget() {
    let (tx, mut rx) = mpsc::channel(1);
    let spent = completed_per_budget(|probe| {
        let _ = tx.try_send(1);
        probe.poll(&mut rx.recv()).map(|v| assert_eq!(v, Some(1)))
    });
    assert_eq!(spent, BUDGET);

    let (tx, mut rx) = mpsc::unbounded_channel();
    let spent = completed_per_budget(|probe| {
        tx.send(1).unwrap();
        probe.poll(&mut rx.recv()).map(drop)
    });
    assert_eq!(spent, BUDGET);

    let (tx, mut rx) = broadcast::channel(4);
    let spent = completed_per_budget(|probe| {
        let _ = tx.send(1);
        probe.poll(&mut rx.recv()).map(drop)
    });
    assert_eq!(spent, BUDGET);

    let (tx, mut rx) = remote::channel();
    let spent = completed_per_budget(|probe| {
        tx.send(1).unwrap();
        probe.poll(&mut rx.recv()).map(drop)
    });
    assert_eq!(spent, BUDGET);
}

#[test]
fn a_refused_receive_loses_no_message() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..=BUDGET {
        tx.send(i).unwrap();
    }
    let probe = Probe::new();
    with_budget(|| {
        for i in 0..BUDGET {
            assert_eq!(probe.poll(&mut rx.recv()), Poll::Ready(Some(i)));
        }
        assert!(probe.poll(&mut rx.recv()).is_pending());
    });
    assert_eq!(rx.len(), 1);
    assert_eq!(
        with_budget(|| probe.poll(&mut rx.recv())),
        Poll::Ready(Some(BUDGET))
    );
}

#[test]
fn uncontended_locks_and_acquires_spend_the_budget() {
    let mutex = Mutex::new(0);
    let spent = completed_per_budget(|probe| probe.poll(&mut mutex.lock()).map(drop));
    assert_eq!(spent, BUDGET);

    let semaphore = Semaphore::new(1);
    let spent = completed_per_budget(|probe| probe.poll(&mut semaphore.acquire()).map(drop));
    assert_eq!(spent, BUDGET);

    let notify = Notify::new();
    let spent = completed_per_budget(|probe| {
        notify.notify_one();
        probe.poll(&mut notify.notified())
    });
    assert_eq!(spent, BUDGET);
}

#[test]
fn ready_oneshots_watches_and_tokens_spend_the_budget() {
    let spent = completed_per_budget(|probe| {
        let (tx, mut rx) = oneshot::channel();
        tx.send(()).unwrap();
        let poll = probe.poll(&mut rx).map(drop);
        if poll.is_pending() {
            assert_eq!(rx.try_recv(), Ok(()), "the value waits for the next poll");
        }
        poll
    });
    assert_eq!(spent, BUDGET);

    let (tx, mut rx) = watch::channel(0);
    let spent = completed_per_budget(|probe| {
        tx.send_modify(|v| *v += 1);
        probe.poll(&mut rx.changed()).map(drop)
    });
    assert_eq!(spent, BUDGET);

    let token = CancellationToken::new();
    token.cancel();
    let spent = completed_per_budget(|probe| probe.poll(&mut token.cancelled()));
    assert_eq!(spent, BUDGET);
}

thread_local! {
    /// What a [`Reentrant`] waker does when woken.
    static ON_WAKE: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// A waker of another executor (so a refusal wakes it at once) whose wake looks at the primitive
/// that refused it, through [`ON_WAKE`].
struct Reentrant;

impl Wake for Reentrant {
    fn wake(self: Arc<Self>) {
        ON_WAKE.with(|on_wake| on_wake.borrow().as_ref().map(|f| f()));
    }
}

/// Polls `op` (true if refused) with a spent budget and a [`Reentrant`] waker that runs
/// `on_wake`; checks that it was refused and that the waker was woken.
fn refused_with_a_reentrant_waker(
    on_wake: impl Fn() + 'static,
    op: impl FnOnce(&mut Context<'_>) -> bool,
) {
    let woken = Rc::new(Cell::new(false));
    let flag = woken.clone();
    ON_WAKE.with(|slot| {
        *slot.borrow_mut() = Some(Box::new(move || {
            on_wake();
            flag.set(true);
        }))
    });
    let waker = Waker::from(Arc::new(Reentrant));
    let mut cx = Context::from_waker(&waker);
    with_budget(|| {
        while poll_proceed(&mut Context::from_waker(Waker::noop())).is_ready() {}
        assert!(op(&mut cx), "refused");
    });
    assert!(woken.get(), "the refused waker was woken");
    ON_WAKE.with(|slot| slot.borrow_mut().take());
}

/// Regression: a refusal woke a foreign waker at once while the refusing primitive still held
/// a borrow of its own state, so a waker that touched the primitive (a send into the channel,
/// a look at the permits) panicked with a `BorrowMutError`. Every operation that checks its
/// budget under a borrow now refuses after releasing it.
#[test]
fn a_refusal_wakes_with_no_borrow_of_the_primitive_held() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tx.send(1).unwrap();
    refused_with_a_reentrant_waker(
        move || tx.send(2).unwrap(),
        |cx| std::pin::pin!(rx.recv()).poll(cx).is_pending(),
    );

    let semaphore = Rc::new(Semaphore::new(1));
    let looked_at = semaphore.clone();
    refused_with_a_reentrant_waker(
        move || assert_eq!(looked_at.available_permits(), 1),
        |cx| {
            let mut acquire = std::pin::pin!(semaphore.acquire());
            acquire.as_mut().poll(cx).is_pending()
        },
    );

    let (tx, mut rx) = broadcast::channel(4);
    tx.send(1).unwrap();
    refused_with_a_reentrant_waker(
        move || assert_eq!(tx.send(2), Ok(1)),
        |cx| std::pin::pin!(rx.recv()).poll(cx).is_pending(),
    );

    let notify = Rc::new(Notify::new());
    let notifier = notify.clone();
    let mut notified = Box::pin(notify.notified());
    assert!(notified
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending());
    notify.notify_one(); // Unlinks the waiter: its next poll completes, budget permitting.
    refused_with_a_reentrant_waker(
        move || notifier.notify_waiters(),
        |cx| notified.as_mut().poll(cx).is_pending(),
    );
}
