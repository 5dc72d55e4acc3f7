use std::task::Poll;

use super::Probe;
use crate::Notify;

#[test]
fn notify_one_with_nobody_waiting_stores_a_single_permit() {
    let notify = Notify::new();
    notify.notify_one();
    notify.notify_one();
    let probe = Probe::new();
    assert_eq!(probe.poll(&mut notify.notified()), Poll::Ready(()));
    assert_eq!(probe.poll(&mut notify.notified()), Poll::Pending);
}

#[test]
fn notify_one_wakes_the_oldest_waiter_only() {
    let notify = Notify::new();
    let probes: Vec<_> = (0..3).map(|_| Probe::new()).collect();
    let mut waits: Vec<_> = probes.iter().map(|_| notify.notified()).collect();
    for (probe, wait) in probes.iter().zip(&mut waits) {
        assert_eq!(probe.poll(wait), Poll::Pending);
    }
    notify.notify_one();
    assert_eq!(
        probes.iter().map(Probe::wakes).collect::<Vec<_>>(),
        [1, 0, 0]
    );
    assert_eq!(probes[0].poll(&mut waits[0]), Poll::Ready(()));
    assert_eq!(probes[1].poll(&mut waits[1]), Poll::Pending);
    notify.notify_one();
    assert_eq!(probes[1].wakes(), 1);
    assert_eq!(probes[2].wakes(), 0);
}

#[test]
fn a_waiter_dropped_in_the_middle_gives_up_its_place() {
    let notify = Notify::new();
    let probes: Vec<_> = (0..3).map(|_| Probe::new()).collect();
    let mut waits: Vec<_> = probes.iter().map(|_| Some(notify.notified())).collect();
    for (probe, wait) in probes.iter().zip(&mut waits) {
        assert_eq!(probe.poll(wait.as_mut().unwrap()), Poll::Pending);
    }
    waits[1] = None;
    notify.notify_one();
    notify.notify_one();
    assert_eq!(
        probes.iter().map(Probe::wakes).collect::<Vec<_>>(),
        [1, 0, 1]
    );
    assert_eq!(
        notify.allocated_waiters(),
        2,
        "nodes of the two notified futures"
    );
}

#[test]
fn a_notification_handed_to_a_dropped_waiter_passes_to_the_next() {
    let notify = Notify::new();
    let (first, second) = (Probe::new(), Probe::new());
    let mut a = notify.notified();
    let mut b = notify.notified();
    assert_eq!(first.poll(&mut a), Poll::Pending);
    assert_eq!(second.poll(&mut b), Poll::Pending);
    notify.notify_one();
    drop(a); // picked, never saw it
    assert_eq!((first.wakes(), second.wakes()), (1, 1), "each woken once");
    assert_eq!(second.poll(&mut b), Poll::Ready(()));
    assert_eq!(second.wakes(), 1, "nothing wakes twice");
}

#[test]
fn a_notification_handed_to_the_last_dropped_waiter_becomes_the_permit() {
    let notify = Notify::new();
    let probe = Probe::new();
    let mut wait = notify.notified();
    assert_eq!(probe.poll(&mut wait), Poll::Pending);
    notify.notify_one();
    drop(wait);
    assert_eq!(Probe::new().poll(&mut notify.notified()), Poll::Ready(()));
    assert_eq!(Probe::new().poll(&mut notify.notified()), Poll::Pending);
}

#[test]
fn notify_waiters_completes_every_earlier_notified_and_stores_no_permit() {
    let notify = Notify::new();
    let probe = Probe::new();
    let mut polled = notify.notified();
    let mut unpolled = notify.notified();
    assert_eq!(probe.poll(&mut polled), Poll::Pending);
    notify.notify_waiters();
    let mut later = notify.notified();
    assert_eq!(probe.wakes(), 1);
    assert_eq!(probe.poll(&mut polled), Poll::Ready(()));
    assert_eq!(probe.poll(&mut unpolled), Poll::Ready(()));
    assert_eq!(probe.poll(&mut later), Poll::Pending, "no permit stored");
    // A `notify_waiters` wake is not passed on when dropped unseen.
    let other = Probe::new();
    let mut next = notify.notified();
    assert_eq!(other.poll(&mut next), Poll::Pending);
    notify.notify_waiters();
    drop(later);
    assert_eq!(other.wakes(), 1);
    drop(next);
    assert_eq!(Probe::new().poll(&mut notify.notified()), Poll::Pending);
}

#[test]
fn repolling_with_another_waker_wakes_the_new_one() {
    let notify = Notify::new();
    let (old, new) = (Probe::new(), Probe::new());
    let mut wait = notify.notified();
    assert_eq!(old.poll(&mut wait), Poll::Pending);
    assert_eq!(new.poll(&mut wait), Poll::Pending);
    notify.notify_one();
    assert_eq!((old.wakes(), new.wakes()), (0, 1));
}

#[test]
fn enable_takes_a_place_before_the_first_poll() {
    let notify = Notify::new();
    let mut wait = notify.notified();
    assert!(!std::pin::Pin::new(&mut wait).enable());
    notify.notify_one();
    assert!(std::pin::Pin::new(&mut wait).enable());
    assert_eq!(Probe::new().poll(&mut notify.notified()), Poll::Pending);
    assert_eq!(Probe::new().poll(&mut wait), Poll::Ready(()));
}

#[test]
fn ten_thousand_cancelled_waits_leave_no_waiter_behind() {
    let notify = Notify::new();
    let probe = Probe::new();
    for _ in 0..10_000 {
        let mut wait = notify.notified();
        assert_eq!(probe.poll(&mut wait), Poll::Pending);
    }
    assert_eq!(notify.allocated_waiters(), 0);
    notify.notify_one();
    assert_eq!(probe.wakes(), 0, "no stale waiter got the notification");
    assert_eq!(probe.poll(&mut notify.notified()), Poll::Ready(()));
}

#[test]
fn a_notification_that_enable_reported_is_not_passed_on_by_the_drop() {
    let notify = Notify::new();
    {
        let mut enabled = Box::pin(notify.notified());
        assert!(!enabled.as_mut().enable());
        notify.notify_one();
        assert!(enabled.as_mut().enable(), "it was picked");
        assert!(enabled.as_mut().enable(), "and stays notified");
    }
    let probe = Probe::new();
    assert!(
        probe.poll(&mut notify.notified()).is_pending(),
        "one notify_one was seen by the enabled future and passed on as well"
    );
}
