//! The waiter list every primitive queues its waiting futures in: a doubly linked list threaded
//! through a slab, so a waiter is queued, found, re-wakered and removed in O(1), without `unsafe`.
//!
//! Each waiting future owns one node, named by a [`WaiterKey`]. A node is *linked* while the
//! future waits in the queue; a notifier that picks it (to grant it permits, a notification, a
//! lock) *unlinks* it, records what it granted in the node's data and takes its waker. The node
//! itself stays in the slab until its future takes the grant (on its next poll) or gives it back
//! (when it is dropped).
//!
//! Invariants:
//! - **A node is freed only by its owner**, through [`WaitList::remove`]. So a key held by a
//!   future is always valid: no generation check is needed, and a notifier never frees a node a
//!   future still points at. Every future that holds a key removes it in its `Drop`, so the slab
//!   holds exactly one node per live waiting future and never grows with cancelled waits. (A
//!   broadcast or watch receiver polled as a `Stream` is such an owner too: it holds at most one
//!   node, freed when it is dropped or next waits through `recv` or `changed`.)
//! - The linked nodes form one FIFO queue from `head` to `tail`; `prev`/`next` of an unlinked
//!   node are `NIL`.
//! - An unlinked node has no waker (it was taken to be woken).
//!
//! Wakers are cloned into the list inside the owning primitive's `RefCell` borrow; they are
//! woken only after that borrow is released (through a [`WakeList`]), so a woken task that
//! drops or polls a future of the same primitive never finds it borrowed.

use std::task::Waker;

use slab::Slab;

/// "No node", in `prev`/`next`/`head`/`tail`.
const NIL: usize = usize::MAX;

/// Names one node of a [`WaitList`]; held by the future that owns the node.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct WaiterKey(usize);

#[derive(Debug)]
struct Node<T> {
    prev: usize,
    next: usize,
    linked: bool,
    waker: Option<Waker>,
    data: T,
}

/// A FIFO queue of waiting futures, each with a waker and some per-waiter data `T`.
#[derive(Debug)]
pub(crate) struct WaitList<T> {
    nodes: Slab<Node<T>>,
    head: usize,
    tail: usize,
    linked: usize,
}

impl<T> WaitList<T> {
    pub(crate) const fn new() -> WaitList<T> {
        WaitList {
            nodes: Slab::new(),
            head: NIL,
            tail: NIL,
            linked: 0,
        }
    }

    /// Whether no future waits in the queue (unlinked nodes awaiting their owner do not count).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.linked == 0
    }

    /// Number of futures waiting in the queue.
    pub(crate) fn len(&self) -> usize {
        self.linked
    }

    /// Queues a new waiter at the back.
    #[inline]
    pub(crate) fn push_back(&mut self, data: T, waker: &Waker) -> WaiterKey {
        let key = self.nodes.insert(Node {
            prev: NIL,
            next: NIL,
            linked: false,
            waker: Some(waker.clone()),
            data,
        });
        self.link_back(key);
        WaiterKey(key)
    }

    #[inline]
    fn link_back(&mut self, key: usize) {
        let old_tail = self.tail;
        let node = &mut self.nodes[key];
        node.prev = old_tail;
        node.next = NIL;
        node.linked = true;
        match old_tail {
            NIL => self.head = key,
            _ => self.nodes[old_tail].next = key,
        }
        self.tail = key;
        self.linked += 1;
    }

    #[inline]
    fn unlink(&mut self, key: usize) -> Option<Waker> {
        let node = &mut self.nodes[key];
        debug_assert!(node.linked);
        let (prev, next) = (node.prev, node.next);
        node.prev = NIL;
        node.next = NIL;
        node.linked = false;
        let waker = node.waker.take();
        match prev {
            NIL => self.head = next,
            _ => self.nodes[prev].next = next,
        }
        match next {
            NIL => self.tail = prev,
            _ => self.nodes[next].prev = prev,
        }
        self.linked -= 1;
        waker
    }

    /// Whether the waiter still waits in the queue (it has not been picked by a notifier).
    #[inline]
    pub(crate) fn is_linked(&self, key: &WaiterKey) -> bool {
        self.nodes[key.0].linked
    }

    /// Replaces the waiter's waker unless the stored one would wake the same task: O(1).
    #[inline]
    pub(crate) fn set_waker(&mut self, key: &WaiterKey, waker: &Waker) {
        let slot = &mut self.nodes[key.0].waker;
        match slot {
            Some(stored) if stored.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Makes an unlinked waiter wait again, at the back (its earlier place is gone), or, if it
    /// still waits, refreshes its waker.
    #[inline]
    pub(crate) fn rewait(&mut self, key: &WaiterKey, waker: &Waker) {
        if self.is_linked(key) {
            self.set_waker(key, waker);
        } else {
            self.nodes[key.0].waker = Some(waker.clone());
            self.link_back(key.0);
        }
    }

    /// Frees the waiter's node, unlinking it first if it still waits; returns its data and
    /// whether it was still waiting. Only the key's owner calls this (see the module invariants).
    #[inline]
    pub(crate) fn remove(&mut self, key: WaiterKey) -> (T, bool) {
        let was_linked = self.nodes[key.0].linked;
        if was_linked {
            self.unlink(key.0);
        }
        (self.nodes.remove(key.0).data, was_linked)
    }

    /// Lets `grant` update the data of the oldest waiting waiter, and unlinks that waiter if
    /// `grant` says it is satisfied, returning its waker (its node stays for its owner). `None`
    /// if nobody waits; `Some(None)` if the waiter stays. One lookup of the head for both.
    #[inline]
    pub(crate) fn grant_front(
        &mut self,
        grant: impl FnOnce(&mut T) -> bool,
    ) -> Option<Option<Waker>> {
        let head = self.head;
        if head == NIL {
            return None;
        }
        let node = &mut self.nodes[head];
        if !grant(&mut node.data) {
            return Some(None);
        }
        debug_assert!(node.linked && node.prev == NIL);
        let next = node.next;
        node.next = NIL;
        node.linked = false;
        let waker = node.waker.take();
        self.head = next;
        match next {
            NIL => self.tail = NIL,
            _ => self.nodes[next].prev = NIL,
        }
        self.linked -= 1;
        Some(waker)
    }

    /// Unlinks every waiting waiter, letting `mark` record the grant in each, and collects
    /// their wakers.
    pub(crate) fn drain(&mut self, mut mark: impl FnMut(&mut T), wakes: &mut WakeList) {
        while self.head != NIL {
            let head = self.head;
            mark(&mut self.nodes[head].data);
            wakes.push(self.unlink(head));
        }
    }

    /// Nodes allocated: waiting futures plus granted ones not yet polled.
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> usize {
        self.nodes.len()
    }
}

/// Wakers collected inside a borrow, to be woken after it is released.
///
/// Wakes in the order collected. Holds the first waker inline, so the common single wake
/// allocates nothing. If a waker panics when woken, the ones after it are still woken (by
/// `Drop`, while unwinding).
#[derive(Debug)]
pub(crate) struct WakeList {
    first: Option<Waker>,
    /// The others, in the order collected until waking starts, then reversed (so they are
    /// popped in that order). `None` until there is a second waker: dropping a list that never
    /// had one then costs a check, not a call.
    rest: Option<Vec<Waker>>,
    reversed: bool,
}

impl WakeList {
    pub(crate) const fn new() -> WakeList {
        WakeList {
            first: None,
            rest: None,
            reversed: false,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.get_or_insert_with(Vec::new).push(waker);
        }
    }

    /// Wakes every collected waker. Call it with no borrow of the primitive held.
    #[inline]
    pub(crate) fn wake_all(mut self) {
        // A panic here unwinds into `Drop`, which wakes the rest.
        self.wake_collected();
        // Everything is woken: only the overflow's buffer is left to free, and freeing it here
        // spares the common single wake a call to the drop glue.
        let rest = self.rest.take();
        std::mem::forget(self);
        drop(rest);
    }

    #[inline]
    fn wake_collected(&mut self) {
        if let Some(first) = self.first.take() {
            first.wake();
        }
        if self.rest.as_ref().is_some_and(|rest| !rest.is_empty()) {
            self.wake_rest();
        }
    }

    #[cold]
    fn wake_rest(&mut self) {
        let Some(rest) = &mut self.rest else { return };
        if !self.reversed {
            rest.reverse();
            self.reversed = true;
        }
        while let Some(waker) = rest.pop() {
            waker.wake();
        }
    }
}

impl Drop for WakeList {
    #[inline]
    fn drop(&mut self) {
        self.wake_collected();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_of(n: u32) -> (WaitList<u32>, Vec<WaiterKey>) {
        let mut list = WaitList::new();
        let keys = (0..n).map(|i| list.push_back(i, Waker::noop())).collect();
        (list, keys)
    }

    fn drain_order(list: &mut WaitList<u32>) -> Vec<u32> {
        let mut order = Vec::new();
        list.drain(|data| order.push(*data), &mut WakeList::new());
        order
    }

    #[test]
    fn waiters_leave_in_the_order_they_came() {
        let (mut list, _keys) = list_of(4);
        assert_eq!(list.len(), 4);
        assert_eq!(drain_order(&mut list), [0, 1, 2, 3]);
        assert!(list.is_empty());
        assert_eq!(
            list.allocated(),
            4,
            "nodes stay until their owners remove them"
        );
    }

    #[test]
    fn removing_from_the_middle_keeps_the_rest_in_order() {
        let (mut list, mut keys) = list_of(5);
        let middle = keys.remove(2);
        assert_eq!(list.remove(middle), (2, true));
        let head = keys.remove(0);
        assert_eq!(list.remove(head), (0, true));
        let tail = keys.pop().unwrap();
        assert_eq!(list.remove(tail), (4, true));
        assert_eq!(drain_order(&mut list), [1, 3]);
    }

    #[test]
    fn a_granted_waiter_keeps_its_node_and_can_wait_again_at_the_back() {
        let (mut list, keys) = list_of(3);
        assert!(matches!(list.grant_front(|_| true), Some(Some(_))));
        assert!(!list.is_linked(&keys[0]));
        let mut front = None;
        let stays = list.grant_front(|data| {
            front = Some(*data);
            false
        });
        assert!(matches!(stays, Some(None)), "a waiter not satisfied stays");
        assert_eq!(front, Some(1));
        assert!(list.is_linked(&keys[1]));
        list.rewait(&keys[0], Waker::noop());
        assert_eq!(drain_order(&mut list), [1, 2, 0]);
        assert!(list.grant_front(|_| true).is_none(), "nobody waits");
    }

    #[test]
    fn granting_the_last_waiter_empties_the_list() {
        let (mut list, keys) = list_of(1);
        assert!(matches!(list.grant_front(|_| true), Some(Some(_))));
        assert!(list.is_empty());
        list.rewait(&keys[0], Waker::noop());
        assert_eq!(drain_order(&mut list), [0], "head and tail were both reset");
    }

    #[test]
    fn wakes_happen_in_collection_order_even_after_a_panicking_waker() {
        use std::sync::{Arc, Mutex};
        use std::task::Wake;

        struct Recorder(Arc<Mutex<Vec<u32>>>, u32);
        impl Wake for Recorder {
            fn wake(self: Arc<Self>) {
                self.0.lock().unwrap().push(self.1);
                assert_ne!(self.1, 1, "waker 1 panics");
            }
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut wakes = WakeList::new();
        for i in 0..4 {
            wakes.push(Some(Waker::from(Arc::new(Recorder(order.clone(), i)))));
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wakes.wake_all()));
        assert!(result.is_err());
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
    }

    #[test]
    fn freed_slots_are_reused() {
        let mut list = WaitList::new();
        for i in 0..10_000 {
            let key = list.push_back(i, Waker::noop());
            list.remove(key);
        }
        assert_eq!(list.allocated(), 0);
        assert!(list.is_empty());
    }
}
