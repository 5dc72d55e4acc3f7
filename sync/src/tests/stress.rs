//! Runtime stress: 1,000 tasks on a real minireactor runtime, each waiting on a primitive and
//! giving up after a random number of turns, checked against what the model requires: the
//! limit is never exceeded, every wait not given up completes, a message is received exactly
//! when its send completed, and at the end every permit is back and no waiter is left.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use proptest::prelude::*;

use super::run;
use crate::broadcast::error::RecvError;
use crate::{broadcast, mpsc, watch, CancellationToken, Mutex, Notify, RwLock, Semaphore};

const TASKS: usize = 1000;

/// Polls `future` until it completes (`Some`) or, if `give_up_after` is set, until the task has
/// been polled that many more times (`None`, dropping the future: a cancellation).
struct GiveUp<F> {
    future: F,
    polls_left: Option<u8>,
}

impl<F: Future + Unpin> Future for GiveUp<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = Pin::new(&mut self.future).poll(cx) {
            return Poll::Ready(Some(output));
        }
        match &mut self.polls_left {
            None => Poll::Pending,
            Some(0) => Poll::Ready(None),
            Some(left) => {
                *left -= 1;
                cx.waker().wake_by_ref(); // come back after the others have run
                Poll::Pending
            }
        }
    }
}

fn give_up<F: Future + Unpin>(future: F, polls_left: Option<u8>) -> GiveUp<F> {
    GiveUp { future, polls_left }
}

async fn yield_times(n: u8) {
    for _ in 0..n {
        minireactor::yield_now().await;
    }
}

/// Per task: how many permits, how long to hold them, and when to give up waiting.
fn task_plans() -> impl Strategy<Value = Vec<(u32, u8, Option<u8>)>> {
    prop::collection::vec(
        (1..=3u32, 0..3u8, prop::option::weighted(0.3, 0..6u8)),
        TASKS,
    )
}

fn semaphore_stress(total: u32, plans: Vec<(u32, u8, Option<u8>)>) {
    run(async move {
        let semaphore = Rc::new(Semaphore::new(total as usize));
        let held = Rc::new(Cell::new(0));
        let tasks: Vec<_> = plans
            .iter()
            .map(|&(need, hold, give_up_after)| {
                let (semaphore, held) = (semaphore.clone(), held.clone());
                minireactor::spawn(async move {
                    let need = need.min(total);
                    let acquire = semaphore.acquire_many(need);
                    let permit = give_up(acquire, give_up_after).await?.unwrap();
                    held.set(held.get() + need);
                    assert!(held.get() <= total, "more permits held than exist");
                    yield_times(hold).await;
                    held.set(held.get() - need);
                    drop(permit);
                    Some(())
                })
            })
            .collect();
        for (task, plan) in tasks.into_iter().zip(&plans) {
            let completed = task.await.unwrap().is_some();
            assert!(
                completed || plan.2.is_some(),
                "a wait never given up completed"
            );
        }
        assert_eq!(semaphore.available_permits(), total as usize);
        assert_eq!(semaphore.allocated_waiters(), 0);
    });
}

fn mutex_stress(plans: Vec<(u32, u8, Option<u8>)>) {
    run(async move {
        let mutex = Rc::new(Mutex::new(0u32));
        let inside = Rc::new(Cell::new(false));
        let tasks: Vec<_> = plans
            .iter()
            .map(|&(_, hold, give_up_after)| {
                let (mutex, inside) = (mutex.clone(), inside.clone());
                minireactor::spawn(async move {
                    let mut guard = give_up(mutex.lock(), give_up_after).await?;
                    assert!(!inside.replace(true), "two holders at once");
                    yield_times(hold).await;
                    *guard += 1;
                    inside.set(false);
                    Some(())
                })
            })
            .collect();
        let mut completed = 0;
        for (task, plan) in tasks.into_iter().zip(&plans) {
            let done = task.await.unwrap().is_some();
            assert!(done || plan.2.is_some());
            completed += u32::from(done);
        }
        assert_eq!(*mutex.lock().await, completed, "every holder counted once");
    });
}

fn rwlock_stress(plans: Vec<(u32, u8, Option<u8>)>) {
    run(async move {
        let lock = Rc::new(RwLock::with_max_readers(0u32, 3));
        // Readers inside, or `u32::MAX` while a writer is.
        let inside = Rc::new(Cell::new(0u32));
        let tasks: Vec<_> = plans
            .iter()
            .map(|&(kind, hold, give_up_after)| {
                let (lock, inside) = (lock.clone(), inside.clone());
                minireactor::spawn(async move {
                    if kind == 1 {
                        let mut guard = give_up(lock.write(), give_up_after).await?;
                        assert_eq!(inside.replace(u32::MAX), 0, "a writer shares the lock");
                        yield_times(hold).await;
                        *guard += 1;
                        inside.set(0);
                    } else {
                        let guard = give_up(lock.read(), give_up_after).await?;
                        let readers = inside.get();
                        assert!(readers < 3, "a writer inside, or too many readers");
                        inside.set(readers + 1);
                        yield_times(hold).await;
                        let _ = *guard;
                        inside.set(inside.get() - 1);
                    }
                    Some(kind == 1)
                })
            })
            .collect();
        let mut writes = 0;
        for (task, plan) in tasks.into_iter().zip(&plans) {
            match task.await.unwrap() {
                Some(wrote) => writes += u32::from(wrote),
                None => assert!(plan.2.is_some()),
            }
        }
        assert_eq!(*lock.read().await, writes, "every writer counted once");
        assert_eq!(lock.semaphore_waiters(), 0);
    });
}

fn notify_stress(plans: Vec<(u32, u8, Option<u8>)>) {
    run(async move {
        let notify = Rc::new(Notify::new());
        let woken = Rc::new(Cell::new(0usize));
        let waiters: Vec<_> = plans
            .iter()
            .map(|&(_, _, give_up_after)| {
                let (notify, woken) = (notify.clone(), woken.clone());
                minireactor::spawn(async move {
                    give_up(notify.notified(), give_up_after).await?;
                    if give_up_after.is_none() {
                        woken.set(woken.get() + 1);
                    }
                    Some(())
                })
            })
            .collect();
        let must_wake = plans.iter().filter(|plan| plan.2.is_none()).count();
        let mut notifications = 0;
        // Notify until every waiter that never gives up is through: a lost notification
        // (one handed to a cancelled waiter and not passed on) would hang here.
        while woken.get() < must_wake {
            notify.notify_one();
            notifications += 1;
            minireactor::yield_now().await;
        }
        let mut completed = 0;
        for waiter in waiters {
            completed += usize::from(waiter.await.unwrap().is_some());
        }
        assert!(
            completed <= notifications,
            "a notification woke two waiters"
        );
        assert_eq!(notify.allocated_waiters(), 0);
    });
}

fn mpsc_stress(capacity: usize, plans: Vec<(u32, u8, Option<u8>)>) {
    run(async move {
        let (tx, mut rx) = mpsc::channel(capacity);
        let senders: Vec<_> = plans
            .iter()
            .enumerate()
            .map(|(id, &(_, _, give_up_after))| {
                let tx = tx.clone();
                minireactor::spawn(async move {
                    let sent = give_up(tx.send(id), give_up_after).await?;
                    sent.unwrap();
                    Some(id)
                })
            })
            .collect();
        drop(tx);
        let receiver = minireactor::spawn(async move {
            let mut got = Vec::new();
            while let Some(id) = rx.recv().await {
                got.push(id);
                if got.len() % 7 == 0 {
                    minireactor::yield_now().await; // let senders queue up
                }
            }
            got
        });
        let mut sent = BTreeSet::new();
        for (sender, plan) in senders.into_iter().zip(&plans) {
            match sender.await.unwrap() {
                Some(id) => assert!(sent.insert(id)),
                None => assert!(plan.2.is_some()),
            }
        }
        let got = receiver.await.unwrap();
        assert_eq!(got.len(), sent.len(), "each completed send received once");
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), sent);
    });
}

/// A receiver whose receives are cancelled at random (and retried) loses no message.
fn unbounded_stress(give_ups: Vec<Option<u8>>) {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let senders: Vec<_> = (0..TASKS)
            .map(|id| {
                let tx = tx.clone();
                minireactor::spawn(async move {
                    minireactor::yield_now().await;
                    tx.send(id).unwrap();
                })
            })
            .collect();
        drop(tx);
        let mut got = Vec::new();
        let mut plan = give_ups.iter().cycle();
        loop {
            match give_up(rx.recv(), *plan.next().unwrap()).await {
                None => continue, // cancelled: try again
                Some(Some(id)) => got.push(id),
                Some(None) => break,
            }
        }
        for sender in senders {
            sender.await.unwrap();
        }
        got.sort_unstable();
        assert_eq!(
            got,
            (0..TASKS).collect::<Vec<_>>(),
            "every message exactly once"
        );
    });
}

/// 1,000 subscribers, each of whose receives may be cancelled (and retried): each sees every
/// value it did not lag past, in order, and `Lagged` accounts for exactly the rest.
fn broadcast_stress(capacity: usize, give_ups: Vec<Option<u8>>) {
    const VALUES: u32 = 50;
    run(async move {
        let (tx, rx) = broadcast::channel(capacity);
        let subscribers: Vec<_> = give_ups
            .iter()
            .map(|&give_up_after| {
                let mut rx = rx.resubscribe();
                minireactor::spawn(async move {
                    let mut next = 0u32;
                    loop {
                        match give_up(rx.recv(), give_up_after).await {
                            None => continue,
                            Some(Ok(value)) => {
                                assert_eq!(value, next, "in order, nothing lost unannounced");
                                next += 1;
                            }
                            Some(Err(RecvError::Lagged(missed))) => {
                                next += u32::try_from(missed).unwrap();
                            }
                            Some(Err(RecvError::Closed)) => return next,
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for value in 0..VALUES {
            tx.send(value).unwrap();
            if value % 3 == 0 {
                minireactor::yield_now().await;
            }
        }
        drop(tx);
        for subscriber in subscribers {
            let next = subscriber.await.unwrap();
            assert_eq!(next, VALUES, "values and gaps cover everything sent");
        }
    });
}

/// 1,000 watchers, each of whose waits may be cancelled (and retried): values seen only go up,
/// and every watcher ends having seen the last one.
fn watch_stress(give_ups: Vec<Option<u8>>) {
    const VALUES: u32 = 50;
    run(async move {
        let (tx, rx) = watch::channel(0u32);
        let watchers: Vec<_> = give_ups
            .iter()
            .map(|&give_up_after| {
                let mut rx = rx.clone();
                minireactor::spawn(async move {
                    let mut last = 0;
                    loop {
                        match give_up(rx.changed(), give_up_after).await {
                            None => continue,
                            Some(Ok(())) => {
                                let value = *rx.borrow_and_update();
                                assert!(value > last, "a change is a newer value");
                                last = value;
                            }
                            Some(Err(_)) => return last,
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for value in 1..=VALUES {
            tx.send(value).unwrap();
            if value % 4 == 0 {
                minireactor::yield_now().await;
            }
        }
        drop(tx);
        for watcher in watchers {
            assert_eq!(
                watcher.await.unwrap(),
                VALUES,
                "the last value is never missed"
            );
        }
    });
}

/// A tree of 1,000 tokens with a task waiting on each (its waits cancelled and retried at
/// random); after cancelling a random set of nodes, exactly the tasks under a cancelled node
/// are through.
fn token_stress(parents: Vec<usize>, cancelled: Vec<bool>, give_ups: Vec<Option<u8>>) {
    run(async move {
        let root = CancellationToken::new();
        let mut tokens: Vec<CancellationToken> = Vec::with_capacity(TASKS);
        for (i, &parent) in parents.iter().enumerate() {
            let parent = if i == 0 { &root } else { &tokens[parent % i] };
            let child = parent.child_token();
            tokens.push(child);
        }
        let through: Vec<Rc<Cell<bool>>> = (0..TASKS).map(|_| Rc::default()).collect();
        let waiters: Vec<_> = tokens
            .iter()
            .zip(&through)
            .zip(&give_ups)
            .map(|((token, through), &give_up_after)| {
                let (token, through) = (token.clone(), through.clone());
                minireactor::spawn(async move {
                    while give_up(token.cancelled(), give_up_after).await.is_none() {}
                    through.set(true);
                })
            })
            .collect();
        minireactor::yield_now().await;
        for (token, &cancel) in tokens.iter().zip(&cancelled) {
            if cancel {
                token.cancel();
            }
        }
        // The model: a token is cancelled if it or an ancestor was.
        let mut expected = vec![false; TASKS];
        for i in 0..TASKS {
            let parent = (i > 0).then(|| parents[i] % i);
            expected[i] = cancelled[i] || parent.is_some_and(|p| expected[p]);
        }
        for _ in 0..10 {
            minireactor::yield_now().await; // let every woken waiter (and retrier) run
        }
        for (i, through) in through.iter().enumerate() {
            assert_eq!(tokens[i].is_cancelled(), expected[i], "token {i}");
            assert_eq!(through.get(), expected[i], "waiter of token {i}");
        }
        root.cancel();
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert!(through.iter().all(|t| t.get()));
    });
}

/// For loops that retry after giving up: at least one turn before each give-up, or a retrying
/// task would never yield.
fn give_up_plans() -> impl Strategy<Value = Vec<Option<u8>>> {
    prop::collection::vec(prop::option::weighted(0.5, 1..4u8), TASKS)
}

proptest! {
    // Few cases, each of 1,000 tasks; a failure shrinks briefly (each run may take a watchdog).
    #![proptest_config(ProptestConfig { cases: 8, max_shrink_iters: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_thousand_tasks_share_a_semaphore(total in 1..=4u32, plans in task_plans()) {
        semaphore_stress(total, plans);
    }

    #[test]
    fn a_thousand_tasks_share_a_mutex(plans in task_plans()) {
        mutex_stress(plans);
    }

    #[test]
    fn a_thousand_readers_and_writers_share_a_rwlock(plans in task_plans()) {
        rwlock_stress(plans);
    }

    #[test]
    fn a_thousand_tasks_wait_on_a_notify(plans in task_plans()) {
        notify_stress(plans);
    }

    #[test]
    fn a_receiver_cancelled_at_random_loses_no_message(give_ups in give_up_plans()) {
        unbounded_stress(give_ups);
    }

    #[test]
    fn a_thousand_subscribers_see_everything_or_are_told_what_they_missed(
        capacity in 1..=16usize,
        give_ups in give_up_plans(),
    ) {
        broadcast_stress(capacity, give_ups);
    }

    #[test]
    fn a_thousand_watchers_always_end_on_the_last_value(give_ups in give_up_plans()) {
        watch_stress(give_ups);
    }

    #[test]
    fn cancelling_nodes_of_a_thousand_token_tree_wakes_exactly_their_subtrees(
        parents in prop::collection::vec(any::<usize>(), TASKS),
        cancelled in prop::collection::vec(prop::bool::weighted(0.05), TASKS),
        give_ups in give_up_plans(),
    ) {
        token_stress(parents, cancelled, give_ups);
    }

    #[test]
    fn a_thousand_tasks_send_into_a_bounded_channel(
        capacity in 1..=8usize,
        plans in task_plans(),
    ) {
        mpsc_stress(capacity, plans);
    }
}
