//! Readiness bits, what a waiter is interested in, and the mapping from epoll's event mask.
//!
//! Invariants:
//! - Readiness, once seen, stays until an operation answers `EAGAIN` and the resource clears the
//!   bits it acted on. That includes `READ_CLOSED`, `WRITE_CLOSED` and `ERROR`: the kernel sends
//!   their edge only once, so a reader at EOF must keep seeing them, and a closed direction does
//!   not answer `EAGAIN` (it answers EOF or an error) — unless it has reopened, as a FIFO does when
//!   a new writer arrives, and then clearing them is exactly right. Likewise a pending error is
//!   consumed by the syscall that reports it, after which `EAGAIN` is a true answer.
//! - An interest is satisfied by its own bit or by any closed/error bit in its direction, so that
//!   the caller attempts the operation and receives the EOF or the error from the syscall itself.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// A set of readiness bits for one registration.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(u8);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);
    /// Data can be read (`EPOLLIN`).
    pub const READABLE: Ready = Ready(1 << 0);
    /// Data can be written (`EPOLLOUT`).
    pub const WRITABLE: Ready = Ready(1 << 1);
    /// The peer closed its write side, or the fd hung up (`EPOLLRDHUP`, `EPOLLHUP`).
    pub const READ_CLOSED: Ready = Ready(1 << 2);
    /// The fd can no longer be written (`EPOLLHUP`).
    pub const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// An error is pending on the fd (`EPOLLERR`).
    pub const ERROR: Ready = Ready(1 << 4);
    /// Urgent or exceptional data is available (`EPOLLPRI`).
    pub const PRIORITY: Ready = Ready(1 << 5);

    /// Translates an epoll event mask into readiness bits.
    pub(crate) fn from_epoll(events: u32) -> Ready {
        FROM_EPOLL[epoll_index(events)]
    }

    /// Whether every bit of `other` is set in `self`.
    pub fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set in `self`.
    pub fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// The bits of `self` that are also in `other`.
    pub fn intersection(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }

    /// `self` without the bits of `other`.
    pub fn without(self, other: Ready) -> Ready {
        Ready(self.0 & !other.0)
    }

    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the fd can be read.
    pub fn is_readable(self) -> bool {
        self.contains(Ready::READABLE)
    }

    /// Whether the fd can be written.
    pub fn is_writable(self) -> bool {
        self.contains(Ready::WRITABLE)
    }

    /// Whether the read side is closed (EOF is next, after any buffered data).
    pub fn is_read_closed(self) -> bool {
        self.contains(Ready::READ_CLOSED)
    }

    /// Whether the write side is closed.
    pub fn is_write_closed(self) -> bool {
        self.contains(Ready::WRITE_CLOSED)
    }

    /// Whether an error is pending.
    pub fn is_error(self) -> bool {
        self.contains(Ready::ERROR)
    }

    /// Whether priority data is available.
    pub fn is_priority(self) -> bool {
        self.contains(Ready::PRIORITY)
    }
}

/// The epoll bits [`Ready::from_epoll`] reads, packed into 6 bits: `EPOLLIN`, `EPOLLPRI`,
/// `EPOLLOUT`, `EPOLLERR` and `EPOLLHUP` are bits 0–4 already; `EPOLLRDHUP` (bit 13) moves to 5.
const fn epoll_index(events: u32) -> usize {
    (events & 0x1f | (events >> 8) & 0x20) as usize
}

/// [`Ready::from_epoll`] for every combination of the bits it reads: a table, because the
/// conversion runs for every event of every turn and six tests and branches cost more.
const FROM_EPOLL: [Ready; 64] = {
    let mut table = [Ready::EMPTY; 64];
    let flags = [
        libc::EPOLLIN,
        libc::EPOLLPRI,
        libc::EPOLLOUT,
        libc::EPOLLERR,
        libc::EPOLLHUP,
        libc::EPOLLRDHUP,
    ];
    let mut combination = 0;
    while combination < 64 {
        let mut events = 0u32;
        let mut bit = 0;
        while bit < flags.len() {
            if combination & (1 << bit) != 0 {
                events |= flags[bit] as u32;
            }
            bit += 1;
        }
        table[epoll_index(events)] = convert_epoll(events);
        combination += 1;
    }
    table
};

/// The mapping itself, evaluated at compile time into [`FROM_EPOLL`].
const fn convert_epoll(events: u32) -> Ready {
    const fn has(events: u32, flag: libc::c_int) -> bool {
        events & flag as u32 != 0
    }
    let mut ready = 0;
    if has(events, libc::EPOLLIN) {
        ready |= Ready::READABLE.0;
    }
    if has(events, libc::EPOLLOUT) {
        ready |= Ready::WRITABLE.0;
    }
    if has(events, libc::EPOLLRDHUP) {
        ready |= Ready::READ_CLOSED.0;
    }
    if has(events, libc::EPOLLHUP) {
        ready |= Ready::READ_CLOSED.0 | Ready::WRITE_CLOSED.0;
    }
    if has(events, libc::EPOLLERR) {
        ready |= Ready::ERROR.0;
    }
    if has(events, libc::EPOLLPRI) {
        ready |= Ready::PRIORITY.0;
    }
    Ready(ready)
}

impl BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl BitOrAssign for Ready {
    fn bitor_assign(&mut self, rhs: Ready) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Ready::READABLE, "READABLE"),
            (Ready::WRITABLE, "WRITABLE"),
            (Ready::READ_CLOSED, "READ_CLOSED"),
            (Ready::WRITE_CLOSED, "WRITE_CLOSED"),
            (Ready::ERROR, "ERROR"),
            (Ready::PRIORITY, "PRIORITY"),
        ];
        let mut set = f.debug_set();
        for (bit, name) in names {
            if self.contains(bit) {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// What a waiter waits for: one direction of an fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interest {
    /// Wait until the fd can be read (or has reached EOF, or has an error).
    Readable,
    /// Wait until the fd can be written (or is closed for writing, or has an error).
    Writable,
    /// Wait for priority data (`EPOLLPRI`), e.g. out-of-band TCP data or a pty packet event.
    Priority,
}

impl Interest {
    /// The readiness bits that satisfy this interest.
    pub fn mask(self) -> Ready {
        match self {
            Interest::Readable => Ready::READABLE | Ready::READ_CLOSED | Ready::ERROR,
            Interest::Writable => Ready::WRITABLE | Ready::WRITE_CLOSED | Ready::ERROR,
            Interest::Priority => Ready::PRIORITY | Ready::ERROR,
        }
    }

    /// The direction this interest waits in: priority waiters count as readers, because a
    /// priority event is rare and a spurious wake of a reader is harmless.
    pub(crate) fn direction(self) -> Direction {
        match self {
            Interest::Readable | Interest::Priority => Direction::Read,
            Interest::Writable => Direction::Write,
        }
    }
}

/// Which way a waiter waits; also the index of its direction's shared waker in a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read = 0,
    Write = 1,
}

impl Direction {
    /// The readiness bits whose arrival wakes this list's waiters.
    pub(crate) fn wakes_on(self) -> Ready {
        match self {
            Direction::Read => Interest::Readable.mask() | Interest::Priority.mask(),
            Direction::Write => Interest::Writable.mask(),
        }
    }
}

/// Readiness observed at a given reactor tick: what a clear needs to prove it is not erasing a
/// newer event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    /// The bits that satisfied the waiter's interest.
    pub ready: Ready,
    /// Every bit the registration had at that moment, whatever the interest (e.g. `PRIORITY`
    /// seen by a reader).
    pub all: Ready,
    /// The reactor tick at which the registration's readiness last changed.
    pub(crate) tick: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangup_closes_both_directions() {
        let ready = Ready::from_epoll(libc::EPOLLHUP as u32);
        assert!(ready.is_read_closed() && ready.is_write_closed());
        assert!(!ready.is_readable());
    }

    #[test]
    fn error_satisfies_every_interest() {
        let ready = Ready::from_epoll(libc::EPOLLERR as u32);
        for interest in [Interest::Readable, Interest::Writable, Interest::Priority] {
            assert!(ready.intersects(interest.mask()), "{interest:?}");
        }
    }

    /// The table against the mapping written out by hand: every combination of the six bits,
    /// with bits epoll sets that are not read (`EPOLLRDNORM`, `EPOLLWRNORM`, ...) mixed in.
    #[test]
    fn every_combination_of_epoll_bits_maps_to_the_union_of_its_bits() {
        let singles = [
            (libc::EPOLLIN, Ready::READABLE),
            (libc::EPOLLPRI, Ready::PRIORITY),
            (libc::EPOLLOUT, Ready::WRITABLE),
            (libc::EPOLLERR, Ready::ERROR),
            (libc::EPOLLHUP, Ready::READ_CLOSED | Ready::WRITE_CLOSED),
            (libc::EPOLLRDHUP, Ready::READ_CLOSED),
        ];
        let ignored = (libc::EPOLLRDNORM | libc::EPOLLWRNORM | libc::EPOLLRDBAND) as u32;
        for combination in 0..64u32 {
            let mut events = 0;
            let mut expected = Ready::EMPTY;
            for (bit, (flag, ready)) in singles.iter().enumerate() {
                if combination & (1 << bit) != 0 {
                    events |= *flag as u32;
                    expected |= *ready;
                }
            }
            assert_eq!(Ready::from_epoll(events), expected, "{events:#x}");
            assert_eq!(Ready::from_epoll(events | ignored), expected, "{events:#x}");
        }
    }
}
