//! Socket addresses in the kernel's layout (`sockaddr_storage` plus a length), and their
//! conversions from and to the std types: IPv4/IPv6 and Unix (path, abstract or unnamed).
//!
//! Invariant: `len` never exceeds `size_of::<sockaddr_storage>()`, and the bytes up to `len`
//! are initialised (the storage is zeroed first), so a `RawSockAddr` can be passed to any
//! syscall that reads `len` bytes of address.

use std::ffi::OsStr;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::path::Path;

/// A socket address in the kernel's layout, with its length.
pub struct RawSockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

/// Where `sun_path` starts in a `sockaddr_un`: an address of exactly this length is unnamed.
const SUN_PATH_OFFSET: usize = std::mem::offset_of!(libc::sockaddr_un, sun_path);

/// The capacity of `sun_path`.
const SUN_PATH_LEN: usize = 108;

impl RawSockAddr {
    /// Room for any address, for the kernel to fill (`accept4`, `recvfrom`, `getsockname`).
    pub(crate) fn empty() -> RawSockAddr {
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
                raw.write(sin);
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
                raw.write(sin6);
            }
        }
        raw
    }

    /// Stores `addr` (a `sockaddr_*` type) at the start of the storage and sets the length.
    fn write<T: SockAddrType>(&mut self, addr: T) {
        // SAFETY: `T: SockAddrType` is a sockaddr type, which sockaddr_storage is large and
        // aligned enough to hold.
        unsafe {
            std::ptr::write(
                (&mut self.storage as *mut libc::sockaddr_storage).cast::<T>(),
                addr,
            )
        };
        self.len = std::mem::size_of::<T>() as libc::socklen_t;
    }

    /// The storage seen as a `sockaddr_un`.
    fn unix_mut(&mut self) -> &mut libc::sockaddr_un {
        // SAFETY: sockaddr_un fits in sockaddr_storage, is aligned by it, and every bit pattern
        // (the storage starts zeroed) is a valid sockaddr_un.
        unsafe { &mut *(&mut self.storage as *mut libc::sockaddr_storage).cast() }
    }

    /// A Unix-domain address whose `sun_path` holds `lead` then `bytes`, and whose length
    /// counts `terminator` more bytes (the NUL after a path; none after an abstract name, whose
    /// `lead` is its NUL).
    fn from_unix_bytes(lead: &[u8], bytes: &[u8], terminator: usize) -> RawSockAddr {
        let used = lead.len() + bytes.len();
        debug_assert!(used + terminator <= SUN_PATH_LEN);
        let mut raw = RawSockAddr::empty();
        let sun = raw.unix_mut();
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in sun.sun_path.iter_mut().zip(lead.iter().chain(bytes)) {
            *dst = *src as libc::c_char;
        }
        raw.len = (SUN_PATH_OFFSET + used + terminator) as libc::socklen_t;
        raw
    }

    /// A Unix-domain path address.
    pub(crate) fn from_unix_path(path: &Path) -> io::Result<RawSockAddr> {
        let bytes = path.as_os_str().as_bytes();
        if bytes.is_empty() || bytes.contains(&0) || bytes.len() >= SUN_PATH_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unix socket path must be non-empty, shorter than {SUN_PATH_LEN} bytes and \
                     contain no NUL: {path:?}"
                ),
            ));
        }
        Ok(RawSockAddr::from_unix_bytes(&[], bytes, 1))
    }

    /// A Unix-domain address as std describes it: a path, an abstract name (a leading NUL in
    /// `sun_path`, then the name, no terminator), or unnamed (which `bind` turns into an
    /// automatically chosen abstract name).
    pub(crate) fn from_unix(addr: &UnixSocketAddr) -> io::Result<RawSockAddr> {
        if let Some(path) = addr.as_pathname() {
            return RawSockAddr::from_unix_path(path);
        }
        match addr.as_abstract_name() {
            // std refuses names longer than 107 bytes when it builds the address.
            Some(name) => Ok(RawSockAddr::from_unix_bytes(&[0], name, 0)),
            None => Ok(RawSockAddr::from_unix_bytes(&[], &[], 0)),
        }
    }

    /// The address as an IP socket address.
    pub(crate) fn to_inet(&self) -> io::Result<SocketAddr> {
        match i32::from(self.storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe {
                    &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Ok(SocketAddr::from((ip, u16::from_be(sin.sin_port))))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe {
                    &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Ok(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            family => Err(unexpected_family(family)),
        }
    }

    /// The address as a std Unix-domain address.
    ///
    /// The kernel reports an unnamed peer with a length of just the family (or 0, from
    /// `recvfrom`); std has no constructor for an unnamed address, but builds one from an empty
    /// path (pinned by a unit test below), which is what this uses.
    pub(crate) fn to_unix(&self) -> io::Result<UnixSocketAddr> {
        let len = self.len as usize;
        if len <= SUN_PATH_OFFSET {
            return UnixSocketAddr::from_pathname("");
        }
        let family = i32::from(self.storage.ss_family);
        if family != libc::AF_UNIX {
            return Err(unexpected_family(family));
        }
        let path_len = (len - SUN_PATH_OFFSET).min(SUN_PATH_LEN);
        // SAFETY: the family says the storage holds a sockaddr_un, whose `path_len` first
        // `sun_path` bytes (c_char, of u8's size and alignment) lie inside the storage.
        let path: &[u8] = unsafe {
            let sun =
                &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_un>();
            std::slice::from_raw_parts(sun.sun_path.as_ptr().cast::<u8>(), path_len)
        };
        match path.split_first() {
            Some((0, name)) => UnixSocketAddr::from_abstract_name(name),
            _ => {
                // A path's length may count its terminating NUL, or not.
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                if end == SUN_PATH_LEN {
                    // Legal, but std builds such an address only from the kernel's own answer.
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a Unix socket path of 108 bytes, filling sun_path: std's SocketAddr \
                         cannot be built from it",
                    ));
                }
                UnixSocketAddr::from_pathname(Path::new(OsStr::from_bytes(&path[..end])))
            }
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    /// The storage and its length, for a syscall to fill in.
    pub(crate) fn as_mut_parts(&mut self) -> (*mut libc::sockaddr, &mut libc::socklen_t) {
        (
            (&mut self.storage as *mut libc::sockaddr_storage).cast(),
            &mut self.len,
        )
    }

    pub(crate) fn len(&self) -> libc::socklen_t {
        self.len
    }
}

fn unexpected_family(family: i32) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected address family {family}"),
    )
}

/// The `sockaddr_*` types [`RawSockAddr::write`] may store: plain data that fits in and is
/// aligned by `sockaddr_storage`.
trait SockAddrType {}
impl SockAddrType for libc::sockaddr_in {}
impl SockAddrType for libc::sockaddr_in6 {}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(addr: &UnixSocketAddr) -> UnixSocketAddr {
        RawSockAddr::from_unix(addr).unwrap().to_unix().unwrap()
    }

    /// `to_unix` relies on std turning an empty path into an unnamed address.
    #[test]
    fn an_empty_path_is_std_s_unnamed_address() {
        assert!(UnixSocketAddr::from_pathname("").unwrap().is_unnamed());
        let unnamed = UnixSocketAddr::from_pathname("").unwrap();
        assert!(round_trip(&unnamed).is_unnamed());
        let mut from_recvfrom = RawSockAddr::empty();
        from_recvfrom.len = 0; // What `recvfrom` reports for an unbound sender.
        assert!(from_recvfrom.to_unix().unwrap().is_unnamed());
    }

    #[test]
    fn unix_addresses_round_trip() {
        let path = UnixSocketAddr::from_pathname("/tmp/x.sock").unwrap();
        assert_eq!(
            round_trip(&path).as_pathname(),
            Some(Path::new("/tmp/x.sock"))
        );
        let name = UnixSocketAddr::from_abstract_name(b"a\0b").unwrap();
        assert_eq!(round_trip(&name).as_abstract_name(), Some(&b"a\0b"[..]));
        let empty_name = UnixSocketAddr::from_abstract_name(b"").unwrap();
        assert_eq!(round_trip(&empty_name).as_abstract_name(), Some(&b""[..]));
    }

    #[test]
    fn inet_addresses_round_trip() {
        for addr in ["127.0.0.1:80", "[::1]:443", "[fe80::1%2]:7"] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(RawSockAddr::from_inet(&addr).to_inet().unwrap(), addr);
        }
    }
}
