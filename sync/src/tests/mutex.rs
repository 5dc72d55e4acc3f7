use std::task::Poll;

use super::Probe;
use crate::{MappedMutexGuard, Mutex, MutexGuard};

#[test]
fn unlock_hands_the_lock_to_the_oldest_waiter() {
    let mutex = Mutex::new(Vec::new());
    let guard = mutex.try_lock().unwrap();
    let probes: Vec<_> = (0..3).map(|_| Probe::new()).collect();
    let mut locks: Vec<_> = probes.iter().map(|_| mutex.lock()).collect();
    for (probe, lock) in probes.iter().zip(&mut locks) {
        assert!(probe.poll(lock).is_pending());
    }
    drop(guard);
    assert_eq!(
        probes.iter().map(Probe::wakes).collect::<Vec<_>>(),
        [1, 0, 0]
    );
    assert!(mutex.try_lock().is_err(), "a newcomer cannot overtake");
    for (i, (probe, lock)) in probes.iter().zip(&mut locks).enumerate() {
        let Poll::Ready(mut guard) = probe.poll(lock) else {
            panic!("waiter {i} was handed the lock")
        };
        guard.push(i);
    }
    assert_eq!(*mutex.try_lock().unwrap(), [0, 1, 2]);
}

#[test]
fn a_lock_handed_to_a_dropped_waiter_passes_to_the_next() {
    let mutex = Mutex::new(0);
    let guard = mutex.try_lock().unwrap();
    let (first, second) = (Probe::new(), Probe::new());
    let mut a = mutex.lock();
    let mut b = mutex.lock();
    assert!(first.poll(&mut a).is_pending());
    assert!(second.poll(&mut b).is_pending());
    drop(guard);
    drop(a);
    assert_eq!((first.wakes(), second.wakes()), (1, 1));
    assert!(second.poll(&mut b).is_ready());
}

#[test]
fn a_waiter_dropped_in_the_middle_gives_up_its_place() {
    let mutex = Mutex::new(());
    let guard = mutex.try_lock().unwrap();
    let probes: Vec<_> = (0..3).map(|_| Probe::new()).collect();
    let mut locks: Vec<_> = probes.iter().map(|_| Some(mutex.lock())).collect();
    for (probe, lock) in probes.iter().zip(&mut locks) {
        assert!(probe.poll(lock.as_mut().unwrap()).is_pending());
    }
    locks[1] = None;
    drop(guard);
    let Poll::Ready(guard) = probes[0].poll(locks[0].as_mut().unwrap()) else {
        panic!("first waiter holds the lock")
    };
    drop(guard);
    assert_eq!(
        probes.iter().map(Probe::wakes).collect::<Vec<_>>(),
        [1, 0, 1]
    );
}

#[test]
fn guards_map_and_the_data_can_be_reached_without_locking() {
    let mut mutex = Mutex::new((1, String::from("a")));
    *mutex.get_mut() = (2, String::from("b"));
    let guard = mutex.try_lock().unwrap();
    let mut name: MappedMutexGuard<'_, String> = MutexGuard::map(guard, |pair| &mut pair.1);
    name.push('!');
    assert!(
        mutex.try_lock().is_err(),
        "a mapped guard still holds the lock"
    );
    drop(name);
    assert_eq!(format!("{:?}", mutex), r#"Mutex { data: (2, "b!") }"#);
    assert_eq!(mutex.into_inner(), (2, String::from("b!")));
}

#[test]
fn ten_thousand_cancelled_locks_leave_no_waiter_behind() {
    let mutex = Mutex::new(());
    let guard = mutex.try_lock().unwrap();
    let probe = Probe::new();
    for _ in 0..10_000 {
        assert!(probe.poll(&mut mutex.lock()).is_pending());
    }
    assert_eq!(mutex.semaphore_waiters(), 0);
    drop(guard);
    assert_eq!(probe.wakes(), 0);
    assert!(mutex.try_lock().is_ok());
}
