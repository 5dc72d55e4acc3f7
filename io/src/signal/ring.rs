//! The recent deliveries of one signal: a fixed ring of records that the signal handler writes
//! and every listener reads, with atomics only (the handler may use nothing else).
//!
//! # Protocol
//!
//! - Deliveries are numbered 0, 1, 2… by `claimed`, which the handler increments first; the
//!   record of delivery `n` goes in entry `n % CAPACITY`. So `claimed` is the exact number of
//!   handler runs, whatever happens to the records.
//! - An entry's `stamp` says whose record it holds: `2n + 1` while the writer of delivery `n`
//!   fills it, `2n + 2` once it is complete (0: never written). A writer takes an entry only by
//!   a compare-and-swap from an even stamp older than its own. If the entry is busy (odd: another
//!   thread's handler, a lap ahead or behind, is writing it) or already holds a newer delivery,
//!   the writer gives up and raises the entry's `abandoned` mark past its number, so that no
//!   reader waits for a record that will never be written.
//! - A reader of delivery `n` finds, in its entry: stamp `2n + 2` — it reads the fields and then
//!   the stamp again (a seqlock): unchanged, that is the record; changed, a newer writer took
//!   the entry meanwhile and the record is lost. A stamp beyond `2n + 2`: lost (overwritten). A
//!   lower stamp: lost if `abandoned` is past `n`, otherwise not written *yet*.
//! - Every writer writes the signal's eventfd *after* its record (or after giving up), so a
//!   reader that stopped at "not yet" is woken again when it can go on.
//!
//! A lost record loses only the details (who sent it), never the count: [`Ring::take`] reports
//! how many deliveries each item stands for.

use std::sync::atomic::{fence, AtomicI32, AtomicU32, AtomicU64, Ordering};

/// How many recent deliveries keep their details; a listener further behind than this learns
/// only how many it missed.
pub(crate) const CAPACITY: u64 = 32;

/// What the handler records of one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// The sender's pid and uid, when the kernel reported them.
    pub(crate) sender: Option<(libc::pid_t, u32)>,
}

/// What [`Ring::take`] hands a listener: a run of deliveries, and the record of the last one if
/// it survived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Taken {
    /// At least 1.
    pub(crate) deliveries: u64,
    pub(crate) last: Option<Record>,
}

struct Entry {
    /// See the module documentation.
    stamp: AtomicU64,
    /// One past the highest delivery whose writer gave up on this entry.
    abandoned: AtomicU64,
    /// The sender's pid; 0 when unknown (no pid is 0 as seen by a signal's receiver).
    pid: AtomicI32,
    uid: AtomicU32,
}

/// See the module documentation.
pub(crate) struct Ring {
    claimed: AtomicU64,
    entries: [Entry; CAPACITY as usize],
}

/// What a reader found for one delivery.
enum Read {
    Record(Record),
    Lost,
    NotYet,
}

impl Ring {
    pub(crate) const fn new() -> Ring {
        Ring {
            claimed: AtomicU64::new(0),
            entries: [const {
                Entry {
                    stamp: AtomicU64::new(0),
                    abandoned: AtomicU64::new(0),
                    pid: AtomicI32::new(0),
                    uid: AtomicU32::new(0),
                }
            }; CAPACITY as usize],
        }
    }

    /// How many deliveries there have been: the number the next one will get.
    pub(crate) fn claimed(&self) -> u64 {
        self.claimed.load(Ordering::Acquire)
    }

    /// Records a delivery. Async-signal-safe: atomics only, no loop that waits for another
    /// thread (the compare-and-swap loop retries only because another writer made progress).
    pub(crate) fn record(&self, record: Record) {
        let n = self.claimed.fetch_add(1, Ordering::AcqRel);
        let entry = &self.entries[(n % CAPACITY) as usize];
        let writing = 2 * n + 1;
        let mut current = entry.stamp.load(Ordering::Relaxed);
        loop {
            if current % 2 == 1 || current > writing {
                entry.abandoned.fetch_max(n + 1, Ordering::Release);
                return;
            }
            match entry.stamp.compare_exchange_weak(
                current,
                writing,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        // Orders the odd stamp before the field writes, for a reader that sees a field written
        // here (it re-reads the stamp after an acquire fence).
        fence(Ordering::Release);
        let (pid, uid) = record.sender.unwrap_or((0, 0));
        entry.pid.store(pid, Ordering::Relaxed);
        entry.uid.store(uid, Ordering::Relaxed);
        entry.stamp.store(writing + 1, Ordering::Release);
    }

    /// The next run of deliveries from `*next` on, advancing `*next` past it: deliveries whose
    /// records were lost, up to and including the first whose record survived. `None` if there
    /// is nothing new, or only records still being written.
    pub(crate) fn take(&self, next: &mut u64) -> Option<Taken> {
        let claimed = self.claimed();
        let mut lost = 0;
        // Entries more than a lap behind are being reused: count them without looking.
        if claimed - *next > CAPACITY {
            lost = claimed - CAPACITY - *next;
            *next = claimed - CAPACITY;
        }
        while *next < claimed {
            match self.read(*next) {
                Read::Record(record) => {
                    *next += 1;
                    return Some(Taken {
                        deliveries: lost + 1,
                        last: Some(record),
                    });
                }
                Read::Lost => {
                    *next += 1;
                    lost += 1;
                }
                Read::NotYet => break,
            }
        }
        (lost > 0).then_some(Taken {
            deliveries: lost,
            last: None,
        })
    }

    fn read(&self, n: u64) -> Read {
        let entry = &self.entries[(n % CAPACITY) as usize];
        let complete = 2 * n + 2;
        let stamp = entry.stamp.load(Ordering::Acquire);
        if stamp == complete {
            let pid = entry.pid.load(Ordering::Relaxed);
            let uid = entry.uid.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if entry.stamp.load(Ordering::Relaxed) != complete {
                return Read::Lost; // A newer writer took the entry while we read it.
            }
            let sender = (pid != 0).then_some((pid, uid));
            Read::Record(Record { sender })
        } else if stamp > complete || entry.abandoned.load(Ordering::Acquire) > n {
            Read::Lost
        } else {
            Read::NotYet
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent_by(pid: libc::pid_t) -> Record {
        Record {
            sender: Some((pid, 1000)),
        }
    }

    #[test]
    fn each_delivery_is_taken_once_with_its_record() {
        let ring = Ring::new();
        let mut next = 0;
        assert_eq!(ring.take(&mut next), None);
        ring.record(sent_by(7));
        ring.record(Record { sender: None });
        assert_eq!(
            ring.take(&mut next),
            Some(Taken {
                deliveries: 1,
                last: Some(sent_by(7))
            })
        );
        assert_eq!(
            ring.take(&mut next),
            Some(Taken {
                deliveries: 1,
                last: Some(Record { sender: None })
            })
        );
        assert_eq!(ring.take(&mut next), None);
        assert_eq!(next, 2);
    }

    #[test]
    fn a_reader_that_falls_behind_learns_how_many_it_missed() {
        let ring = Ring::new();
        let mut next = 0;
        let total = 3 * CAPACITY + 5;
        for pid in 1..=total {
            ring.record(sent_by(pid as libc::pid_t));
        }
        let first = ring.take(&mut next).unwrap();
        assert_eq!(first.deliveries, total - CAPACITY + 1);
        assert_eq!(
            first.last,
            Some(sent_by((total - CAPACITY + 1) as libc::pid_t))
        );
        let mut seen = first.deliveries;
        while let Some(taken) = ring.take(&mut next) {
            assert_eq!(taken.deliveries, 1, "the rest kept their records");
            seen += taken.deliveries;
        }
        assert_eq!(seen, total);
    }

    #[test]
    fn a_record_being_written_is_waited_for_and_an_abandoned_one_is_not() {
        let ring = Ring::new();
        // Delivery 0 claimed, its writer midway (as if preempted on another thread).
        ring.claimed.store(1, Ordering::Release);
        ring.entries[0].stamp.store(1, Ordering::Release);
        let mut next = 0;
        assert_eq!(ring.take(&mut next), None, "must wait for the writer");
        assert_eq!(next, 0);
        // Delivery CAPACITY, a lap later, finds entry 0 busy and gives up: it must count as
        // lost, not be waited for.
        ring.claimed.store(CAPACITY, Ordering::Release);
        ring.record(sent_by(9));
        assert!(matches!(ring.read(CAPACITY), Read::Lost));
        // Delivery 0's writer finishes; its record stands.
        ring.entries[0].stamp.store(2, Ordering::Release);
        assert!(matches!(ring.read(0), Read::Record(_)));
    }

    /// Writers on several threads and a concurrent reader: the count is exact, and every record
    /// read is one that was written whole (pid and uid are written as a matching pair).
    #[test]
    #[cfg_attr(miri, ignore = "too slow under Miri")]
    fn concurrent_writers_never_tear_a_record_or_lose_a_count() {
        const WRITERS: u64 = 4;
        const EACH: u64 = 5_000;
        let ring = Ring::new();
        let mut next = 0;
        let mut seen = 0;
        let watchdog = std::time::Instant::now();
        std::thread::scope(|scope| {
            for writer in 0..WRITERS {
                let ring = &ring;
                scope.spawn(move || {
                    for i in 1..=EACH {
                        let pid = (writer * EACH + i) as libc::pid_t;
                        ring.record(Record {
                            sender: Some((pid, pid as u32 ^ 0x5555)),
                        });
                        std::thread::yield_now(); // Lets the reader in between records.
                    }
                });
            }
            while seen < WRITERS * EACH {
                assert!(
                    watchdog.elapsed() < std::time::Duration::from_secs(60),
                    "watchdog: the reader waits for a record that never comes"
                );
                if let Some(taken) = ring.take(&mut next) {
                    if let Some(Record {
                        sender: Some((pid, uid)),
                    }) = taken.last
                    {
                        assert_eq!(uid, pid as u32 ^ 0x5555, "a torn record");
                    }
                    seen += taken.deliveries;
                }
            }
        });
        assert_eq!(seen, WRITERS * EACH);
        assert_eq!(ring.take(&mut next), None);
    }
}
