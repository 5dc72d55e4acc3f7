use std::future::Future;
use std::task::{Context, Poll};

use minireactor_reactor::coop::{self, with_budget};

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

#[test]
fn a_wait_for_cancelled_by_a_spent_budget_leaves_no_phantom_change() {
    let (tx, mut rx) = watch::channel(0);
    let probe = Probe::new();
    let refused = with_budget(|| {
        let mut cx = Context::from_waker(probe.waker());
        while coop::poll_proceed(&mut cx).is_ready() {}
        let mut wait = Box::pin(rx.wait_for(|&v| v == 1));
        wait.as_mut().poll(&mut cx).is_pending()
    });
    assert!(refused, "the spent budget refuses the wait");
    assert!(
        !rx.has_changed().unwrap(),
        "the cancelled wait_for left a change nobody sent"
    );
    tx.send(1).unwrap();
    assert!(rx.has_changed().unwrap());
}

#[test]
fn a_cancelled_wait_for_marks_seen_the_values_it_tried() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    let probe = Probe::new();
    let mut wait = Box::pin(rx.wait_for(|&v| v == 2));
    assert!(probe.poll(&mut wait).is_pending());
    drop(wait);
    assert!(!rx.has_changed().unwrap(), "1 was tried, so it is seen");
}

#[test]
fn wait_for_says_whether_the_value_it_returns_was_new() {
    let (tx, mut rx) = watch::channel(7);
    let probe = Probe::new();
    let Poll::Ready(Ok(seen)) = probe.poll(&mut Box::pin(rx.wait_for(|&v| v == 7))) else {
        panic!("7 is there already");
    };
    assert!(!seen.has_changed(), "7 had been seen when it was borrowed");
    drop(seen);
    tx.send(8).unwrap();
    let Poll::Ready(Ok(new)) = probe.poll(&mut Box::pin(rx.wait_for(|&v| v == 8))) else {
        panic!("8 is there already");
    };
    assert!(new.has_changed(), "8 was unseen");
    drop(new);
    let mut waiting = Box::pin(rx.wait_for(|&v| v == 9));
    assert!(probe.poll(&mut waiting).is_pending());
    tx.send(9).unwrap();
    let Poll::Ready(Ok(sent)) = probe.poll(&mut waiting) else {
        panic!("9 was sent");
    };
    assert!(sent.has_changed(), "9 arrived while it waited");
}

#[test]
fn a_receiver_is_a_stream_of_the_values_it_has_not_seen_that_ends_at_close() {
    let (tx, mut rx) = watch::channel(0);
    let probe = Probe::new();
    assert_eq!(
        probe.poll_next(&mut rx),
        Poll::Pending,
        "the initial value counts as seen"
    );
    for _ in 0..10_000 {
        assert_eq!(
            probe.poll_next(&mut rx),
            Poll::Pending,
            "polled again, it keeps its one node"
        );
    }
    assert_eq!(tx.allocated_waiters(), 1);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(probe.wakes(), 1);
    assert_eq!(
        probe.poll_next(&mut rx),
        Poll::Ready(Some(2)),
        "the latest, as `changed` gives"
    );
    assert_eq!(probe.poll_next(&mut rx), Poll::Pending);
    rx.mark_changed();
    assert_eq!(probe.poll_next(&mut rx), Poll::Ready(Some(2)));
    tx.send(3).unwrap();
    drop(tx);
    assert_eq!(
        probe.poll_next(&mut rx),
        Poll::Ready(Some(3)),
        "a change not yet seen outlives the sender"
    );
    assert_eq!(probe.poll_next(&mut rx), Poll::Ready(None));
}

#[test]
fn a_receiver_dropped_while_it_waits_as_a_stream_frees_its_node() {
    let (tx, mut rx) = watch::channel(0u8);
    let mut clone = rx.clone();
    let (probe, clone_probe) = (Probe::new(), Probe::new());
    let polled = probe.poll_next(&mut rx);
    assert_eq!(polled, Poll::Pending);
    let polled = clone_probe.poll_next(&mut clone);
    assert_eq!(polled, Poll::Pending);
    assert_eq!(
        tx.allocated_waiters(),
        2,
        "each receiver has a node of its own"
    );
    drop(rx);
    assert_eq!(tx.allocated_waiters(), 1);
    tx.send(1).unwrap();
    assert_eq!((probe.wakes(), clone_probe.wakes()), (0, 1));
    drop(clone);
    assert_eq!(tx.allocated_waiters(), 0);
}

#[test]
fn a_receiver_that_waits_in_changed_after_waiting_as_a_stream_is_woken_once() {
    let (tx, mut rx) = watch::channel(0u8);
    let (stream_probe, probe) = (Probe::new(), Probe::new());
    let polled = stream_probe.poll_next(&mut rx);
    assert_eq!(polled, Poll::Pending);
    let mut changed = rx.changed();
    assert!(probe.poll(&mut changed).is_pending());
    assert_eq!(tx.allocated_waiters(), 1, "the stream's node was freed");
    tx.send(1).unwrap();
    assert_eq!((stream_probe.wakes(), probe.wakes()), (0, 1));
}
