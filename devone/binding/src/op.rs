//! The operations a [`Devone`](crate::Devone) makes on its fd, each in two forms: run on the
//! runtime's thread with the caller's buffer ([`Operation::inline`]), or described by a
//! `'static` [`Job`] that a pool thread runs on its own copy of the data and answers with a
//! [`Done`].

use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::in_flight::InFlight;
use crate::ioctl::IoctlCmd;
use crate::offload::OpKind;
use crate::sys::{self, Request};

/// The most bytes one read or write on the pool moves: it allocates a buffer of that size, so a
/// huge caller buffer must not become a huge allocation (a short read or write is allowed).
pub(crate) const MAX_POOL_TRANSFER: usize = 64 * 1024;

/// An operation as the pool runs it: owned data only.
#[derive(Debug)]
pub(crate) enum Job {
    Read { len: usize },
    Write { data: Vec<u8> },
    Ioctl { request: Request, cmd: IoctlCmd },
}

/// What a [`Job`] gave.
#[derive(Debug)]
pub(crate) enum Done {
    Read(io::Result<Vec<u8>>),
    Write(io::Result<usize>),
    Ioctl(io::Result<IoctlCmd>),
}

/// A finished [`Job`] and how long its syscall took (measured on the pool thread, around the
/// syscall only: queueing for a thread does not count).
#[derive(Debug)]
pub(crate) struct Timed {
    pub(crate) done: Done,
    pub(crate) took: Duration,
}

impl Job {
    /// Runs the job on `file`; called on a pool thread.
    pub(crate) fn run(self, file: Arc<File>) -> Timed {
        let start = Instant::now();
        let done = match self {
            Job::Read { len } => {
                let mut buf = vec![0; len];
                Done::Read((&*file).read(&mut buf).map(|n| {
                    buf.truncate(n);
                    buf
                }))
            }
            Job::Write { data } => Done::Write((&*file).write(&data)),
            Job::Ioctl { request, cmd } => Done::Ioctl(sys::ioctl(&file, request, cmd)),
        };
        Timed {
            done,
            took: start.elapsed(),
        }
    }
}

impl Done {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Done::Read(_) => OpKind::Read,
            Done::Write(_) => OpKind::Write,
            Done::Ioctl(_) => OpKind::Ioctl,
        }
    }
}

/// One call of a `Devone` method, in its two forms.
pub(crate) trait Operation {
    type Output;
    const KIND: OpKind;

    /// Runs it here, on the caller's data.
    fn inline(&mut self, file: &File) -> io::Result<Self::Output>;

    /// The job that does it on the pool.
    fn job(&self) -> Job;

    /// The result of [`job`](Self::job), given back to the caller.
    fn finish(&mut self, done: Done) -> io::Result<Self::Output>;

    /// Completes it from the bytes an abandoned read left, if it is a read and there are any.
    fn complete_from_kept(&mut self, _in_flight: &InFlight) -> Option<Self::Output> {
        None
    }
}

/// `read(2)` into the caller's buffer.
pub(crate) struct ReadInto<'a>(pub(crate) &'a mut [u8]);

impl Operation for ReadInto<'_> {
    type Output = usize;
    const KIND: OpKind = OpKind::Read;

    fn inline(&mut self, mut file: &File) -> io::Result<usize> {
        file.read(self.0)
    }

    fn job(&self) -> Job {
        Job::Read {
            len: self.0.len().min(MAX_POOL_TRANSFER),
        }
    }

    fn finish(&mut self, done: Done) -> io::Result<usize> {
        let Done::Read(result) = done else {
            unreachable!("a read job gives a read result");
        };
        let bytes = result?;
        // The job read at most `self.0.len()` bytes.
        self.0[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }

    fn complete_from_kept(&mut self, in_flight: &InFlight) -> Option<usize> {
        in_flight.take_kept(self.0)
    }
}

/// `write(2)` of the caller's bytes.
pub(crate) struct WriteFrom<'a>(pub(crate) &'a [u8]);

impl Operation for WriteFrom<'_> {
    type Output = usize;
    const KIND: OpKind = OpKind::Write;

    fn inline(&mut self, mut file: &File) -> io::Result<usize> {
        file.write(self.0)
    }

    fn job(&self) -> Job {
        let len = self.0.len().min(MAX_POOL_TRANSFER);
        Job::Write {
            data: self.0[..len].to_vec(),
        }
    }

    fn finish(&mut self, done: Done) -> io::Result<usize> {
        let Done::Write(result) = done else {
            unreachable!("a write job gives a write result");
        };
        result
    }
}

/// `IOCTL_VALGET` or `IOCTL_VALSET`.
pub(crate) struct Ioctl {
    pub(crate) request: Request,
    pub(crate) cmd: IoctlCmd,
}

impl Operation for Ioctl {
    type Output = IoctlCmd;
    const KIND: OpKind = OpKind::Ioctl;

    fn inline(&mut self, file: &File) -> io::Result<IoctlCmd> {
        sys::ioctl(file, self.request, self.cmd)
    }

    fn job(&self) -> Job {
        Job::Ioctl {
            request: self.request,
            cmd: self.cmd,
        }
    }

    fn finish(&mut self, done: Done) -> io::Result<IoctlCmd> {
        let Done::Ioctl(result) = done else {
            unreachable!("an ioctl job gives an ioctl result");
        };
        result
    }
}
