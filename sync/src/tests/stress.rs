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
use crate::{mpsc, Mutex, Notify, RwLock, Semaphore};

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
    fn a_thousand_tasks_send_into_a_bounded_channel(
        capacity in 1..=8usize,
        plans in task_plans(),
    ) {
        mpsc_stress(capacity, plans);
    }
}
