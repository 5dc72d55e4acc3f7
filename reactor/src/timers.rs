//! Pending timers: an arena of wakers, ordered by a binary min-heap of deadlines.
//!
//! Why this shape: a timer is inserted once and, far more often than not, cancelled before it
//! fires (a `timeout` around an operation that completes). So cancelling must be cheap:
//! it frees the arena slot in O(1) and leaves the heap entry behind as a *tombstone*, recognised
//! later by its slot's generation. Deadlines usually grow, so a push to the heap stays at the
//! bottom: insertion is O(1) in the common case and O(log n) at worst.
//!
//! A tombstone leaves the heap in a compaction (O(1) per cancellation, amortised), when the last
//! live timer goes (the heap is cleared), when it is due, or when it reaches the top while its
//! deadline is near. Only the last costs O(log n), and a server whose every request arms and
//! cancels a 30 s timeout would otherwise pay it per request, as each cancelled timeout becomes
//! the earliest entry in turn. So the deadline the reactor waits for
//! ([`Timers::next_deadline`]) may be a cancelled timer's, earlier than every pending one but
//! more than [`EXACT_HORIZON`] after the reactor's last clock read: an idle reactor may then
//! wake at cancelled timers' deadlines, at most once per horizon, find nothing due, and go on
//! waiting.
//!
//! Invariants:
//! - Every live timer has exactly one heap entry with its slot key and generation.
//! - After each cancellation, tombstones do not exceed [`TOMBSTONES_PER_TIMER`] times the live
//!   timers plus [`COMPACT_SLACK`]: when they would, the heap is rebuilt without them (O(n), paid
//!   for by the n cancellations before it). So memory stays proportional to the live timers (to
//!   their peak, between an `expire` of many and the next cancellation), and when the last one
//!   goes, nothing is left.
//! - Entries are ordered by deadline alone: timers due at the same instant fire in the same
//!   turn, in no promised order among themselves.
//! - Deadlines are kept as the `Instant`s they are, exact: no rounding to a tick, and no
//!   conversion on the way in or out.

use std::collections::BinaryHeap;
use std::task::Waker;
use std::time::{Duration, Instant};

/// Tombstones tolerated per live timer before the heap is compacted. A compaction reads the whole
/// heap, so each cancellation pays for about `1 + 1 / TOMBSTONES_PER_TIMER` entries read: 1.125
/// at 8, where 4 read 1.25 (a far-future sleep inserted and cancelled then cost 3 to 6 more
/// instructions, by callgrind), for at most 9 heap entries of 24 bytes per live timer, not 5.
const TOMBSTONES_PER_TIMER: usize = 8;

/// Tombstones tolerated beyond [`TOMBSTONES_PER_TIMER`] per live timer before the heap is
/// compacted: enough that a handful of timers cancelled and re-armed in turn never pay for a
/// rebuild.
const COMPACT_SLACK: usize = 32;

/// How far ahead of now [`Timers::next_deadline`] is exact when it is given the time. Past it, a
/// reactor may wake for a cancelled timer's deadline, find nothing due, and wait again: at most
/// once per horizon, as that wake pops every tombstone due within the next horizon.
const EXACT_HORIZON: Duration = Duration::from_secs(1);

/// Identifies one pending timer: its slot and the generation of the slot's owner. The
/// generation wraps after 2^32 timers, which is harmless: a stale key must outlive exactly 2^32
/// later timers of the same slot to be mistaken for the current one, and a `Sleep` holds its key
/// only while it is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    key: u32,
    generation: u32,
}

/// A heap entry: the deadline, and the key, to tell a live timer from a tombstone. Ordered by
/// the deadline alone, reversed: `BinaryHeap` keeps its greatest entry, the earliest deadline,
/// on top. Not `(deadline, key)`: a tie-break costs every sift step a second comparison, and
/// timers due together fire in the same turn regardless.
#[derive(Clone, Copy, Debug)]
struct HeapEntry {
    deadline: Instant,
    id: TimerKey,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &HeapEntry) -> bool {
        self.deadline == other.deadline
    }
}

impl Eq for HeapEntry {}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &HeapEntry) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HeapEntry {
    fn cmp(&self, other: &HeapEntry) -> std::cmp::Ordering {
        other.deadline.cmp(&self.deadline)
    }
}

/// One slot of the timers' arena.
#[derive(Debug)]
enum Slot {
    /// A pending timer: the generation of its key, and the waker it wakes.
    Pending { generation: u32, waker: Waker },
    /// A free slot, and the next free one after it (`slots.len()` if none).
    Free { next: u32 },
}

/// The reactor's pending timers.
#[derive(Debug)]
pub(crate) struct Timers {
    /// The pending timers, and free slots chained from `first_free`. Our own arena rather than
    /// a `Slab`: the slab's out-of-line insertion cost a sleep more than the arena as a whole.
    slots: Vec<Slot>,
    /// The first free slot; `slots.len()` if none.
    first_free: u32,
    /// Number of `Pending` slots.
    pending: usize,
    /// Live entries and tombstones, earliest deadline on top.
    heap: BinaryHeap<HeapEntry>,
    /// Generation for the next timer.
    next_generation: u32,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            slots: Vec::new(),
            first_free: 0,
            pending: 0,
            heap: BinaryHeap::new(),
            next_generation: 0,
        }
    }

    /// Adds a timer that wakes `waker` once `deadline` has passed.
    #[inline]
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        let key = self.first_free;
        let slot = Slot::Pending { generation, waker };
        if key as usize == self.slots.len() {
            self.first_free = key
                .checked_add(1)
                .expect("minireactor: more than 2^32 - 1 pending timers");
            self.slots.push(slot);
        } else if let Slot::Free { next } = std::mem::replace(&mut self.slots[key as usize], slot) {
            self.first_free = next;
        } else {
            unreachable!("the free list holds a pending timer");
        }
        self.pending += 1;
        let id = TimerKey { key, generation };
        self.heap.push(HeapEntry { deadline, id });
        id
    }

    /// The waker of the pending timer `key`; `None` if it is no longer pending.
    fn waker_mut(&mut self, key: TimerKey) -> Option<&mut Waker> {
        match self.slots.get_mut(key.key as usize) {
            Some(Slot::Pending { generation, waker }) if *generation == key.generation => {
                Some(waker)
            }
            _ => None,
        }
    }

    /// Frees the slot of a pending timer and returns its waker.
    #[inline]
    fn free(&mut self, key: u32) -> Waker {
        let free = Slot::Free {
            next: self.first_free,
        };
        let Slot::Pending { waker, .. } = std::mem::replace(&mut self.slots[key as usize], free)
        else {
            unreachable!("freed a free timer slot");
        };
        self.first_free = key;
        self.pending -= 1;
        waker
    }

    /// Replaces the waker of a pending timer, unless it already wakes the same task, and returns
    /// the replaced one for the caller to drop after its borrow ends. `None` if the timer is no
    /// longer pending.
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> Option<Option<Waker>> {
        let stored = self.waker_mut(key)?;
        if stored.will_wake(waker) {
            return Some(None);
        }
        Some(Some(std::mem::replace(stored, waker.clone())))
    }

    /// Cancels a timer; the returned waker (if it was pending) must be dropped by the caller
    /// after releasing its borrow of the reactor.
    #[inline]
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        self.waker_mut(key)?;
        let waker = self.free(key.key);
        if self.pending == 0 {
            self.heap.clear(); // Only tombstones left.
        } else if self.heap.len() - self.pending
            > TOMBSTONES_PER_TIMER * self.pending + COMPACT_SLACK
        {
            let slots = &self.slots;
            self.heap.retain(|entry| is_live(slots, *entry));
        }
        Some(waker)
    }

    /// A deadline to wake at for the timers: never later than the earliest pending deadline,
    /// and that deadline itself if `now` is `None` or the deadline is within [`EXACT_HORIZON`]
    /// of `now` (a lower bound of the current instant). Past the horizon it may be the earlier
    /// deadline of a cancelled timer, left in the heap rather than popped (see the module
    /// documentation). `None` if no timer is pending.
    #[inline]
    pub(crate) fn next_deadline(&mut self, now: Option<Instant>) -> Option<Instant> {
        // The heap is empty when no timer is pending (see `remove` and `expire`).
        let &entry = self.heap.peek()?;
        if is_live(&self.slots, entry) {
            return Some(entry.deadline);
        }
        self.next_deadline_after_tombstone(now)
    }

    /// [`next_deadline`](Self::next_deadline) once the top of the heap is a tombstone.
    fn next_deadline_after_tombstone(&mut self, now: Option<Instant>) -> Option<Instant> {
        while let Some(&entry) = self.heap.peek() {
            let deadline = entry.deadline;
            if is_live(&self.slots, entry)
                || now.is_some_and(|now| deadline.saturating_duration_since(now) > EXACT_HORIZON)
            {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Moves the wakers of every timer whose deadline is at or before `now` into `wake`, and
    /// pops the tombstones that are due with them.
    pub(crate) fn expire(&mut self, now: Instant, wake: &mut Vec<Waker>) {
        while let Some(&entry) = self.heap.peek() {
            if entry.deadline > now {
                break;
            }
            self.heap.pop();
            if is_live(&self.slots, entry) {
                wake.push(self.free(entry.id.key));
            }
        }
        if self.pending == 0 {
            self.heap.clear(); // Only tombstones left.
        }
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.pending
    }

    /// Number of heap entries, tombstones included.
    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

/// Whether a heap entry belongs to a live timer (and is not a tombstone).
fn is_live(slots: &[Slot], HeapEntry { id, .. }: HeapEntry) -> bool {
    matches!(
        slots.get(id.key as usize),
        Some(Slot::Pending { generation, .. }) if *generation == id.generation
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop_waker() -> Waker {
        Waker::noop().clone()
    }

    /// Now, and the instant `s` seconds after it.
    fn seconds_from_now() -> (Instant, impl Fn(u64) -> Instant) {
        let now = Instant::now();
        (now, move |s| now + Duration::from_secs(s))
    }

    #[test]
    fn expires_in_deadline_order_and_only_what_is_due() {
        let mut timers = Timers::new();
        let now = Instant::now();
        timers.insert(now + Duration::from_millis(20), noop_waker());
        timers.insert(now + Duration::from_millis(10), noop_waker());
        timers.insert(now + Duration::from_millis(10), noop_waker());
        assert_eq!(
            timers.next_deadline(None),
            Some(now + Duration::from_millis(10))
        );
        let mut wake = Vec::new();
        timers.expire(now + Duration::from_millis(10), &mut wake);
        assert_eq!(wake.len(), 2, "both ties fire, the later one does not");
        assert_eq!(timers.len(), 1);
        assert_eq!(
            timers.next_deadline(None),
            Some(now + Duration::from_millis(20))
        );
    }

    #[test]
    fn deadlines_keep_nanosecond_precision() {
        let mut timers = Timers::new();
        let deadline = Instant::now() + Duration::from_nanos(1_234_567);
        timers.insert(deadline, noop_waker());
        assert_eq!(timers.next_deadline(None), Some(deadline));
        let mut wake = Vec::new();
        timers.expire(deadline - Duration::from_nanos(1), &mut wake);
        assert!(wake.is_empty(), "fired a nanosecond early");
        timers.expire(deadline, &mut wake);
        assert_eq!(wake.len(), 1);
    }

    #[test]
    fn cancelled_timers_leave_nothing_behind() {
        let mut timers = Timers::new();
        let now = Instant::now();
        let keys: Vec<_> = (0..1000)
            .map(|i| timers.insert(now + Duration::from_millis(i % 7), noop_waker()))
            .collect();
        for key in keys {
            assert!(timers.remove(key).is_some());
            assert!(
                timers.heap_len() <= (TOMBSTONES_PER_TIMER + 1) * timers.len() + COMPACT_SLACK,
                "tombstones piled up"
            );
        }
        assert_eq!(timers.len(), 0);
        assert_eq!(timers.heap_len(), 0);
        assert_eq!(timers.next_deadline(None), None);
    }

    #[test]
    fn next_deadline_is_exact_up_to_the_horizon_and_a_lower_bound_beyond_it() {
        let mut timers = Timers::new();
        let (now, secs) = seconds_from_now();
        let cancelled = timers.insert(secs(30), noop_waker());
        timers.insert(secs(60), noop_waker());
        timers.remove(cancelled);
        assert_eq!(
            timers.next_deadline(Some(now)),
            Some(secs(30)),
            "beyond the horizon the tombstone's deadline stands in"
        );
        assert_eq!(timers.heap_len(), 2, "and the tombstone is not popped");
        assert_eq!(
            timers.next_deadline(Some(secs(30) - EXACT_HORIZON)),
            Some(secs(60))
        );
        assert_eq!(timers.heap_len(), 1, "within the horizon it is popped");
        timers.insert(secs(45), noop_waker());
        let cancelled = timers.insert(secs(40), noop_waker());
        timers.remove(cancelled);
        assert_eq!(timers.next_deadline(None), Some(secs(45)), "None: exact");
    }

    #[test]
    fn expire_pops_due_tombstones_and_keeps_later_ones() {
        let mut timers = Timers::new();
        let (_, secs) = seconds_from_now();
        let early = timers.insert(secs(1), noop_waker());
        timers.insert(secs(2), noop_waker());
        let late = timers.insert(secs(3), noop_waker());
        timers.insert(secs(4), noop_waker());
        timers.remove(early);
        timers.remove(late);
        let mut wake = Vec::new();
        timers.expire(secs(2), &mut wake);
        assert_eq!(wake.len(), 1, "only the live timer due at 2 s fires");
        assert_eq!(timers.heap_len(), 2, "the 3 s tombstone waits for its turn");
        timers.expire(secs(4), &mut wake);
        assert_eq!(wake.len(), 2);
        assert_eq!(timers.heap_len(), 0, "no live timer: nothing is left");
        let last = timers.insert(secs(5), noop_waker());
        timers.insert(secs(9), noop_waker());
        timers.remove(last);
        timers.expire(secs(9), &mut wake);
        assert_eq!(wake.len(), 3, "the tombstone at 5 s fired nothing");
        assert_eq!(timers.heap_len(), 0);
    }

    #[test]
    fn expiring_the_last_live_timer_leaves_no_far_tombstone() {
        let mut timers = Timers::new();
        let (now, secs) = seconds_from_now();
        let far = timers.insert(secs(10), noop_waker());
        timers.insert(secs(1), noop_waker());
        timers.remove(far);
        let mut wake = Vec::new();
        timers.expire(secs(1), &mut wake);
        assert_eq!(wake.len(), 1);
        assert_eq!(
            timers.heap_len(),
            0,
            "the 10 s tombstone outlived every timer"
        );
        assert_eq!(timers.next_deadline(Some(now)), None);
    }

    #[test]
    fn a_reused_slot_is_not_fired_by_its_old_entry() {
        let mut timers = Timers::new();
        let now = Instant::now();
        let early = timers.insert(now, noop_waker());
        timers.insert(now + Duration::from_secs(60), noop_waker()); // Keeps the tombstone.
        timers.remove(early);
        let late = timers.insert(now + Duration::from_secs(30), noop_waker());
        assert_eq!(late.key, early.key, "the slot is reused");
        let mut wake = Vec::new();
        timers.expire(now, &mut wake);
        assert!(wake.is_empty(), "the old entry fired the slot's new owner");
        assert!(
            timers.update_waker(early, &noop_waker()).is_none(),
            "a cancelled key is dead"
        );
        assert!(timers.update_waker(late, &noop_waker()).is_some());
    }
}

#[cfg(test)]
mod prop_tests;
