use std::task::Poll;

use super::Probe;
use crate::watch;

#[test]
fn a_send_wakes_every_waiting_receiver_once() {
    let (tx, mut rx1) = watch::channel(0);
    let mut rx2 = tx.subscribe();
    let (p1, p2) = (Probe::new(), Probe::new());
    let mut c1 = rx1.changed();
    let mut c2 = rx2.changed();
    assert!(p1.poll(&mut c1).is_pending());
    assert!(p2.poll(&mut c2).is_pending());
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!((p1.wakes(), p2.wakes()), (1, 1));
    assert_eq!(p1.poll(&mut c1), Poll::Ready(Ok(())));
    drop(c1);
    assert_eq!(*rx1.borrow(), 2);
    assert!(!rx1.borrow().has_changed(), "changed marked it seen");
    assert!(p1.poll(&mut rx1.changed()).is_pending());
}

#[test]
fn borrow_and_update_marks_seen_and_borrow_does_not() {
    let (tx, mut rx) = watch::channel("a");
    tx.send("b").unwrap();
    assert!(rx.borrow().has_changed());
    assert!(rx.has_changed().unwrap());
    let seen = rx.borrow_and_update();
    assert!(seen.has_changed());
    drop(seen);
    assert!(!rx.has_changed().unwrap());
    rx.mark_changed();
    assert!(rx.has_changed().unwrap());
    rx.mark_unchanged();
    assert!(!rx.has_changed().unwrap());
}

#[test]
fn a_dropped_sender_reports_an_unseen_change_then_fails() {
    let (tx, mut rx) = watch::channel(0);
    let probe = Probe::new();
    let mut changed = rx.changed();
    assert!(probe.poll(&mut changed).is_pending());
    drop(changed);
    tx.send(1).unwrap();
    drop(tx);
    assert!(rx.has_changed().is_err());
    assert_eq!(probe.poll(&mut rx.changed()), Poll::Ready(Ok(())));
    assert!(matches!(probe.poll(&mut rx.changed()), Poll::Ready(Err(_))));

    let (tx, mut rx) = watch::channel(0);
    let mut changed = rx.changed();
    assert!(probe.poll(&mut changed).is_pending());
    let wakes = probe.wakes();
    drop(tx);
    assert_eq!(probe.wakes(), wakes + 1);
    assert!(matches!(probe.poll(&mut changed), Poll::Ready(Err(_))));
}

#[test]
fn send_fails_without_receivers_but_send_replace_stores() {
    let (tx, rx) = watch::channel(1);
    let probe = Probe::new();
    let mut closed = tx.closed();
    assert!(probe.poll(&mut closed).is_pending());
    drop(rx);
    assert_eq!(probe.wakes(), 1);
    assert!(probe.poll(&mut closed).is_ready());
    assert!(tx.is_closed());
    assert_eq!(tx.send(2).map_err(|e| e.0), Err(2));
    assert_eq!(*tx.borrow(), 1);
    assert_eq!(tx.send_replace(3), 1);
    assert!(!tx.send_if_modified(|_| false));
    assert_eq!(*tx.subscribe().borrow(), 3);
}

#[test]
fn a_panicking_modify_notifies_nobody_but_keeps_its_changes() {
    let (tx, rx) = watch::channel(vec![1]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tx.send_modify(|v| {
            v.push(2);
            panic!("in modify");
        })
    }));
    assert!(result.is_err());
    assert!(!rx.has_changed().unwrap());
    assert_eq!(*rx.borrow(), [1, 2]);
}

#[test]
fn ten_thousand_cancelled_waits_leave_no_waiter_behind() {
    let (tx, mut rx) = watch::channel(0);
    let probe = Probe::new();
    for _ in 0..10_000 {
        assert!(probe.poll(&mut rx.changed()).is_pending());
    }
    assert_eq!(tx.allocated_waiters(), 0);
    tx.send(1).unwrap();
    assert_eq!(probe.wakes(), 0);
}
