//! Socket options: `getsockopt`/`setsockopt` for the few value types the runtime uses.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use minireactor_reactor::syscall;

/// The integer-valued options, each with its level and name.
#[derive(Clone, Copy, Debug)]
pub(crate) enum IntOption {
    /// `SO_REUSEADDR`: bind while old connections of the port sit in `TIME_WAIT`.
    ReuseAddr,
    /// `SO_REUSEPORT`: several sockets share one port; the kernel spreads connections.
    ReusePort,
    /// `IPV6_V6ONLY`: an IPv6 socket that refuses IPv4-mapped peers.
    OnlyV6,
    /// `SO_SNDBUF`.
    SendBuffer,
    /// `SO_RCVBUF`.
    RecvBuffer,
    /// `TCP_NODELAY`.
    NoDelay,
    /// `SO_KEEPALIVE`.
    KeepAlive,
    /// `TCP_KEEPIDLE`: idle seconds before the first probe.
    KeepIdle,
    /// `TCP_KEEPINTVL`: seconds between probes.
    KeepInterval,
    /// `TCP_KEEPCNT`: unanswered probes before the connection is dropped.
    KeepCount,
    /// `SO_ERROR`: the pending error, read-and-clear.
    Error,
}

impl IntOption {
    fn level_and_name(self) -> (libc::c_int, libc::c_int) {
        match self {
            IntOption::ReuseAddr => (libc::SOL_SOCKET, libc::SO_REUSEADDR),
            IntOption::ReusePort => (libc::SOL_SOCKET, libc::SO_REUSEPORT),
            IntOption::OnlyV6 => (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
            IntOption::SendBuffer => (libc::SOL_SOCKET, libc::SO_SNDBUF),
            IntOption::RecvBuffer => (libc::SOL_SOCKET, libc::SO_RCVBUF),
            IntOption::NoDelay => (libc::IPPROTO_TCP, libc::TCP_NODELAY),
            IntOption::KeepAlive => (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
            IntOption::KeepIdle => (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
            IntOption::KeepInterval => (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
            IntOption::KeepCount => (libc::IPPROTO_TCP, libc::TCP_KEEPCNT),
            IntOption::Error => (libc::SOL_SOCKET, libc::SO_ERROR),
        }
    }
}

/// The option value types: plain C data, for which any bit pattern the kernel writes is valid.
trait OptionValue: Copy {}
impl OptionValue for libc::c_int {}
impl OptionValue for libc::linger {}
impl OptionValue for libc::ucred {}

fn set<T: OptionValue>(
    fd: BorrowedFd<'_>,
    (level, name): (libc::c_int, libc::c_int),
    value: T,
) -> io::Result<()> {
    syscall!(
        // SAFETY: the fd is open (borrowed); the value is a live `T` of the size passed.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                level,
                name,
                (&value as *const T).cast(),
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        }
    )?;
    Ok(())
}

fn get<T: OptionValue>(
    fd: BorrowedFd<'_>,
    (level, name): (libc::c_int, libc::c_int),
) -> io::Result<T> {
    // SAFETY: `T: OptionValue` is plain C data, for which all-zero is a valid value.
    let mut value: T = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    syscall!(
        // SAFETY: the value and its length are live out-parameters of the size passed; the
        // kernel writes at most `len` bytes.
        unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                level,
                name,
                (&mut value as *mut T).cast(),
                &mut len,
            )
        }
    )?;
    Ok(value)
}

pub(crate) fn set_int(fd: BorrowedFd<'_>, option: IntOption, value: libc::c_int) -> io::Result<()> {
    set(fd, option.level_and_name(), value)
}

pub(crate) fn get_int(fd: BorrowedFd<'_>, option: IntOption) -> io::Result<libc::c_int> {
    get(fd, option.level_and_name())
}

/// Sets an on/off option.
pub(crate) fn set_flag(fd: BorrowedFd<'_>, option: IntOption, on: bool) -> io::Result<()> {
    set_int(fd, option, on.into())
}

/// Reads an on/off option.
pub(crate) fn get_flag(fd: BorrowedFd<'_>, option: IntOption) -> io::Result<bool> {
    Ok(get_int(fd, option)? != 0)
}

/// Takes the socket's pending error (`SO_ERROR`): how a non-blocking connect ended.
pub(crate) fn take_socket_error(fd: BorrowedFd<'_>) -> io::Result<Option<io::Error>> {
    let error = get_int(fd, IntOption::Error)?;
    Ok((error != 0).then(|| io::Error::from_raw_os_error(error)))
}

/// `SO_LINGER`: `None` turns it off; `Some(t)` makes `close` wait up to `t` (whole seconds,
/// rounded up) for unsent data, and `Some(ZERO)` makes it reset the connection.
pub(crate) fn set_linger(fd: BorrowedFd<'_>, linger: Option<Duration>) -> io::Result<()> {
    let value = libc::linger {
        l_onoff: linger.is_some().into(),
        l_linger: linger.map_or(0, duration_to_secs),
    };
    set(fd, (libc::SOL_SOCKET, libc::SO_LINGER), value)
}

pub(crate) fn linger(fd: BorrowedFd<'_>) -> io::Result<Option<Duration>> {
    let value: libc::linger = get(fd, (libc::SOL_SOCKET, libc::SO_LINGER))?;
    Ok((value.l_onoff != 0).then(|| Duration::from_secs(value.l_linger.max(0) as u64)))
}

/// `SO_PEERCRED`: the credentials of the process that connected (or made the pair).
pub(crate) fn peer_cred(fd: BorrowedFd<'_>) -> io::Result<libc::ucred> {
    get(fd, (libc::SOL_SOCKET, libc::SO_PEERCRED))
}

/// A duration as the whole seconds the kernel's options take: rounded up, so a sub-second value
/// does not become 0 (which means "off" or is refused), and capped at `c_int::MAX`.
pub(crate) fn duration_to_secs(duration: Duration) -> libc::c_int {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    secs.try_into().unwrap_or(libc::c_int::MAX)
}
