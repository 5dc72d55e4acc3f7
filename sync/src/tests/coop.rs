//! Every operation that completes without waiting spends one unit of the task's budget; with
//! the budget spent it returns `Pending` instead, and completes again once a new poll brings a
//! new budget.

use std::task::Poll;

use minireactor_reactor::coop::{with_budget, BUDGET_PER_POLL};

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
