use std::task::Poll;

use super::Probe;
use crate::CancellationToken;

#[test]
fn cancelling_a_parent_cancels_its_descendants_not_the_reverse() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    let sibling = root.child_token();
    let probe = Probe::new();
    let mut wait = grandchild.cancelled();
    assert!(probe.poll(&mut wait).is_pending());
    child.cancel();
    assert_eq!(probe.wakes(), 1);
    assert!(probe.poll(&mut wait).is_ready());
    assert!(child.is_cancelled() && grandchild.is_cancelled());
    assert!(!root.is_cancelled() && !sibling.is_cancelled());
    root.cancel();
    assert!(sibling.is_cancelled());
    assert!(
        root.child_token().is_cancelled(),
        "a child of a cancelled token is born cancelled"
    );
}

#[test]
fn clones_share_the_flag() {
    let token = CancellationToken::new();
    let clone = token.clone();
    let probe = Probe::new();
    let mut owned = clone.clone().cancelled_owned();
    assert!(probe.poll(&mut owned).is_pending());
    token.cancel();
    assert!(clone.is_cancelled());
    assert!(probe.poll(&mut owned).is_ready());
}

#[test]
fn dropped_children_leave_the_parent() {
    let root = CancellationToken::new();
    for _ in 0..10_000 {
        let child = root.child_token();
        drop(child.child_token());
    }
    assert_eq!(root.child_slots(), 0);
    let kept = root.child_token();
    assert_eq!(root.child_slots(), 1);
    root.cancel();
    assert!(kept.is_cancelled());
    assert_eq!(root.child_slots(), 0);
}

#[test]
fn deep_chains_cancel_and_drop_without_recursion() {
    let root = CancellationToken::new();
    let mut leaf = root.child_token();
    for _ in 0..200_000 {
        leaf = leaf.child_token(); // each drops its parent handle: the chain lives through `parent`
    }
    root.cancel();
    assert!(leaf.is_cancelled());
    let root = CancellationToken::new();
    let mut leaf = root.child_token();
    for _ in 0..200_000 {
        leaf = leaf.child_token();
    }
    drop(leaf);
    assert_eq!(root.child_slots(), 0);
}

#[test]
fn drop_guards_cancel_unless_disarmed() {
    let token = CancellationToken::new();
    drop(token.clone().drop_guard());
    assert!(token.is_cancelled());
    let token = CancellationToken::new();
    let disarmed = token.clone().drop_guard().disarm();
    assert!(!disarmed.is_cancelled() && !token.is_cancelled());
}

#[test]
fn ten_thousand_cancelled_waits_leave_no_waiter_behind() {
    let token = CancellationToken::new();
    let probe = Probe::new();
    for _ in 0..10_000 {
        assert_eq!(probe.poll(&mut token.cancelled()), Poll::Pending);
    }
    assert_eq!(token.allocated_waiters(), 0);
    token.cancel();
    assert_eq!(probe.wakes(), 0);
}
