//! Sockets: creation, options, addresses in the kernel's layout, and the data syscalls.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use minireactor_reactor::syscall;

/// A socket address in the kernel's layout, with its length.
pub(crate) struct RawSockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawSockAddr {
    fn empty() -> RawSockAddr {
        RawSockAddr {
            // SAFETY: sockaddr_storage is plain data; all-zero is a valid (unspecified) value.
            storage: unsafe { std::mem::zeroed() },
            len: std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// An IPv4 or IPv6 address.
    pub(crate) fn from_inet(addr: &SocketAddr) -> RawSockAddr {
        let mut raw = RawSockAddr::empty();
        match addr {
            SocketAddr::V4(v4) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: v4.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(v4.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr type.
                unsafe {
                    std::ptr::write(
                        (&mut raw.storage as *mut libc::sockaddr_storage).cast(),
                        sin,
                    )
                };
                raw.len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(v6) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: v6.port().to_be(),
                    sin6_flowinfo: v6.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: v6.ip().octets(),
                    },
                    sin6_scope_id: v6.scope_id(),
                };
                // SAFETY: as above.
                unsafe {
                    std::ptr::write(
                        (&mut raw.storage as *mut libc::sockaddr_storage).cast(),
                        sin6,
                    )
                };
                raw.len = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        raw
    }

    /// A Unix-domain path address.
    pub(crate) fn from_unix_path(path: &Path) -> io::Result<RawSockAddr> {
        let bytes = path.as_os_str().as_bytes();
        let mut raw = RawSockAddr::empty();
        // SAFETY: sockaddr_un fits in sockaddr_storage and all-zero is a valid value for it.
        let sun = unsafe {
            &mut *(&mut raw.storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_un>()
        };
        if bytes.is_empty() || bytes.contains(&0) || bytes.len() >= sun.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unix socket path must be non-empty, shorter than {} bytes and contain no \
                     NUL: {:?}",
                    sun.sun_path.len(),
                    path
                ),
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let path_offset = std::mem::offset_of!(libc::sockaddr_un, sun_path);
        raw.len = (path_offset + bytes.len() + 1) as libc::socklen_t;
        Ok(raw)
    }

    /// The address as an IP socket address.
    pub(crate) fn to_inet(&self) -> io::Result<SocketAddr> {
        match i32::from(self.storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe {
                    &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                let ip = std::net::Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Ok(SocketAddr::from((ip, u16::from_be(sin.sin_port))))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe {
                    &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Ok(SocketAddr::V6(std::net::SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            family => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected address family {family}"),
            )),
        }
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }
}

/// `socket(domain, ty | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)`.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    let fd = syscall!(
        // SAFETY: no pointers; the fd it returns is owned just below.
        unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) }
    )?;
    // SAFETY: `fd` was just returned by `socket` and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `SO_REUSEADDR`, so a restarted server can bind while old connections sit in TIME_WAIT.
pub(crate) fn set_reuseaddr(fd: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    syscall!(
        // SAFETY: the fd is open (borrowed); the option value is a live c_int of the size passed.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        }
    )?;
    Ok(())
}

pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &RawSockAddr) -> io::Result<()> {
    syscall!(
        // SAFETY: the address points at `addr.len` initialised bytes.
        unsafe { libc::bind(fd.as_raw_fd(), addr.as_ptr(), addr.len) }
    )?;
    Ok(())
}

pub(crate) fn listen(fd: BorrowedFd<'_>, backlog: libc::c_int) -> io::Result<()> {
    syscall!(
        // SAFETY: no pointers.
        unsafe { libc::listen(fd.as_raw_fd(), backlog) }
    )?;
    Ok(())
}

/// Starts a connect; on a non-blocking socket `EINPROGRESS` (or `EAGAIN` for a full Unix
/// listener) comes back as the error.
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &RawSockAddr) -> io::Result<()> {
    syscall!(
        // SAFETY: the address points at `addr.len` initialised bytes.
        unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr(), addr.len) }
    )?;
    Ok(())
}

/// Takes the socket's pending error (`SO_ERROR`): how a non-blocking connect ended.
pub(crate) fn take_socket_error(fd: BorrowedFd<'_>) -> io::Result<Option<io::Error>> {
    let mut error: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    syscall!(
        // SAFETY: the value and length are live out-parameters of the sizes passed.
        unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&mut error as *mut libc::c_int).cast(),
                &mut len,
            )
        }
    )?;
    Ok((error != 0).then(|| io::Error::from_raw_os_error(error)))
}

/// `accept4` with `SOCK_NONBLOCK | SOCK_CLOEXEC`: the new socket needs no further syscalls.
pub(crate) fn accept(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, RawSockAddr)> {
    let mut addr = RawSockAddr::empty();
    let new_fd = syscall!(
        // SAFETY: the storage and its length are live out-parameters sized for any address.
        unsafe {
            libc::accept4(
                fd.as_raw_fd(),
                (&mut addr.storage as *mut libc::sockaddr_storage).cast(),
                &mut addr.len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        }
    )?;
    // SAFETY: `new_fd` was just returned by `accept4` and nothing else owns it.
    Ok((unsafe { OwnedFd::from_raw_fd(new_fd) }, addr))
}

/// `send` with `MSG_NOSIGNAL`: a write to a peer that is gone returns `EPIPE` instead of
/// raising SIGPIPE.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    let n = syscall!(
        // SAFETY: the buffer is valid for `buf.len()` bytes.
        unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        }
    )?;
    Ok(n as usize)
}

/// `recv` with no flags.
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let n = syscall!(
        // SAFETY: the buffer is valid for writes of `buf.len()` bytes.
        unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) }
    )?;
    Ok(n as usize)
}
