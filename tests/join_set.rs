//! `JoinSet`: tasks joined in the order they finish, aborted together, aborted when dropped.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use minireactor::sync::Notify;
use minireactor::task::JoinSet;
use minireactor::time::{self, sleep};
use minireactor::yield_now;

/// Counts its drops: what an aborted task's future leaves behind.
struct DropGuard(Rc<Cell<usize>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn ten_thousand_tasks_are_joined_in_completion_order() {
    minireactor::block_on(async {
        time::pause(); // Exact and instant: 10,000 distinct deadlines, no real sleeping.
        let mut set = JoinSet::new();
        for i in 0..10_000u64 {
            let delay = (i * 7_919) % 10_000; // A permutation of 0..10_000.
            set.spawn(async move {
                sleep(Duration::from_micros(delay)).await;
                delay
            });
        }
        assert_eq!(set.len(), 10_000);
        let mut order = Vec::with_capacity(10_000);
        while let Some(joined) = set.join_next().await {
            order.push(joined.unwrap());
        }
        assert_eq!(order, (0..10_000).collect::<Vec<_>>());
        assert!(set.is_empty());
    });
}

#[test]
fn abort_all_cancels_every_task_and_each_is_joined_as_cancelled() {
    minireactor::block_on(async {
        let drops = Rc::new(Cell::new(0));
        let mut set = JoinSet::new();
        for _ in 0..100 {
            let guard = DropGuard(drops.clone());
            set.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
        }
        yield_now().await; // They all start.
        set.abort_all();
        let mut cancelled = 0;
        while let Some(joined) = set.join_next().await {
            assert!(joined.unwrap_err().is_cancelled());
            cancelled += 1;
        }
        assert_eq!(cancelled, 100);
        assert_eq!(drops.get(), 100);
    });
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    let runtime = minireactor::Runtime::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    runtime.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..10 {
            let guard = DropGuard(drops.clone());
            set.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
        }
        yield_now().await;
        drop(set);
        // Aborted tasks are dropped at the runtime's next pass.
        yield_now().await;
        yield_now().await;
    });
    assert_eq!(drops.get(), 10, "every task's future was dropped");
    assert_eq!(runtime.live_tasks(), 0);
}

#[test]
fn a_finished_task_not_yet_joined_is_counted_and_a_cancelled_join_next_loses_nothing() {
    minireactor::block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { 1 });
        set.spawn(async { 2 });
        yield_now().await; // Both finish; neither is joined yet.
        assert_eq!(set.len(), 2);
        let mut got = vec![
            set.join_next().await.unwrap().unwrap(),
            set.join_next().await.unwrap().unwrap(),
        ];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        // A join_next polled while its task still runs, then dropped: the result stays for the
        // next one.
        let gate = Rc::new(Notify::new());
        set.spawn({
            let gate = gate.clone();
            async move {
                gate.notified().await;
                3
            }
        });
        {
            let mut next = pin!(set.join_next());
            poll_fn(|cx| {
                assert!(next.as_mut().poll(cx).is_pending(), "the task still runs");
                Poll::Ready(())
            })
            .await;
        }
        gate.notify_one();
        yield_now().await; // The task finishes, with nobody waiting for it.
        assert_eq!(set.len(), 1);
        assert_eq!(set.join_next().await.unwrap().unwrap(), 3);
        assert!(set.join_next().await.is_none());
    });
}
