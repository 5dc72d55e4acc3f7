//! What the executor, the timers and a oneshot channel allocate: one block per spawned task,
//! nothing per wake or per timer re-arm, nothing for a channel made after one was dropped
//! (counted by a counting global allocator, on this thread only).

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
        // Warm up: the live set and the run queue grow once, then keep their capacity.
        let warm: Vec<_> = (0..64).map(|_| spawn(async {})).collect();
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
