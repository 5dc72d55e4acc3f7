//! `JoinSet`: tasks joined in the order they finish, aborted together, aborted when dropped.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use minireactor::sync::Notify;
use minireactor::task::{consume_budget, JoinSet};
use minireactor::time::{self, sleep, timeout};
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

/// A task that finishes when `gate` is notified, with `output`.
fn gated<T: 'static>(gate: &Rc<Notify>, output: T) -> impl Future<Output = T> + 'static {
    let gate = gate.clone();
    async move {
        gate.notified().await;
        output
    }
}

#[test]
fn detach_all_lets_the_tasks_run_on_and_forgets_those_that_finished_unjoined() {
    minireactor::block_on(async {
        let watchdog = Duration::from_secs(5);
        let mut set = JoinSet::new();
        let gate = Rc::new(Notify::new());
        let detached_ran = Rc::new(Cell::new(false));
        set.spawn(async { "finished before the detach, never joined" });
        set.spawn({
            let (gate, ran) = (gate.clone(), detached_ran.clone());
            async move {
                gate.notified().await;
                ran.set(true);
                "detached"
            }
        });
        yield_now().await; // The first finishes: its key is on the ready list.
        set.detach_all();
        assert!(set.is_empty());

        // The new tasks take the old keys: the slow one key 0, the finished task's; had its
        // entry stayed listed, `join_next` would wait on the slow task before the quick one.
        let later = Rc::new(Notify::new());
        set.spawn(gated(&later, "slow"));
        set.spawn(async { "quick" });
        let first = timeout(watchdog, set.join_next()).await;
        assert_eq!(
            first.expect("the quick task is joined").unwrap().unwrap(),
            "quick"
        );

        gate.notify_one();
        later.notify_one();
        let second = timeout(watchdog, set.join_next()).await;
        assert_eq!(
            second.expect("the slow task is joined").unwrap().unwrap(),
            "slow"
        );
        assert!(set.join_next().await.is_none());
        assert!(detached_ran.get(), "the detached task ran to its end");
    });
}

#[test]
fn try_join_next_takes_only_finished_tasks_never_waits_and_ignores_a_spent_budget() {
    minireactor::block_on(async {
        let mut set = JoinSet::new();
        assert!(set.try_join_next().is_none(), "an empty set");
        let gate = Rc::new(Notify::new());
        set.spawn(gated(&gate, 1));
        set.spawn(async { 2 });
        assert!(set.try_join_next().is_none(), "neither task has run");
        yield_now().await;
        poll_fn(|cx| {
            // Spend this task's budget: a budgeted join is refused from here on ...
            while pin!(consume_budget()).poll(cx).is_ready() {}
            assert!(
                set.poll_join_next(cx).is_pending(),
                "join_next respects the budget"
            );
            // ... but try_join_next takes a finished task all the same.
            assert_eq!(set.try_join_next().unwrap().unwrap(), 2);
            Poll::Ready(())
        })
        .await;
        assert!(set.try_join_next().is_none(), "the gated task still runs");
        assert_eq!(set.len(), 1);
        gate.notify_one();
        yield_now().await;
        assert_eq!(set.try_join_next().unwrap().unwrap(), 1);
        assert!(set.is_empty());
    });
}

#[test]
fn join_next_with_id_names_each_task_as_its_abort_handle_does() {
    minireactor::block_on(async {
        let mut set = JoinSet::new();
        let ids: Vec<_> = (0..10)
            .map(|i| (set.spawn(async move { i }).id(), i))
            .collect();
        let aborted = set.spawn(std::future::pending());
        aborted.abort();
        let (mut joined, mut failed) = (Vec::new(), Vec::new());
        let all = async {
            while let Some(result) = set.join_next_with_id().await {
                match result {
                    Ok(pair) => joined.push(pair),
                    Err(err) => failed.push(err.id()),
                }
            }
        };
        timeout(Duration::from_secs(5), all)
            .await
            .expect("every task is joined");
        joined.sort_unstable_by_key(|&(_, i)| i);
        assert_eq!(joined, ids);
        assert_eq!(failed, [aborted.id()], "only the aborted task fails");
    });
}

#[test]
fn join_all_returns_the_outputs_in_completion_order() {
    minireactor::block_on(async {
        time::pause();
        let set: JoinSet<u64> = [30, 10, 20]
            .into_iter()
            .map(|ms| async move {
                sleep(Duration::from_millis(ms)).await;
                ms
            })
            .collect();
        assert_eq!(set.len(), 3);
        assert_eq!(set.join_all().await, [10, 20, 30]);
    });
}

#[test]
fn join_all_resumes_a_task_panic_and_aborts_the_tasks_left() {
    let runtime = minireactor::Runtime::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    let caught = runtime.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..5 {
            let guard = DropGuard(drops.clone());
            set.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
        }
        set.spawn(async { std::panic::panic_any("task panicked") });
        let caught = std::panic::AssertUnwindSafe(set.join_all());
        let caught = catch_unwind(caught).await;
        yield_now().await; // The aborted tasks are dropped at the runtime's next pass.
        yield_now().await;
        caught
    });
    let payload = caught.expect_err("join_all panicked");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"task panicked"));
    assert_eq!(drops.get(), 5, "the tasks left were aborted");
    assert_eq!(runtime.live_tasks(), 0);
}

/// Catches a panic out of `future`'s polls (what `FutureExt::catch_unwind` does).
async fn catch_unwind<F: Future + std::panic::UnwindSafe>(
    future: F,
) -> std::thread::Result<F::Output> {
    let mut future = Box::pin(future);
    poll_fn(|cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    })
    .await
}

#[test]
fn extend_spawns_each_future_into_the_set() {
    minireactor::block_on(async {
        let mut set = JoinSet::new();
        set.extend((0..3).map(|i| async move { i }));
        set.extend([async { 3 }]);
        assert_eq!(set.len(), 4);
        let mut outputs = set.join_all().await;
        outputs.sort_unstable();
        assert_eq!(outputs, [0, 1, 2, 3]);
    });
}

#[test]
fn spawn_blocking_joins_a_pool_thread_closure_beside_local_tasks() {
    minireactor::block_on(async {
        let mut set = JoinSet::new();
        let caller = std::thread::current().id();
        set.spawn_blocking(move || std::thread::current().id() != caller);
        set.spawn(async { false });
        let mut outputs = set.join_all().await;
        outputs.sort_unstable();
        assert_eq!(outputs, [false, true], "the closure ran on another thread");
    });
}

#[test]
fn detach_all_leaves_an_empty_usable_set_when_an_output_panics_as_it_is_dropped() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("an output's destructor panicked");
        }
    }
    minireactor::block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { Some(PanicsOnDrop) });
        set.spawn(async { None });
        yield_now().await; // Both finish, unjoined.
        let detached = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| set.detach_all()));
        assert!(detached.is_err(), "the output's panic reaches the caller");
        assert!(set.is_empty());
        set.spawn(async { None });
        let joined = timeout(Duration::from_secs(5), set.join_next()).await;
        assert!(joined
            .expect("the set still works")
            .unwrap()
            .unwrap()
            .is_none());
        assert!(set.join_next().await.is_none());
    });
}
