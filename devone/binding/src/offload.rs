//! Where a [`Devone`](crate::Devone) runs its reads, writes and ioctls: [`Offload`], the choice,
//! and `Detector`, which makes the choice for [`Offload::Detect`] from how long operations take.
//!
//! A driver that honours `O_NONBLOCK` answers a non-blocking operation in microseconds (data, or
//! `EAGAIN`); one that ignores it sleeps in the operation, and on the runtime's thread that sleep
//! stops every task and timer. An operation that took longer than [`SLOW_OPERATION`] is taken as
//! proof of the second kind of driver.
//!
//! `Detector` invariants: it moves only forward. Under `Detect`, an operation kind (read, write,
//! ioctl) runs on the pool until one of its kind has completed there within the threshold (a
//! probe: no kind runs on the runtime's thread before it was seen to be quick); once any
//! operation, probe or not, took longer, every kind runs on the pool for good, and `record`
//! reports that switch exactly once.

use std::time::Duration;

/// An operation on a non-blocking fd that takes longer than this was asleep in the driver:
/// from then on, under [`Offload::Detect`], the device's operations run on the blocking pool.
///
/// Far above what an honest non-blocking read, write or ioctl costs (microseconds, even on a
/// loaded machine), far below what a sleeping driver costs (ymgyt's devone: a second).
pub const SLOW_OPERATION: Duration = Duration::from_millis(10);

/// Where a [`Devone`](crate::Devone) runs its reads, writes and ioctls; see
/// [`Devone::open_with`](crate::Devone::open_with).
///
/// The device is always opened `O_NONBLOCK` and its readiness always awaited through epoll
/// (when the driver can be polled): this choice only says which thread makes the syscall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Offload {
    /// On the runtime's thread, as for any other fd. Right for a driver known to honour
    /// `O_NONBLOCK`; with one that sleeps in `read`, every task and timer of the thread waits.
    Inline,
    /// On the blocking pool, always: one thread hand-off per operation, and the runtime keeps
    /// running whatever the driver does.
    Always,
    /// Find out (the default, [`Devone::open`](crate::Devone::open)): the first read, the first
    /// write and the first ioctl run on the pool, timed; a kind whose operation came back within
    /// [`SLOW_OPERATION`] then runs on the runtime's thread, still timed. Once any operation
    /// takes longer, a warning is logged (once per device) and everything runs on the pool.
    #[default]
    Detect,
}

/// The kinds of operation a device is probed for separately: a driver may sleep in one only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    Read,
    Write,
    Ioctl,
}

impl OpKind {
    /// The name used in log messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            OpKind::Read => "read",
            OpKind::Write => "write",
            OpKind::Ioctl => "ioctl",
        }
    }

    fn bit(self) -> u8 {
        match self {
            OpKind::Read => 1,
            OpKind::Write => 2,
            OpKind::Ioctl => 4,
        }
    }
}

/// Which thread runs an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// The runtime's thread, in the task's poll.
    Inline,
    /// A thread of the blocking pool.
    Pool,
}

/// The state behind [`Offload`] for one device (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Detector {
    offload: Offload,
    /// The kinds (`OpKind::bit`) that completed on the pool within the threshold.
    proven_quick: u8,
    /// Set once an operation took longer than the threshold (under `Detect` only).
    slow: bool,
}

impl Detector {
    pub(crate) fn new(offload: Offload) -> Detector {
        Detector {
            offload,
            proven_quick: 0,
            slow: false,
        }
    }

    /// Where the next operation of `kind` runs.
    pub(crate) fn placement(&self, kind: OpKind) -> Placement {
        match self.offload {
            Offload::Inline => Placement::Inline,
            Offload::Always => Placement::Pool,
            Offload::Detect if self.slow || self.proven_quick & kind.bit() == 0 => Placement::Pool,
            Offload::Detect => Placement::Inline,
        }
    }

    /// Records that an operation of `kind` ran at `placement` for `took`. Returns `true` exactly
    /// once per detector: for the operation that showed the driver sleeps (under `Detect`).
    pub(crate) fn record(&mut self, kind: OpKind, placement: Placement, took: Duration) -> bool {
        if self.offload != Offload::Detect || self.slow {
            return false;
        }
        if took > SLOW_OPERATION {
            self.slow = true;
            return true;
        }
        if placement == Placement::Pool {
            self.proven_quick |= kind.bit();
        }
        false
    }

    /// Whether every operation now runs on the pool.
    pub(crate) fn offloads_all(&self) -> bool {
        match self.offload {
            Offload::Inline => false,
            Offload::Always => true,
            Offload::Detect => self.slow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_micros(20);
    const SLOW: Duration = Duration::from_secs(1);
    const KINDS: [OpKind; 3] = [OpKind::Read, OpKind::Write, OpKind::Ioctl];

    #[test]
    fn detect_probes_each_kind_on_the_pool_until_one_was_quick() {
        let mut detector = Detector::new(Offload::Detect);
        for kind in KINDS {
            assert_eq!(detector.placement(kind), Placement::Pool);
        }
        assert!(!detector.record(OpKind::Read, Placement::Pool, QUICK));
        assert_eq!(detector.placement(OpKind::Read), Placement::Inline);
        // The other kinds are still unproven: a driver may sleep in writes only.
        assert_eq!(detector.placement(OpKind::Write), Placement::Pool);
        assert_eq!(detector.placement(OpKind::Ioctl), Placement::Pool);
        assert!(!detector.offloads_all());
    }

    #[test]
    fn detect_a_quick_inline_operation_proves_nothing_new() {
        let mut detector = Detector::new(Offload::Detect);
        // Quick, but not on the pool: the kind stays a probe (only a pool run proves a kind).
        assert!(!detector.record(OpKind::Write, Placement::Inline, QUICK));
        assert_eq!(detector.placement(OpKind::Write), Placement::Pool);
    }

    #[test]
    fn detect_switches_everything_to_the_pool_once_and_says_so_once() {
        let mut detector = Detector::new(Offload::Detect);
        assert!(!detector.record(OpKind::Read, Placement::Pool, QUICK));
        assert!(!detector.record(OpKind::Ioctl, Placement::Pool, QUICK));
        assert!(
            detector.record(OpKind::Read, Placement::Inline, SLOW),
            "the first slow operation reports the switch"
        );
        for kind in KINDS {
            assert_eq!(detector.placement(kind), Placement::Pool);
        }
        assert!(detector.offloads_all());
        // Later operations, slow or quick, neither report again nor switch back.
        assert!(!detector.record(OpKind::Read, Placement::Pool, SLOW));
        assert!(!detector.record(OpKind::Write, Placement::Pool, QUICK));
        for kind in KINDS {
            assert_eq!(detector.placement(kind), Placement::Pool);
        }
    }

    #[test]
    fn detect_a_slow_probe_switches_too() {
        let mut detector = Detector::new(Offload::Detect);
        assert!(detector.record(OpKind::Read, Placement::Pool, SLOW));
        assert!(detector.offloads_all());
        assert_eq!(detector.placement(OpKind::Ioctl), Placement::Pool);
    }

    #[test]
    fn detect_the_threshold_itself_is_not_slow() {
        let mut detector = Detector::new(Offload::Detect);
        assert!(!detector.record(OpKind::Read, Placement::Pool, SLOW_OPERATION));
        assert!(detector.record(
            OpKind::Read,
            Placement::Inline,
            SLOW_OPERATION + Duration::from_nanos(1)
        ));
    }

    #[test]
    fn inline_and_always_never_change() {
        for (offload, placement) in [
            (Offload::Inline, Placement::Inline),
            (Offload::Always, Placement::Pool),
        ] {
            let mut detector = Detector::new(offload);
            for kind in KINDS {
                assert!(!detector.record(kind, placement, SLOW));
                assert!(!detector.record(kind, placement, QUICK));
                assert_eq!(detector.placement(kind), placement, "{offload:?}");
            }
            assert_eq!(detector.offloads_all(), offload == Offload::Always);
        }
    }

    #[test]
    fn open_detects_by_default() {
        assert_eq!(Offload::default(), Offload::Detect);
    }
}
