//! The executor: spawning, joining, aborting, panics, nesting, fairness, cross-thread wakes,
//! shutdown.

mod util;

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use minireactor::reactor::Reactor;
use minireactor::time::sleep;
use minireactor::{spawn, yield_now, Runtime};
use util::{on_thread_with_watchdog, run_with_watchdog};

const WATCHDOG: Duration = Duration::from_secs(30);

/// Counts its drops.
struct DropCounter(Rc<Cell<usize>>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Never completes.
fn pending_forever() -> impl Future<Output = ()> {
    poll_fn(|_| Poll::Pending)
}

#[test]
fn hundred_thousand_tasks_complete_and_leave_an_empty_slab() {
    // 250 under Miri, where 100,000 take more than a quarter of an hour.
    const TASKS: u64 = if cfg!(miri) { 250 } else { 100_000 };
    let runtime = Runtime::new().unwrap();
    let sum = runtime.block_on(async {
        let handles: Vec<_> = (0..TASKS).map(|i| spawn(async move { i })).collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..TASKS).sum::<u64>());
    assert_eq!(runtime.live_tasks(), 0);
}

#[test]
fn detached_tasks_still_run() {
    let ran = Rc::new(Cell::new(0));
    minireactor::block_on({
        let ran = ran.clone();
        async move {
            for _ in 0..10 {
                let ran = ran.clone();
                drop(spawn(async move {
                    yield_now().await;
                    ran.set(ran.get() + 1);
                }));
            }
            while ran.get() < 10 {
                yield_now().await;
            }
        }
    });
    assert_eq!(ran.get(), 10);
}

#[test]
fn abort_drops_the_future_and_the_joiner_sees_cancelled() {
    let drops = Rc::new(Cell::new(0));
    run_with_watchdog(WATCHDOG, {
        let drops = drops.clone();
        async move {
            let guard = DropCounter(drops.clone());
            let handle = spawn(async move {
                let _guard = guard;
                pending_forever().await;
            });
            yield_now().await; // Let it start.
            assert!(!handle.is_finished());
            handle.abort();
            let err = handle.await.expect_err("an aborted task has no output");
            assert!(err.is_cancelled());
            assert!(!err.is_panic());
            assert_eq!(drops.get(), 1, "the future was not dropped");
        }
    });
    assert_eq!(drops.get(), 1, "dropped more than once");
}

#[test]
fn abort_after_completion_keeps_the_output() {
    run_with_watchdog(WATCHDOG, async {
        let handle = spawn(async { 7 });
        while !handle.is_finished() {
            yield_now().await;
        }
        handle.abort();
        assert_eq!(handle.await.unwrap(), 7);
    });
}

#[test]
fn panicking_task_reaches_its_joiner_and_spares_the_others() {
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        let before = spawn(async { 1 });
        let bad = spawn(async {
            yield_now().await;
            panic!("boom");
        });
        let after = spawn(async {
            yield_now().await;
            2
        });
        let err = bad.await.expect_err("the task panicked");
        assert!(err.is_panic());
        assert!(err.to_string().ends_with("panicked: boom"), "{err}");
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        assert_eq!(before.await.unwrap() + after.await.unwrap(), 3);
    });
    assert_eq!(runtime.live_tasks(), 0);
}

#[test]
fn panic_in_block_on_future_propagates() {
    let result = catch_unwind(|| minireactor::block_on(async { panic!("main future") }));
    let payload = result.expect_err("the panic must reach the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"main future"));
    // The thread is usable afterwards.
    assert_eq!(minireactor::block_on(async { 5 }), 5);
}

#[test]
fn nested_block_on_panics_clearly_and_the_runtime_keeps_working() {
    let outcome = minireactor::block_on(async {
        let nested = catch_unwind(AssertUnwindSafe(|| minireactor::block_on(async { 1 })));
        let payload = nested.expect_err("nested block_on must panic");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap();
        // Still running: tasks and timers work after the failed nested call.
        let task = spawn(async {
            sleep(Duration::from_millis(1)).await;
            3
        });
        (message, task.await.unwrap())
    });
    assert!(
        outcome.0.contains("already running on this thread"),
        "{}",
        outcome.0
    );
    assert_eq!(outcome.1, 3);
    assert_eq!(minireactor::block_on(async { 4 }), 4);
}

#[test]
fn spawn_outside_a_runtime_panics_clearly() {
    let payload = catch_unwind(|| drop(spawn(async {}))).expect_err("no runtime is running");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("outside a runtime"), "{message}");
}

#[test]
fn yielding_task_does_not_starve_a_timer() {
    run_with_watchdog(WATCHDOG, async {
        let stop = Rc::new(Cell::new(false));
        let spinner = spawn({
            let stop = stop.clone();
            async move {
                let mut spins = 0u64;
                while !stop.get() {
                    yield_now().await;
                    spins += 1;
                }
                spins
            }
        });
        let start = Instant::now();
        sleep(Duration::from_millis(10)).await;
        let late = start.elapsed().saturating_sub(Duration::from_millis(10));
        stop.set(true);
        let spins = spinner.await.unwrap();
        assert!(spins > 0, "the spinner never ran");
        // Generous for a loaded 2-core CI machine; starvation would be unbounded.
        assert!(late < Duration::from_millis(250), "timer late by {late:?}");
    });
}

#[test]
fn task_woken_during_its_poll_is_polled_again_once() {
    run_with_watchdog(WATCHDOG, async {
        let polls = Rc::new(Cell::new(0));
        let task = spawn({
            let polls = polls.clone();
            poll_fn(move |cx| {
                polls.set(polls.get() + 1);
                if polls.get() == 1 {
                    // Three wakes during one poll: one more poll, not three.
                    cx.waker().wake_by_ref();
                    cx.waker().wake_by_ref();
                    let owned = cx.waker().clone();
                    owned.wake();
                    return Poll::Pending;
                }
                Poll::Ready(())
            })
        });
        task.await.unwrap();
        assert_eq!(polls.get(), 2);
    });
}

/// A task that wakes itself during the poll that finishes it is left in the run queue, holding
/// the task's last scheduler reference; these pin that such an entry is dropped once and never
/// polled, whether the next pass, the next `block_on` or the runtime's drop takes it. Dropped
/// too early, the task's block would be recycled under its `JoinHandle`: the next spawn takes
/// it, and the handle reads that task's output. Never dropped, Miri (`.ci/run`) reports a leak.
fn spawn_finishing_self_waker(
    output: usize,
    polls: &Rc<Cell<usize>>,
    drops: &Rc<Cell<usize>>,
) -> minireactor::JoinHandle<usize> {
    let polls = polls.clone();
    let guard = DropCounter(drops.clone());
    spawn(poll_fn(move |cx| {
        let _ = &guard;
        polls.set(polls.get() + 1);
        cx.waker().wake_by_ref();
        let owned = cx.waker().clone();
        owned.wake(); // By value: the waker's reference is dropped, no entry takes it.
        Poll::Ready(output)
    }))
}

/// Whether the task behind `joined`, whose output is `expected`, still owns its block: a task of
/// the same type spawned now would take the block if the scheduler had freed it.
async fn still_owns_its_block(joined: minireactor::JoinHandle<usize>, expected: usize) -> bool {
    let (polls, drops) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let other = spawn_finishing_self_waker(expected + 1, &polls, &drops);
    let outputs = (joined.await.unwrap(), other.await.unwrap());
    outputs == (expected, expected + 1)
}

#[test]
fn a_task_woken_during_the_poll_that_finishes_it_is_dropped_once_and_not_polled_again() {
    let (polls, drops) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    run_with_watchdog(WATCHDOG, {
        let (polls, drops) = (polls.clone(), drops.clone());
        async move {
            let joined = spawn_finishing_self_waker(7, &polls, &drops);
            // Two passes: the task's poll, then its stale entry.
            yield_now().await;
            yield_now().await;
            assert_eq!((polls.get(), drops.get()), (1, 1));
            assert!(still_owns_its_block(joined, 7).await);
        }
    });
    assert_eq!((polls.get(), drops.get()), (1, 1));
}

#[test]
fn a_finished_tasks_entry_left_by_one_block_on_is_dropped_by_the_next_or_by_the_runtime() {
    for next_block_on in [true, false] {
        let (polls, drops) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let runtime = Runtime::new().unwrap();
        let mut joined = None;
        runtime.block_on(async {
            joined = Some(spawn_finishing_self_waker(7, &polls, &drops));
            // Queued behind the task: the task runs, wakes itself and finishes, then this
            // future returns, before the task's new entry is taken.
            let mut yielded = false;
            poll_fn(|cx| {
                if std::mem::replace(&mut yielded, true) {
                    return Poll::Ready(());
                }
                cx.waker().wake_by_ref();
                Poll::Pending
            })
            .await;
        });
        let joined = joined.expect("spawned");
        assert_eq!((polls.get(), drops.get()), (1, 1));
        if next_block_on {
            runtime.block_on(async {
                yield_now().await; // The stale entry is taken first.
                assert!(still_owns_its_block(joined, 7).await);
            });
        } else {
            drop(joined);
        }
        drop(runtime);
        assert_eq!(
            (polls.get(), drops.get()),
            (1, 1),
            "next_block_on: {next_block_on}"
        );
    }
}

/// A future that only holds `guard`.
async fn holding(guard: DropCounter) {
    let _guard = guard;
}

#[test]
fn dropping_a_runtime_whose_queued_tasks_never_ran_drops_each_once() {
    // Spawned outside any `block_on`, and the runtime never runs.
    let drops = Rc::new(Cell::new(0));
    let runtime = Runtime::new().unwrap();
    for _ in 0..3 {
        drop(runtime.spawn(holding(DropCounter(drops.clone()))));
    }
    drop(runtime);
    assert_eq!(drops.get(), 3);
    // Spawned inside a `block_on` that returns before they run.
    let drops = Rc::new(Cell::new(0));
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        for _ in 0..3 {
            drop(spawn(holding(DropCounter(drops.clone()))));
        }
    });
    assert_eq!(drops.get(), 0);
    drop(runtime);
    assert_eq!(drops.get(), 3);
}

/// A task woken here and from another thread before its next poll is polled once for both: the
/// entry from the other thread, taken while the task is still in the local queue, is dropped.
/// A batch of one entry ends the pass after the waking poll, so that the other thread's entry is
/// taken in between.
#[test]
fn task_woken_here_and_from_another_thread_before_its_poll_is_polled_once() {
    on_thread_with_watchdog(WATCHDOG, || {
        let runtime = minireactor::Builder::new().task_batch(1).build().unwrap();
        runtime.block_on(async {
            let polls = Rc::new(Cell::new(0));
            let stored = Rc::new(RefCell::new(None::<Waker>));
            let task = spawn({
                let (polls, stored) = (polls.clone(), stored.clone());
                poll_fn(move |cx| {
                    polls.set(polls.get() + 1);
                    *stored.borrow_mut() = Some(cx.waker().clone());
                    Poll::<()>::Pending
                })
            });
            yield_now().await; // The task's first poll.
            let waker = stored.borrow_mut().take().unwrap();
            waker.wake_by_ref();
            std::thread::spawn(move || waker.wake()).join().unwrap();
            for _ in 0..3 {
                yield_now().await;
            }
            assert_eq!(polls.get(), 2, "one poll for both wakes");
            task.abort();
        });
    });
}

/// A wake of an earlier `block_on`'s future from another thread, still in the remote queue when
/// the next `block_on` starts, is dropped: queueing the run queue's `block_on` entry a second
/// time would cut off the entries queued after the first (here the task woken just before it,
/// which the `block_on` would then wait for forever; checked by removing that guard).
#[test]
fn a_stale_cross_thread_wake_of_an_earlier_block_on_future_loses_no_task() {
    on_thread_with_watchdog(WATCHDOG, || {
        let runtime = Runtime::new().unwrap();
        let stored = Rc::new(RefCell::new(None::<Waker>));
        let task = runtime.spawn({
            let stored = stored.clone();
            let mut polls = 0;
            poll_fn(move |cx| {
                polls += 1;
                if polls > 1 {
                    return Poll::Ready(7);
                }
                *stored.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            })
        });
        let main = runtime.block_on(async {
            yield_now().await; // The task's first poll.
            poll_fn(|cx| Poll::Ready(cx.waker().clone())).await
        });
        let task_waker = stored.borrow_mut().take().unwrap();
        std::thread::spawn(move || {
            task_waker.wake();
            main.wake(); // That `block_on` is over.
        })
        .join()
        .unwrap();
        assert_eq!(runtime.block_on(task).unwrap(), 7);
    });
}

/// A `block_on` that returns while its own entry is queued between two woken tasks' leaves both
/// queued, in order, for the next `block_on`, which then queues after them.
#[test]
fn tasks_queued_around_a_finished_block_on_run_in_the_next() {
    on_thread_with_watchdog(WATCHDOG, || {
        let runtime = Runtime::new().unwrap();
        let order = Rc::new(RefCell::new(Vec::new()));
        let wakers = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..2)
            .map(|i| {
                let (order, wakers) = (order.clone(), wakers.clone());
                let mut polls = 0;
                runtime.spawn(poll_fn(move |cx| {
                    polls += 1;
                    if polls > 1 {
                        order.borrow_mut().push(i);
                        return Poll::Ready(());
                    }
                    wakers.borrow_mut().push(cx.waker().clone());
                    Poll::Pending
                }))
            })
            .collect();
        runtime.block_on(async {
            yield_now().await; // The tasks' first polls.
            poll_fn(|cx| {
                let wakers = wakers.borrow();
                wakers[0].wake_by_ref();
                cx.waker().wake_by_ref();
                wakers[1].wake_by_ref();
                Poll::Ready(())
            })
            .await;
        });
        assert!(order.borrow().is_empty(), "not polled since");
        runtime.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert_eq!(*order.borrow(), [0, 1]);
    });
}

/// A flag set from another thread, awaited by a task.
struct CrossThreadCounter {
    count: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl CrossThreadCounter {
    fn wait_for(&self, target: usize) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            // Store the waker first, then check: a bump in between is then never missed.
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.count.load(Ordering::SeqCst) >= target {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// Bumps the count and wakes the waiter; returns whether a wake was made.
    fn bump(&self) -> bool {
        self.count.fetch_add(1, Ordering::SeqCst);
        match &*self.waker.lock().unwrap() {
            Some(waker) => {
                waker.wake_by_ref();
                true
            }
            None => false,
        }
    }
}

#[test]
fn cross_thread_wakes_complete_every_task_with_coalesced_eventfd_writes() {
    const THREADS: usize = 4;
    // Fewer wakes and longer pauses under Miri, where 10,000 wakes per thread outlast the
    // watchdog, and the runtime needs far more than 50 µs to drain a burst and park.
    const WAKES: usize = if cfg!(miri) { 200 } else { 10_000 };
    const PAUSE: Duration = if cfg!(miri) {
        Duration::from_millis(200)
    } else {
        Duration::from_micros(50)
    };
    let runtime = Runtime::new().unwrap();
    let unparker = Reactor::current().unwrap().unparker();
    let writes_before = unparker.eventfd_writes();
    let counters: Vec<_> = (0..THREADS)
        .map(|_| {
            Arc::new(CrossThreadCounter {
                count: AtomicUsize::new(0),
                waker: Mutex::new(None),
            })
        })
        .collect();
    let wakes_made = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = counters
        .iter()
        .map(|counter| {
            let (counter, wakes_made, start) = (counter.clone(), wakes_made.clone(), start.clone());
            std::thread::spawn(move || {
                while !start.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                for i in 0..WAKES {
                    if counter.bump() {
                        wakes_made.fetch_add(1, Ordering::SeqCst);
                    }
                    if i % 64 == 0 {
                        // Pause now and then so the runtime parks and needs the eventfd.
                        std::thread::sleep(PAUSE);
                    }
                }
            })
        })
        .collect();
    runtime.block_on(async {
        let tasks: Vec<_> = counters
            .iter()
            .map(|counter| {
                let counter = counter.clone();
                spawn(async move { counter.wait_for(WAKES).await })
            })
            .collect();
        yield_now().await; // Let every task store its waker before the threads start.
        start.store(true, Ordering::SeqCst);
        for task in tasks {
            minireactor::time::timeout(WATCHDOG, task)
                .await
                .expect("watchdog: a cross-thread wake was lost")
                .unwrap();
        }
    });
    for thread in threads {
        thread.join().unwrap();
    }
    let writes = unparker.eventfd_writes() - writes_before;
    let wakes = wakes_made.load(Ordering::SeqCst) as u64;
    assert!(
        writes > 0,
        "the runtime never parked, so the test proved nothing"
    );
    assert!(writes <= wakes, "{writes} eventfd writes for {wakes} wakes");
}

#[test]
fn dropping_the_runtime_drops_each_task_once_and_wakers_stay_safe() {
    let drops = Rc::new(Cell::new(0));
    let stored_waker: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let runtime = Runtime::new().unwrap();
    runtime.block_on({
        let drops = drops.clone();
        let stored_waker = stored_waker.clone();
        async move {
            let stored_waker = stored_waker.clone();
            drop(spawn(poll_fn(move |cx| {
                *stored_waker.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            })));
            for _ in 0..100 {
                let guard = DropCounter(drops.clone());
                drop(spawn(async move {
                    let _guard = guard;
                    pending_forever().await;
                }));
            }
            yield_now().await;
        }
    });
    assert_eq!(runtime.live_tasks(), 101);
    drop(runtime);
    assert_eq!(drops.get(), 100);
    let waker = stored_waker
        .lock()
        .unwrap()
        .take()
        .expect("the task stored its waker");
    // Waking a task of a dropped runtime, here and from another thread, is harmless.
    waker.wake_by_ref();
    std::thread::spawn(move || waker.wake()).join().unwrap();
}

#[test]
fn a_future_ready_at_its_deadline_wins_the_timeout() {
    run_with_watchdog(WATCHDOG, async {
        let ready = std::future::ready(9);
        let out = minireactor::time::timeout(Duration::ZERO, ready).await;
        assert_eq!(out, Ok(9));
    });
}

#[test]
fn block_on_future_is_polled_only_when_woken() {
    let polls = Rc::new(Cell::new(0));
    minireactor::block_on({
        let polls = polls.clone();
        poll_fn(move |cx| {
            polls.set(polls.get() + 1);
            if polls.get() > 1 {
                return Poll::Ready(());
            }
            // Wake the main future once, 5 ms from now; the timer and task in between make the
            // loop turn the reactor several times without polling it.
            let waker = cx.waker().clone();
            drop(spawn(async move {
                sleep(Duration::from_millis(5)).await;
                yield_now().await;
                waker.wake();
            }));
            Poll::Pending
        })
    });
    assert_eq!(polls.get(), 2);
}

/// Regression: a panic in a future's destructor, run when the task is aborted, unwound through
/// the scheduler and out of `block_on`, leaving the task in the slab.
#[test]
fn a_destructor_panic_on_abort_reaches_the_joiner() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("destructor");
        }
    }
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        let handle = spawn(async {
            let _guard = PanicsOnDrop;
            pending_forever().await;
        });
        yield_now().await;
        handle.abort();
        let err = handle.await.expect_err("aborted");
        assert!(err.is_panic(), "{err}");
        assert!(err.to_string().ends_with("panicked: destructor"), "{err}");
        assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
    });
    assert_eq!(runtime.live_tasks(), 0);
}

/// Regression: `Runtime::drop` refused `block_on` in the destructors it ran ("already running"),
/// though nothing was running.
#[test]
fn a_destructor_run_by_the_runtimes_drop_may_block_on() {
    struct BlocksOnWhenDropped(Rc<Cell<Option<u32>>>);
    impl Drop for BlocksOnWhenDropped {
        fn drop(&mut self) {
            self.0.set(Some(minireactor::block_on(async { 7 })));
        }
    }
    let seen = Rc::new(Cell::new(None));
    let runtime = Runtime::new().unwrap();
    let guard = BlocksOnWhenDropped(seen.clone());
    runtime.spawn(async move {
        let _guard = guard;
        pending_forever().await;
    });
    drop(runtime);
    assert_eq!(seen.get(), Some(7));
}

/// Regression: a runtime dropped inside another's `block_on` let its destructors `block_on`,
/// which took over the outer runtime's run queue (dropping its entries) and left it without
/// one: the outer `block_on` lost its tasks. A nested `block_on` is refused there as anywhere
/// inside a `block_on`, and the outer runtime keeps working.
#[test]
fn a_destructor_run_by_a_drop_inside_block_on_may_not_block_on() {
    struct BlocksOnWhenDropped(Rc<Cell<Option<bool>>>);
    impl Drop for BlocksOnWhenDropped {
        fn drop(&mut self) {
            let nested = catch_unwind(AssertUnwindSafe(|| minireactor::block_on(async { 7 })));
            self.0.set(Some(nested.is_err()));
        }
    }
    // A thread of its own: the failure this pins is a `block_on` that never returns.
    util::on_thread_with_watchdog(WATCHDOG, || {
        let refused = Rc::new(Cell::new(None));
        let outer = minireactor::block_on(async {
            let queued = spawn(async {
                yield_now().await;
                3
            });
            let inner = Runtime::new().unwrap();
            let guard = BlocksOnWhenDropped(refused.clone());
            inner.spawn(async move {
                let _guard = guard;
                pending_forever().await;
            });
            drop(inner);
            queued.await.unwrap()
        });
        assert_eq!(refused.get(), Some(true), "the nested block_on ran");
        assert_eq!(outer, 3);
    });
}

/// A spawn from a destructor that shutdown runs gets a task that is already cancelled.
#[test]
fn a_spawn_during_shutdown_is_cancelled_at_once() {
    struct SpawnsWhenDropped(Rc<Cell<Option<bool>>>, Rc<Cell<usize>>);
    impl Drop for SpawnsWhenDropped {
        fn drop(&mut self) {
            let drops = self.1.clone();
            let handle = spawn(async move {
                let _counted = DropCounter(drops);
            });
            self.0.set(Some(handle.is_finished()));
        }
    }
    let finished = Rc::new(Cell::new(None));
    let drops = Rc::new(Cell::new(0));
    let runtime = Runtime::new().unwrap();
    let guard = SpawnsWhenDropped(finished.clone(), drops.clone());
    runtime.spawn(async move {
        let _guard = guard;
        pending_forever().await;
    });
    drop(runtime);
    assert_eq!(
        finished.get(),
        Some(true),
        "the spawned task is finished (cancelled)"
    );
    assert_eq!(
        drops.get(),
        0,
        "its future was dropped without being polled"
    );
}

/// Regression: a destructor that always spawns (a future whose drop spawns another like it)
/// made shutdown loop forever.
#[test]
#[cfg_attr(
    miri,
    ignore = "shutdown forgets the future at the depth limit on purpose, a leak Miri reports"
)]
fn a_destructor_that_always_spawns_does_not_hang_shutdown() {
    struct Respawns(Rc<Cell<usize>>);
    impl Drop for Respawns {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
            let again = Respawns(self.0.clone());
            drop(spawn(async move {
                let _again = again;
                pending_forever().await;
            }));
        }
    }
    util::on_thread_with_watchdog(WATCHDOG, || {
        let generations = Rc::new(Cell::new(0));
        let runtime = Runtime::new().unwrap();
        let first = Respawns(generations.clone());
        runtime.spawn(async move {
            let _first = first;
            pending_forever().await;
        });
        drop(runtime);
        assert!(
            generations.get() >= 2,
            "destructors ran: {}",
            generations.get()
        );
    });
}
