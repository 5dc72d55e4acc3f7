//! What the executor, the timers and a oneshot channel allocate: one block per spawned task,
//! none when the block of a freed task is recycled, nothing per wake or per timer re-arm,
//! nothing for a channel made after one was dropped (counted by a counting global allocator, on
//! this thread only).

#[path = "util/counting_alloc.rs"]
mod counting_alloc;

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use counting_alloc::allocations_in;
use minireactor::sync::oneshot;
use minireactor::time::{sleep, Sleep};
use minireactor::{spawn, yield_now, Runtime};

#[test]
fn a_spawn_of_a_future_that_does_not_allocate_is_exactly_one_allocation() {
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        // Warm up: the live set and the run queue grow once, then keep their capacity. These
        // tasks' blocks are of another size class than those below, so none is reused there.
        let warm: Vec<_> = (0..64).map(|_| spawn(async { [7u8; 256] })).collect();
        for handle in warm {
            handle.await.unwrap();
        }
        let mut handles = Vec::with_capacity(32);
        for _ in 0..32 {
            let (handle, allocations) = allocations_in(|| spawn(async { 7u8 }));
            assert_eq!(allocations, 1, "one spawn");
            handles.push(handle);
        }
        yield_now().await; // They all run and finish.
        let mut cx = Context::from_waker(Waker::noop());
        for mut handle in handles {
            // Taking a finished task's output allocates nothing either.
            let (output, allocations) = allocations_in(|| Pin::new(&mut handle).poll(&mut cx));
            assert_eq!(allocations, 0);
            assert!(matches!(output, Poll::Ready(Ok(7))));
        }
        // The handles are dropped, so are the tasks: their blocks serve the next spawns.
        for _ in 0..32 {
            let (handle, allocations) = allocations_in(|| spawn(async { 8u8 }));
            assert_eq!(allocations, 0, "a spawn that reuses a freed task's block");
            assert_eq!(handle.await.unwrap(), 8);
        }
    });
}

/// Regression: the runtime freed its recycled task blocks whenever its run queue was empty,
/// also when a spent budget had only deferred the `block_on` future to the next turn, so a
/// burst of spawns after joining many tasks went back to `malloc` for every block.
#[test]
fn task_blocks_are_recycled_across_a_burst_and_only_64_are_kept_once_idle() {
    // More joins than a budget (128) and more tasks than an idle runtime keeps (64): 150 under
    // Miri, where 1,000 take two minutes.
    const TASKS: u64 = if cfg!(miri) { 150 } else { 1000 };
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        let spawn_all = || (0..TASKS).map(|_| spawn(async { 7u8 })).collect::<Vec<_>>();
        let join_all = |handles: Vec<minireactor::JoinHandle<u8>>| async {
            for handle in handles {
                assert_eq!(handle.await.unwrap(), 7); // More than a budget of joins.
            }
        };
        join_all(spawn_all()).await; // Grows the live set and the run queue, once.

        let (handles, allocations) = allocations_in(spawn_all);
        assert_eq!(
            allocations, 1,
            "the handles' Vec alone: every task block is recycled"
        );
        join_all(handles).await;

        sleep(Duration::from_millis(1)).await; // Idle: the runtime waits for the timer.
        let (handles, allocations) = allocations_in(spawn_all);
        assert_eq!(
            allocations,
            1 + TASKS - 64,
            "an idle runtime keeps 64 blocks"
        );
        join_all(handles).await;
    });
}

/// A runtime recycles only its own tasks' blocks: one freed on its thread while it runs, but
/// of another runtime's task, goes back to the allocator, so that the blocks a runtime keeps
/// are never more than the tasks it had at once.
#[test]
fn a_runtime_recycles_only_its_own_tasks_blocks() {
    let other = Runtime::new().unwrap();
    let others_task = other.spawn(async { 7u8 });
    other.block_on(yield_now()); // It runs and finishes; its handle keeps the block.
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        // Warm up the live set and the run queue with blocks of another class.
        spawn(async { [7u8; 256] }).await.unwrap();
        drop(others_task); // The last reference to the other runtime's task.
        let (handle, allocations) = allocations_in(|| spawn(async { 8u8 }));
        assert_eq!(allocations, 1, "the other runtime's block was not kept");
        assert_eq!(handle.await.unwrap(), 8);
    });
}

#[test]
fn a_local_wake_allocates_nothing() {
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        let task = spawn(async {
            let mut counts = Vec::with_capacity(100);
            for _ in 0..100 {
                let mut woken = false;
                poll_fn(|cx| {
                    if woken {
                        return Poll::Ready(());
                    }
                    woken = true;
                    let ((), allocations) = allocations_in(|| cx.waker().wake_by_ref());
                    counts.push(allocations);
                    Poll::Pending
                })
                .await;
            }
            counts
        });
        yield_now().await;
        let counts = task.await.unwrap();
        assert!(counts.iter().all(|&n| n == 0), "{counts:?}");
    });
}

#[test]
fn re_arming_a_timer_allocates_nothing() {
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        let mut timer: Pin<Box<Sleep>> = Box::pin(sleep(Duration::from_secs(3600)));
        // Warm up the reactor's timer slab and heap.
        poll_fn(|cx| {
            let _ = timer.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        for i in 0..100u64 {
            let ((), allocations) = allocations_in(|| {
                let deadline = minireactor::time::now() + Duration::from_secs(3600 + i);
                timer.reset(deadline);
            });
            assert_eq!(allocations, 0, "reset");
            let allocations = poll_fn(|cx| {
                let (_, allocations) = allocations_in(|| timer.as_mut().poll(cx));
                Poll::Ready(allocations)
            })
            .await;
            assert_eq!(allocations, 0, "re-arm");
        }
    });
}

#[test]
fn a_oneshot_made_after_one_was_dropped_allocates_nothing() {
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        let ((), first) = allocations_in(|| drop(oneshot::channel::<u64>()));
        assert_eq!(first, 1, "the first channel's block");
        for i in 0..100 {
            let (received, allocations) = allocations_in(|| {
                let (tx, mut rx) = oneshot::channel();
                tx.send(i).unwrap();
                rx.try_recv()
            });
            assert_eq!(received, Ok(i));
            assert_eq!(
                allocations, 0,
                "its block is the one the last channel freed"
            );
        }
    });
}
