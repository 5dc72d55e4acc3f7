//! [`SignalInfo`]: what a listener learns of a delivery.

use super::ring::Taken;
use super::SignalKind;

/// One delivery of a signal — or a run of them, for a listener that fell behind — as
/// [`Signal::recv`](super::Signal::recv) reports it.
///
/// ```no_run
/// use minireactor::signal::{signal, SignalKind};
///
/// minireactor::block_on(async {
///     let mut hangups = signal(SignalKind::hangup())?;
///     while let Some(info) = hangups.recv().await {
///         match info.sender_pid() {
///             Some(pid) => println!("SIGHUP from pid {pid}, reloading"),
///             None => println!("SIGHUP, reloading"),
///         }
///         if info.deliveries() > 1 {
///             println!("({} deliveries since the last reload)", info.deliveries());
///         }
///     }
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalInfo {
    kind: SignalKind,
    deliveries: u64,
    sender: Option<(libc::pid_t, u32)>,
}

impl SignalInfo {
    pub(crate) fn new(kind: SignalKind, taken: Taken) -> SignalInfo {
        SignalInfo {
            kind,
            deliveries: taken.deliveries,
            sender: taken.last.and_then(|record| record.sender),
        }
    }

    /// The signal.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// How many deliveries this stands for: 1, unless the listener fell so far behind that the
    /// details of earlier deliveries were overwritten, in which case they are counted here (the
    /// details reported are those of the last of them, if they survived). Never 0; summed over
    /// everything a listener receives, it is exactly the number of times the handler ran since
    /// the listener was created.
    ///
    /// The kernel merges a standard signal (1 to 31) sent while the same one is still pending
    /// into it before any handler runs; such merged sends are not deliveries and nobody can
    /// count them. Real-time signals are queued, never merged.
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// The pid of the process that sent the (last) delivery, when the kernel reports it: for
    /// signals sent with `kill`, `sigqueue`, `tgkill` or `raise`, by a process in this pid
    /// namespace. `None` for signals the kernel generates (a terminal's Ctrl-C, a child's exit,
    /// a broken pipe) and for deliveries whose details were lost.
    pub fn sender_pid(&self) -> Option<u32> {
        self.sender.map(|(pid, _)| pid as u32)
    }

    /// The real user id of the sender; reported exactly when [`sender_pid`](Self::sender_pid)
    /// is.
    pub fn sender_uid(&self) -> Option<u32> {
        self.sender.map(|(_, uid)| uid)
    }
}
