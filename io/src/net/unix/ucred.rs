//! [`UCred`]: the credentials of a Unix socket's peer (`SO_PEERCRED`).

use std::io;
use std::os::fd::BorrowedFd;

use crate::sys;

/// The process credentials of a Unix socket's peer, recorded by the kernel when the
/// connection (or the pair) was made: they do not change if the peer later changes its uid or
/// passes the socket on.
///
/// ```
/// use minireactor::net::UnixStream;
///
/// minireactor::block_on(async {
///     let (a, _b) = UnixStream::pair()?;
///     let cred = a.peer_cred()?;
///     assert_eq!(cred.pid(), Some(std::process::id() as i32));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UCred {
    pid: libc::pid_t,
    uid: libc::uid_t,
    gid: libc::gid_t,
}

impl UCred {
    /// Reads `SO_PEERCRED`; a socket without credentials (never connected, or a datagram
    /// socket connected with `connect`, for which the kernel records none) is an error.
    pub(crate) fn of_peer(fd: BorrowedFd<'_>) -> io::Result<UCred> {
        let cred = sys::peer_cred(fd)?;
        // With no credentials the kernel reports uid and gid -1, which no process has (an
        // unmapped id would read as the overflow id, 65534).
        if cred.uid == libc::uid_t::MAX && cred.gid == libc::gid_t::MAX {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the socket has no peer credentials: it is not connected, or is a datagram \
                 socket connected with connect (only pair() records credentials for those)",
            ));
        }
        Ok(UCred {
            pid: cred.pid,
            uid: cred.uid,
            gid: cred.gid,
        })
    }

    /// The peer's process id, or `None` if that process is not visible in this process's pid
    /// namespace.
    pub fn pid(&self) -> Option<libc::pid_t> {
        (self.pid != 0).then_some(self.pid)
    }

    /// The peer's effective user id.
    pub fn uid(&self) -> libc::uid_t {
        self.uid
    }

    /// The peer's effective group id.
    pub fn gid(&self) -> libc::gid_t {
        self.gid
    }
}
