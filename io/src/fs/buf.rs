//! [`Buf`]: the bytes that travel between a task and a pool thread with each operation.
//!
//! Invariants:
//! - the buffer holds at most [`MAX_BUF`] bytes, whatever the callers ask for;
//! - it holds either the unread rest of the last read (`data[pos..]`) or the bytes of the write
//!   in flight, never both: a write starts only once the unread bytes are gone (read, or given
//!   back to the file by a seek).

use std::io::{self, Read, Write};

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
    pub(crate) fn read_from(&mut self, reader: &mut impl Read, len: usize) -> io::Result<()> {
        self.discard();
        self.data.resize(len.min(MAX_BUF), 0);
        loop {
            match reader.read(&mut self.data) {
                Ok(n) => {
                    self.data.truncate(n);
                    return Ok(());
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.data.clear();
                    return Err(err);
                }
            }
        }
    }

    /// Writes all the contents out and empties the buffer, even on failure (as tokio does: what
    /// a failed write leaves behind is unknown, so retrying it could write bytes twice). On pool
    /// threads only.
    pub(crate) fn write_to(&mut self, writer: &mut impl Write) -> io::Result<()> {
        let result = writer.write_all(&self.data);
        self.discard();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(
        miri,
        ignore = "fills a buffer of several MiB: over 4 minutes under Miri"
    )]
    fn reads_are_capped_and_taken_in_pieces() {
        let source = vec![7u8; MAX_BUF + 10];
        let mut buf = Buf::default();
        buf.read_from(&mut &source[..], usize::MAX).unwrap();
        assert_eq!(buf.unread(), MAX_BUF);
        let mut dst = [0u8; 10];
        assert_eq!(buf.copy_to(&mut dst), 10);
        assert_eq!(buf.unread(), MAX_BUF - 10);
    }

    #[test]
    fn writes_are_capped_and_empty_the_buffer() {
        let mut buf = Buf::default();
        assert_eq!(buf.copy_from(&vec![1u8; MAX_BUF + 1]), MAX_BUF);
        let mut sink = Vec::new();
        buf.write_to(&mut sink).unwrap();
        assert_eq!(sink.len(), MAX_BUF);
        assert_eq!(buf.unread(), 0);
    }
}
