//! [`TcpKeepalive`]: the parameters of TCP keepalive probes.

use std::time::Duration;

/// TCP keepalive parameters, for [`TcpStream::set_keepalive`](crate::net::TcpStream::set_keepalive).
/// A parameter left unset keeps the system's default (`net.ipv4.tcp_keepalive_*`).
///
/// The kernel counts in whole seconds: durations are rounded up.
///
/// ```
/// use std::time::Duration;
/// use minireactor::net::TcpKeepalive;
///
/// let keepalive = TcpKeepalive::new()
///     .with_time(Duration::from_secs(60))
///     .with_interval(Duration::from_secs(10))
///     .with_retries(5);
/// assert_eq!(keepalive.retries(), Some(5));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpKeepalive {
    time: Option<Duration>,
    interval: Option<Duration>,
    retries: Option<u32>,
}

impl TcpKeepalive {
    /// Keepalive with the system's parameters.
    pub const fn new() -> TcpKeepalive {
        TcpKeepalive {
            time: None,
            interval: None,
            retries: None,
        }
    }

    /// How long the connection stays idle before the first probe (`TCP_KEEPIDLE`).
    pub const fn with_time(self, time: Duration) -> TcpKeepalive {
        TcpKeepalive {
            time: Some(time),
            ..self
        }
    }

    /// The time between unanswered probes (`TCP_KEEPINTVL`).
    pub const fn with_interval(self, interval: Duration) -> TcpKeepalive {
        TcpKeepalive {
            interval: Some(interval),
            ..self
        }
    }

    /// How many unanswered probes drop the connection (`TCP_KEEPCNT`).
    pub const fn with_retries(self, retries: u32) -> TcpKeepalive {
        TcpKeepalive {
            retries: Some(retries),
            ..self
        }
    }

    /// The idle time before the first probe, if set.
    pub const fn time(&self) -> Option<Duration> {
        self.time
    }

    /// The time between probes, if set.
    pub const fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// The number of probes, if set.
    pub const fn retries(&self) -> Option<u32> {
        self.retries
    }
}
