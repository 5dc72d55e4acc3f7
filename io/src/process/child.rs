//! [`Child`]: a spawned child process, its pipes, and waiting for its exit.

use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

use super::orphans;
use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use super::unreaped::Unreaped;

/// A child process spawned by [`Command::spawn`](super::Command::spawn).
///
/// Dropping a `Child` does not wait for the process: it keeps running (unless
/// [`kill_on_drop`](super::Command::kill_on_drop) was set, which kills it) and is reaped in the
/// background when it exits, while this thread's runtime runs (see the
/// [module documentation](super)). It never becomes a lasting zombie.
#[derive(Debug)]
pub struct Child {
    /// The child's stdin, if it was [`piped`](std::process::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// `Some` until the child is reaped; then `status` is.
    unreaped: Option<Unreaped>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
}

impl Child {
    /// Takes over a child std just spawned. If watching it or its pipes fails, the child is
    /// killed and reaped, and the error returned.
    pub(crate) fn new(mut std: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        let unreaped = match Unreaped::new(std.id()) {
            Ok(unreaped) => unreaped,
            Err(err) => {
                // Nothing watches the child yet: reap it the blocking way, which is brief after
                // SIGKILL, on this rare error path.
                let _ = std.kill();
                let _ = std.wait();
                return Err(err);
            }
        };
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            unreaped: Some(unreaped),
            status: None,
            kill_on_drop,
        };
        // From here on, dropping `child` on an error kills it and reaps it in the background.
        child.kill_on_drop = true;
        child.stdin = std.stdin.take().map(ChildStdin::new).transpose()?;
        child.stdout = std.stdout.take().map(ChildStdout::new).transpose()?;
        child.stderr = std.stderr.take().map(ChildStderr::new).transpose()?;
        child.kill_on_drop = kill_on_drop;
        Ok(child)
    }

    /// The child's pid, until it is reaped (then `None`: the pid may belong to another process
    /// by now).
    pub fn id(&self) -> Option<u32> {
        self.unreaped.as_ref().map(Unreaped::pid)
    }

    /// The exit status if the child has exited (reaping it), `None` if it is still running.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let unreaped = self
            .unreaped
            .as_ref()
            .expect("unreaped until a status is known");
        let status = unreaped.try_reap()?;
        if let Some(status) = status {
            self.reaped(status);
        }
        Ok(status)
    }

    /// Waits for the child to exit and reaps it. Closes the child's stdin first (if piped), so
    /// a child that reads until end of file can finish.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped, the child is still there to wait for.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(status) = self.status {
            return Poll::Ready(Ok(status));
        }
        let unreaped = self
            .unreaped
            .as_mut()
            .expect("unreaped until a status is known");
        let status = std::task::ready!(unreaped.poll_reap(cx))?;
        self.reaped(status);
        Poll::Ready(Ok(status))
    }

    fn reaped(&mut self, status: ExitStatus) {
        self.unreaped = None;
        self.status = Some(status);
    }

    /// Sends SIGKILL to the child, without waiting for it to exit.
    ///
    /// # Errors
    /// `InvalidInput` if the child was already reaped; the OS error if the signal cannot be
    /// sent. A child that exited but was not reaped yet is not an error.
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &self.unreaped {
            Some(unreaped) => unreaped.start_kill(),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot kill a child that has already been reaped",
            )),
        }
    }

    /// Sends SIGKILL to the child and waits for it to exit.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await?;
        Ok(())
    }

    /// Closes stdin, reads stdout and stderr to their end (if piped) and waits for the child:
    /// everything it wrote, and how it exited.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (mut stdout_pipe, mut stderr_pipe) = (self.stdout.take(), self.stderr.take());
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        // Both pipes at once: a child that fills one while we wait on the other must not block.
        poll_fn(|cx| {
            if let Some(pipe) = &stdout_pipe {
                if let Poll::Ready(result) = pipe.poll_read_to_end(cx, &mut stdout) {
                    result?;
                    stdout_pipe = None;
                }
            }
            if let Some(pipe) = &stderr_pipe {
                if let Poll::Ready(result) = pipe.poll_read_to_end(cx, &mut stderr) {
                    result?;
                    stderr_pipe = None;
                }
            }
            if stdout_pipe.is_none() && stderr_pipe.is_none() {
                Poll::Ready(Ok::<(), io::Error>(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(unreaped) = self.unreaped.take() {
            if self.kill_on_drop {
                if let Err(err) = unreaped.start_kill() {
                    tracing::debug!(pid = unreaped.pid(), %err, "could not kill the child on drop");
                }
            }
            orphans::adopt(unreaped);
        }
    }
}
