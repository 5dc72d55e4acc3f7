//! devone's ioctl interface, as `devone/module/devone_ioctl.h` declares it: the argument
//! layout ([`IoctlCmd`]), the request numbers ([`IOCTL_VALSET`], [`IOCTL_VALGET`]) and the
//! `_IOC` encoding they are built with ([`encode`]).
//!
//! [`Devone::value`](crate::Devone::value) and [`Devone::set_value`](crate::Devone::set_value)
//! are the way to use them; this module is public for programs that talk to the driver with
//! plain syscalls (the VM test's checks send these numbers, and malformed ones built with
//! [`encode`], through their own `ioctl(2)`).
//!
//! ```
//! use minireactor::devone::ioctl::{encode, Direction, IoctlCmd, IOCTL_VALGET, IOC_MAGIC};
//!
//! // VALGET is `_IOR('d', 2, struct ioctl_cmd)`.
//! assert_eq!(IOCTL_VALGET, encode(Direction::Read, IOC_MAGIC, 2, size_of::<IoctlCmd>()));
//! ```

/// Which way an ioctl's argument travels: the `_IOC_*` direction bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Direction {
    /// No argument is transferred (`_IOC_NONE`).
    None = 0,
    /// User space writes, the driver reads (`_IOC_WRITE`).
    Write = 1,
    /// The driver writes, user space reads (`_IOC_READ`).
    Read = 2,
}

/// The largest argument size the 14-bit size field can hold, plus one.
const SIZE_LIMIT: usize = 1 << 14;

/// `_IOC(direction, ty, number, size)` of `<asm-generic/ioctl.h>`, which x86 uses:
/// `direction << 30 | size << 16 | ty << 8 | number`.
///
/// # Panics
/// If `size` does not fit the 14-bit size field (at compile time, in a `const`).
pub const fn encode(direction: Direction, ty: u8, number: u8, size: usize) -> libc::c_ulong {
    assert!(
        size < SIZE_LIMIT,
        "ioctl argument too large for the size field"
    );
    (((direction as u32) << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | number as u32)
        as libc::c_ulong
}

/// `struct ioctl_cmd`, the argument of both requests. The driver uses only `val`; `reg` and
/// `offset` keep the book's layout and come back as 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoctlCmd {
    /// Ignored by the driver.
    pub reg: libc::c_uint,
    /// Ignored by the driver.
    pub offset: libc::c_uint,
    /// The byte that `read(2)` returns copies of (the driver refuses values over 255).
    pub val: libc::c_uint,
}

/// The ioctl type ("magic") byte of devone, `IOC_MAGIC` in the header.
pub const IOC_MAGIC: u8 = b'd';

/// `_IOW('d', 1, struct ioctl_cmd)`: set the value. Needs `CAP_SYS_ADMIN` (else `EPERM`);
/// a value over 255 gives `EINVAL`.
pub const IOCTL_VALSET: libc::c_ulong =
    encode(Direction::Write, IOC_MAGIC, 1, size_of::<IoctlCmd>());

/// `_IOR('d', 2, struct ioctl_cmd)`: get the value.
pub const IOCTL_VALGET: libc::c_ulong =
    encode(Direction::Read, IOC_MAGIC, 2, size_of::<IoctlCmd>());

#[cfg(test)]
mod tests {
    use super::*;

    /// What a C program built against `devone_ioctl.h` prints for the two macros
    /// (`printf("%#x", IOCTL_VALSET)` with gcc on x86_64): an independent cross-check.
    #[test]
    fn ioctl_numbers_match_the_c_header() {
        assert_eq!(size_of::<IoctlCmd>(), 12);
        assert_eq!(IOCTL_VALSET, 0x400c_6401);
        assert_eq!(IOCTL_VALGET, 0x800c_6402);
    }

    #[test]
    fn encode_places_each_field() {
        assert_eq!(encode(Direction::None, 0, 0, 0), 0);
        assert_eq!(encode(Direction::None, IOC_MAGIC, 99, 0), 0x6463);
        assert_eq!(encode(Direction::Read, 0, 0, 4), 0x8004_0000);
        assert_eq!(encode(Direction::Write, 0, 0, SIZE_LIMIT - 1), 0x7fff_0000);
    }
}
