//! [`Signal`]: one listener, reading its signal's ring from where it left off, woken through its
//! own `dup` of the signal's eventfd.

use std::future::poll_fn;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use minireactor_reactor::coop;

use super::handler::{self, Slot};
use super::registry::Listening;
use super::{SignalInfo, SignalKind};
use crate::AsyncFd;

/// Listens for deliveries of one signal; created by [`signal`](super::signal). See the
/// [module documentation](super).
///
/// It is also a [`Stream`](futures_core::Stream) of [`SignalInfo`]:
///
/// ```
/// use std::pin::Pin;
/// use futures_core::Stream;
/// use minireactor::signal::{signal, SignalKind};
///
/// minireactor::block_on(async {
///     let mut usr2 = signal(SignalKind::user_defined2())?;
///     // SAFETY: raise has no preconditions; a listener exists, so SIGUSR2 does not kill us.
///     assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
///     let info = std::future::poll_fn(|cx| Pin::new(&mut usr2).poll_next(cx)).await;
///     assert_eq!(info.unwrap().sender_pid(), Some(std::process::id()));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Signal {
    kind: SignalKind,
    /// This listener's `dup` of the signal's eventfd, which is never read: every handler run
    /// is an edge (see the module documentation).
    fd: AsyncFd<OwnedFd>,
    /// The number of the next delivery to report.
    next: u64,
    /// Keeps the handler installed while this listener exists.
    _listening: Listening,
}

impl Signal {
    pub(crate) fn new(kind: SignalKind) -> io::Result<Signal> {
        kind.check_listenable()?;
        let slot = slot(kind);
        // Read before the handler is installed (for the first listener), so that a delivery
        // while this listener is set up is reported: the handler replaced the default action,
        // and a delivery nobody reports would be lost. With other listeners, a delivery racing
        // this call may be reported to this one too.
        let next = slot.ring.claimed();
        let listening = Listening::start(kind.as_raw())?;
        let eventfd = slot.eventfd().expect("created with the first listener");
        Ok(Signal {
            kind,
            fd: AsyncFd::new(eventfd.try_clone_to_owned()?)?,
            next,
            _listening: listening,
        })
    }

    /// Waits for the next delivery of the signal (or the next run of deliveries, for a listener
    /// that fell behind: see [`SignalInfo::deliveries`]).
    ///
    /// `None` means the stream ended and will yield nothing more: the listener cannot wait any
    /// longer, because it was created in the parent of this (forked) process.
    ///
    /// # Cancel safety
    /// Cancel-safe: a delivery is consumed only when it is returned.
    pub async fn recv(&mut self) -> Option<SignalInfo> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery; as [`recv`](Self::recv), storing the task's waker if there
    /// is none.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<SignalInfo>> {
        let slot = slot(self.kind);
        loop {
            if slot.ring.claimed() != self.next {
                ready!(coop::poll_proceed(cx));
                if let Some(taken) = slot.ring.take(&mut self.next) {
                    let info = SignalInfo::new(self.kind, taken);
                    tracing::trace!(signal = self.kind.as_raw(), ?info, "signal received");
                    return Poll::Ready(Some(info));
                }
                coop::refund(); // Only records still being written: their writers will wake us.
            }
            // Every handler run is a new edge on the never-drained eventfd: clear the readiness,
            // then look at the ring again. A run that races with the clear wrote its record
            // before its edge, so the second look finds it, or the edge is newer than the clear
            // (which is then ignored).
            match ready!(self.fd.poll_read_ready(cx)) {
                Ok(mut guard) => guard.clear_ready_unspent(),
                Err(err) => {
                    tracing::debug!(signal = self.kind.as_raw(), %err, "signal stream ended");
                    return Poll::Ready(None);
                }
            }
        }
    }

    /// Which signal this listens for.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl futures_core::Stream for Signal {
    type Item = SignalInfo;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SignalInfo>> {
        self.get_mut().poll_recv(cx)
    }
}

fn slot(kind: SignalKind) -> &'static Slot {
    handler::slot(kind.as_raw()).expect("checked when the listener was created")
}
