use std::task::Poll;

use super::Probe;
use crate::{RwLock, RwLockWriteGuard};

#[test]
fn a_waiting_writer_holds_back_later_readers_who_then_enter_together() {
    let lock = RwLock::new(0);
    let reader = lock.try_read().unwrap();
    let (writer, late) = (Probe::new(), Probe::new());
    let mut write = lock.write();
    assert!(writer.poll(&mut write).is_pending());
    let mut reads: Vec<_> = (0..3).map(|_| lock.read()).collect();
    for read in &mut reads {
        assert!(late.poll(read).is_pending());
    }
    assert!(lock.try_read().is_err());
    drop(reader);
    assert_eq!((writer.wakes(), late.wakes()), (1, 0));
    let Poll::Ready(mut guard) = writer.poll(&mut write) else {
        panic!("the writer holds the lock")
    };
    *guard = 7;
    drop(guard);
    assert_eq!(late.wakes(), 3, "all three readers let in at once");
    let guards: Vec<_> = reads
        .iter_mut()
        .map(|read| match late.poll(read) {
            Poll::Ready(guard) => guard,
            Poll::Pending => panic!("reader let in"),
        })
        .collect();
    assert!(guards.iter().all(|guard| **guard == 7));
}

#[test]
fn a_dropped_writer_lets_the_readers_behind_it_in() {
    let lock = RwLock::new(());
    let reader = lock.try_read().unwrap();
    let (writer, late) = (Probe::new(), Probe::new());
    let mut write = lock.write();
    assert!(writer.poll(&mut write).is_pending()); // holds all permits but the reader's
    let mut read = lock.read();
    assert!(late.poll(&mut read).is_pending());
    drop(write);
    assert_eq!(late.wakes(), 1);
    assert!(late.poll(&mut read).is_ready());
    drop(reader);
}

#[test]
fn downgrade_admits_waiting_readers_but_no_writer() {
    let lock = RwLock::with_max_readers(String::new(), 4);
    let mut guard = lock.try_write().unwrap();
    guard.push('x');
    let probe = Probe::new();
    let mut read = lock.read();
    assert!(probe.poll(&mut read).is_pending());
    let shared = RwLockWriteGuard::downgrade(guard);
    assert_eq!(probe.wakes(), 1);
    assert!(probe.poll(&mut read).is_ready());
    assert_eq!(*shared, "x");
    assert!(lock.try_write().is_err());
}

#[test]
fn max_readers_is_a_limit() {
    let lock = RwLock::with_max_readers((), 2);
    let _a = lock.try_read().unwrap();
    let _b = lock.try_read().unwrap();
    assert!(lock.try_read().is_err());
}

#[test]
fn ten_thousand_cancelled_writes_leave_no_waiter_behind() {
    let lock = RwLock::new(1);
    let reader = lock.try_read().unwrap();
    let probe = Probe::new();
    for _ in 0..10_000 {
        assert!(probe.poll(&mut lock.write()).is_pending());
    }
    drop(reader);
    assert_eq!(lock.semaphore_waiters(), 0);
    let mut lock = lock;
    *lock.get_mut() += 1;
    assert_eq!(lock.into_inner(), 2);
}
