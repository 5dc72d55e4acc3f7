//! [`Buf`]: the bytes that travel between a task and a pool thread with each operation.
//!
//! Invariants:
//! - the buffer holds at most [`MAX_BUF`] bytes, whatever the callers ask for;
//! - it holds either the unread rest of the last read (`data[pos..]`) or the bytes of the write
//!   in flight, never both: a write starts only once the unread bytes are gone (read, or given
//!   back to the file by a seek).

use std::io::{self, Read, Write};
use std::os::fd::AsFd;

use crate::sys;

/// The most bytes one operation moves, and so the most memory a file or stdio handle holds.
///
/// 2 MiB, as tokio: large enough that a big copy costs few pool round trips (a 64 MiB file is 32
/// of them each way), small enough that a thousand open files stay within a couple of GiB even
/// if every one of them has done a large read. A caller asking for more gets at most this much.
pub(crate) const MAX_BUF: usize = 2 * 1024 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Buf {
    data: Vec<u8>,
    /// How much of `data` the reader has taken already.
    pos: usize,
}

impl Buf {
    /// Bytes read from the file that no reader has taken yet.
    pub(crate) fn unread(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Moves as many unread bytes as fit into `dst`; returns how many.
    pub(crate) fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.unread().min(dst.len());
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }

    /// Takes up to [`MAX_BUF`] bytes of `src` to be written; returns how many.
    pub(crate) fn copy_from(&mut self, src: &[u8]) -> usize {
        debug_assert_eq!(self.unread(), 0, "unread bytes would be overwritten");
        let n = src.len().min(MAX_BUF);
        self.discard();
        self.data.extend_from_slice(&src[..n]);
        n
    }

    /// Forgets the contents (once the file position no longer counts them).
    pub(crate) fn discard(&mut self) {
        self.data.clear();
        self.pos = 0;
    }

    /// Replaces the contents with one read of at most `len` bytes (fewer, or none at the end
    /// of the file). On pool threads only.
    pub(crate) fn read_from<R: Read + AsFd>(
        &mut self,
        reader: &mut R,
        len: usize,
    ) -> io::Result<()> {
        self.discard();
        self.data.resize(len.min(MAX_BUF), 0);
        match blocking(reader, false, |reader| reader.read(&mut self.data)) {
            Ok(n) => {
                self.data.truncate(n);
                Ok(())
            }
            Err(err) => {
                self.data.clear();
                Err(err)
            }
        }
    }

    /// Writes all the contents out and empties the buffer, even on failure (as tokio does: what
    /// a failed write leaves behind is unknown, so retrying it could write bytes twice). On pool
    /// threads only.
    pub(crate) fn write_to<W: Write + AsFd>(&mut self, writer: &mut W) -> io::Result<()> {
        let mut rest = &self.data[..];
        let result = loop {
            if rest.is_empty() {
                break Ok(());
            }
            match blocking(writer, true, |writer| writer.write(rest)) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(err) => break Err(err),
            }
        };
        self.discard();
        result
    }
}

/// Runs `op` on `io` as a blocking call would: again when interrupted, and, when it would block
/// (another process sharing the fd made it non-blocking), again once `poll(2)` says the fd is
/// ready. On pool threads only.
pub(crate) fn blocking<T: AsFd, R>(
    io: &mut T,
    writable: bool,
    mut op: impl FnMut(&mut T) -> io::Result<R>,
) -> io::Result<R> {
    loop {
        match op(io) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                sys::wait_until_ready(io.as_fd(), writable)?;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    #[cfg_attr(
        miri,
        ignore = "fills a buffer of several MiB: over 4 minutes under Miri"
    )]
    fn reads_are_capped_and_taken_in_pieces() {
        let mut endless = std::fs::File::open("/dev/zero").unwrap();
        let mut buf = Buf::default();
        buf.read_from(&mut endless, usize::MAX).unwrap();
        assert_eq!(buf.unread(), MAX_BUF);
        let mut dst = [0u8; 10];
        assert_eq!(buf.copy_to(&mut dst), 10);
        assert_eq!(buf.unread(), MAX_BUF - 10);
    }

    /// A pipe whose ends another process could have made non-blocking: both are, here.
    fn non_blocking_pipe() -> (std::io::PipeReader, std::io::PipeWriter) {
        use minireactor_reactor::sys::FdFlags;
        let (reader, writer) = std::io::pipe().unwrap();
        for fd in [reader.as_fd(), writer.as_fd()] {
            let flags = FdFlags::get(fd).unwrap();
            flags.nonblocking().set(fd, flags).unwrap();
        }
        (reader, writer)
    }

    #[test]
    #[cfg_attr(miri, ignore = "poll(2) is not emulated by Miri")]
    fn a_read_of_a_non_blocking_fd_waits_for_data_instead_of_failing() {
        let (mut reader, mut writer) = non_blocking_pipe();
        let late_writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            writer.write_all(b"late").unwrap();
        });
        let mut buf = Buf::default();
        buf.read_from(&mut reader, 16).unwrap();
        let mut dst = [0u8; 16];
        let n = buf.copy_to(&mut dst);
        assert_eq!(&dst[..n], b"late");
        late_writer.join().unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "poll(2) is not emulated by Miri")]
    fn a_write_to_a_full_non_blocking_fd_waits_and_writes_everything() {
        let (mut reader, mut writer) = non_blocking_pipe();
        const LEN: usize = 1 << 20; // Many times a pipe's capacity.
        let drainer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let mut all = Vec::new();
            loop {
                let mut chunk = [0u8; 65536];
                match reader.read(&mut chunk) {
                    Ok(0) => return all,
                    Ok(n) => all.extend_from_slice(&chunk[..n]),
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Err(err) => panic!("{err}"),
                }
            }
        });
        let mut buf = Buf::default();
        buf.copy_from(&vec![9u8; LEN]);
        buf.write_to(&mut writer).unwrap();
        drop(writer);
        assert_eq!(drainer.join().unwrap(), vec![9u8; LEN]);
    }

    #[test]
    fn writes_are_capped_and_empty_the_buffer() {
        let mut buf = Buf::default();
        assert_eq!(buf.copy_from(&vec![1u8; MAX_BUF + 1]), MAX_BUF);
        let path = std::env::temp_dir().join(format!("minireactor-buf-{}", std::process::id()));
        let mut sink = std::fs::File::create(&path).unwrap();
        buf.write_to(&mut sink).unwrap();
        assert_eq!(sink.metadata().unwrap().len(), MAX_BUF as u64);
        assert_eq!(buf.unread(), 0);
        std::fs::remove_file(&path).unwrap();
    }
}
