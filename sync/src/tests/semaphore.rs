use std::rc::Rc;
use std::task::Poll;

use super::Probe;
use crate::{Semaphore, TryAcquireError};

fn is_granted<T, E>(poll: Poll<Result<T, E>>) -> bool {
    matches!(poll, Poll::Ready(Ok(_)))
}

#[test]
fn waiters_are_served_in_arrival_order_without_overtaking() {
    let semaphore = Semaphore::new(0);
    let (big, small) = (Probe::new(), Probe::new());
    let mut wants_two = semaphore.acquire_many(2);
    let mut wants_one = semaphore.acquire();
    assert!(big.poll(&mut wants_two).is_pending());
    assert!(small.poll(&mut wants_one).is_pending());
    semaphore.add_permits(1);
    assert_eq!(
        (big.wakes(), small.wakes()),
        (0, 0),
        "one permit: the head waits for two"
    );
    assert_eq!(semaphore.available_permits(), 0);
    assert_eq!(
        semaphore.try_acquire().err(),
        Some(TryAcquireError::NoPermits)
    );
    semaphore.add_permits(1);
    assert_eq!((big.wakes(), small.wakes()), (1, 0));
    assert_eq!(
        big.poll(&mut wants_two).map(|p| p.unwrap().num_permits()),
        Poll::Ready(2)
    );
    semaphore.add_permits(1);
    assert_eq!(small.wakes(), 1);
    assert!(is_granted(small.poll(&mut wants_one)));
    assert_eq!(semaphore.available_permits(), 3, "all permits back");
}

#[test]
fn permits_given_to_a_dropped_waiter_pass_to_the_next() {
    let semaphore = Semaphore::new(0);
    let (first, second) = (Probe::new(), Probe::new());
    let mut a = semaphore.acquire_many(3);
    let mut b = semaphore.acquire_many(2);
    assert!(first.poll(&mut a).is_pending());
    assert!(second.poll(&mut b).is_pending());
    semaphore.add_permits(2); // held by `a`, which still needs one more
    assert_eq!(second.wakes(), 0);
    drop(a);
    assert_eq!(second.wakes(), 1);
    let Poll::Ready(Ok(permit)) = second.poll(&mut b) else {
        panic!("granted")
    };
    assert_eq!(semaphore.available_permits(), 0);
    assert_eq!(semaphore.allocated_waiters(), 0);
    drop(permit);
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn a_fully_granted_waiter_dropped_before_its_poll_passes_everything_on() {
    let semaphore = Semaphore::new(0);
    let (first, second) = (Probe::new(), Probe::new());
    let mut a = semaphore.acquire();
    let mut b = semaphore.acquire();
    assert!(first.poll(&mut a).is_pending());
    assert!(second.poll(&mut b).is_pending());
    semaphore.add_permits(1);
    assert_eq!((first.wakes(), second.wakes()), (1, 0));
    drop(a);
    assert_eq!((first.wakes(), second.wakes()), (1, 1));
    assert!(is_granted(second.poll(&mut b)));
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn a_waiter_dropped_in_the_middle_gives_up_its_place() {
    let semaphore = Semaphore::new(0);
    let probes: Vec<_> = (0..3).map(|_| Probe::new()).collect();
    let mut waits: Vec<_> = probes.iter().map(|_| Some(semaphore.acquire())).collect();
    for (probe, wait) in probes.iter().zip(&mut waits) {
        assert!(probe.poll(wait.as_mut().unwrap()).is_pending());
    }
    waits[1] = None;
    semaphore.add_permits(2);
    assert_eq!(
        probes.iter().map(Probe::wakes).collect::<Vec<_>>(),
        [1, 0, 1]
    );
}

#[test]
fn close_fails_waiters_and_later_acquires_but_not_held_permits() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().unwrap();
    let probe = Probe::new();
    let mut wait = semaphore.acquire_many(2);
    assert!(probe.poll(&mut wait).is_pending());
    semaphore.close();
    assert_eq!(probe.wakes(), 1);
    assert!(matches!(probe.poll(&mut wait), Poll::Ready(Err(_))));
    assert!(matches!(
        probe.poll(&mut semaphore.acquire()),
        Poll::Ready(Err(_))
    ));
    assert_eq!(semaphore.try_acquire().err(), Some(TryAcquireError::Closed));
    drop(held);
    assert_eq!(
        semaphore.available_permits(),
        1,
        "the held permit came back"
    );
    assert!(semaphore.is_closed());
}

#[test]
fn partial_grants_come_back_when_a_waiter_fails_on_close() {
    let semaphore = Semaphore::new(1);
    let probe = Probe::new();
    let mut wait = semaphore.acquire_many(3);
    assert!(probe.poll(&mut wait).is_pending());
    assert_eq!(
        semaphore.available_permits(),
        0,
        "the waiter holds the free permit"
    );
    semaphore.close();
    assert!(matches!(probe.poll(&mut wait), Poll::Ready(Err(_))));
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn forget_merge_split_and_zero_permit_acquires() {
    let semaphore = Semaphore::new(4);
    let mut permit = semaphore.try_acquire_many(2).unwrap();
    permit.merge(semaphore.try_acquire().unwrap());
    assert_eq!(permit.num_permits(), 3);
    let split = permit.split(2).unwrap();
    assert!(permit.split(5).is_none());
    split.forget();
    assert_eq!(semaphore.available_permits(), 1);
    drop(permit);
    assert_eq!(semaphore.available_permits(), 2);
    assert_eq!(semaphore.forget_permits(5), 2);
    assert!(is_granted(
        Probe::new().poll(&mut semaphore.acquire_many(0))
    ));
}

#[test]
fn owned_permits_keep_the_semaphore_and_borrow_nothing() {
    let semaphore = Rc::new(Semaphore::new(1));
    let permit = semaphore.clone().try_acquire_owned().unwrap();
    let probe = Probe::new();
    let mut wait = semaphore.clone().acquire_owned();
    assert!(probe.poll(&mut wait).is_pending());
    assert!(Rc::ptr_eq(permit.semaphore(), &semaphore));
    drop(permit);
    assert_eq!(probe.wakes(), 1);
    let Poll::Ready(Ok(permit)) = probe.poll(&mut wait) else {
        panic!("granted")
    };
    drop(wait);
    assert_eq!(semaphore.available_permits(), 0);
    drop(permit);
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn ten_thousand_cancelled_acquires_leave_no_waiter_and_lose_no_permit() {
    let semaphore = Semaphore::new(2);
    let probe = Probe::new();
    for _ in 0..10_000 {
        let mut wait = semaphore.acquire_many(3); // takes the 2 free permits, then is dropped
        assert!(probe.poll(&mut wait).is_pending());
    }
    assert_eq!(semaphore.allocated_waiters(), 0);
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
#[should_panic(expected = "at most")]
fn adding_past_the_maximum_panics() {
    Semaphore::new(Semaphore::MAX_PERMITS).add_permits(1);
}

/// Regression: `add_permits` counted only the available permits, so adding while permits were
/// held (or queued waiters had been given some) passed its check, and the permits' `Drop`
/// panicked later on the overflow — in a destructor, an abort if it ran during unwinding. Now
/// `add_permits` counts every permit the semaphore has, and refuses there.
#[test]
fn adding_past_the_maximum_while_permits_are_held_panics_in_add_permits_not_in_drop() {
    let max = Semaphore::MAX_PERMITS;
    let semaphore = Semaphore::new(10);
    let held = semaphore.try_acquire_many(5).unwrap();
    let probe = Probe::new();
    let mut waiter = semaphore.acquire_many(10); // given the other 5, then waits
    assert!(probe.poll(&mut waiter).is_pending());
    assert_eq!(semaphore.available_permits(), 0);
    let added = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        semaphore.add_permits(max - 10 + 1)
    }));
    assert!(
        added.is_err(),
        "more permits than MAX_PERMITS were accepted"
    );
    semaphore.add_permits(max - 10); // Exactly the maximum, held ones included.
    let Poll::Ready(Ok(granted)) = probe.poll(&mut waiter) else {
        panic!("the waiter got its other 5")
    };
    drop(held); // Must not panic: these permits were counted all along.
    drop(granted);
    assert_eq!(semaphore.available_permits(), max);
}

/// Permits taken out for good (`forget`, `forget_permits`) no longer count against the
/// maximum, so as many can be added back.
#[test]
fn forgotten_permits_make_room_for_added_ones() {
    let semaphore = Semaphore::new(Semaphore::MAX_PERMITS);
    semaphore.try_acquire_many(3).unwrap().forget();
    assert_eq!(semaphore.forget_permits(4), 4);
    semaphore.add_permits(7);
    assert_eq!(semaphore.available_permits(), Semaphore::MAX_PERMITS);
}

/// Regression: a permit counted its permits in a `u32`, so merging two permits of `u32::MAX`
/// each overflowed (a panic in debug builds; in release, 2^32 permits lost for good).
#[test]
fn merging_two_huge_permits_loses_no_permit() {
    let semaphore = Rc::new(Semaphore::new(Semaphore::MAX_PERMITS));
    let mut permit = semaphore.try_acquire_many(u32::MAX).unwrap();
    permit.merge(semaphore.try_acquire_many(u32::MAX).unwrap());
    assert_eq!(permit.num_permits(), 2 * u32::MAX as usize);
    drop(permit);
    let mut owned = semaphore.clone().try_acquire_many_owned(u32::MAX).unwrap();
    owned.merge(semaphore.clone().try_acquire_many_owned(u32::MAX).unwrap());
    assert_eq!(owned.num_permits(), 2 * u32::MAX as usize);
    drop(owned);
    assert_eq!(semaphore.available_permits(), Semaphore::MAX_PERMITS);
}
