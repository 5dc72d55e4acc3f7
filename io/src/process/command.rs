//! [`Command`]: `std::process::Command`, spawning children this runtime watches.

use std::ffi::OsStr;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use super::child::Child;

/// A process builder, as [`std::process::Command`] (which does the spawning: `posix_spawn`
/// or `fork`+`exec`), whose children are awaited through this thread's reactor.
///
/// ```
/// use std::process::Stdio;
/// use minireactor::process::Command;
///
/// minireactor::block_on(async {
///     let mut child = Command::new("sh")
///         .args(["-c", "echo \"$GREETING\""])
///         .env("GREETING", "hello")
///         .stdout(Stdio::piped())
///         .spawn()?;
///     let mut said = Vec::new();
///     child.stdout.take().unwrap().read_to_end(&mut said).await?;
///     assert!(child.wait().await?.success());
///     assert_eq!(said, b"hello\n");
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Which standard streams the caller chose; [`output`](Self::output) captures the others.
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl Command {
    /// A command that runs `program` (searched in `PATH` if it has no `/`), with no arguments,
    /// this process's environment and working directory, and inherited standard streams.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            std: std::process::Command::new(program),
            kill_on_drop: false,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what [`env`](Self::env) adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's stdin; [`Stdio::piped`] makes [`Child::stdin`] a [`ChildStdin`](super::ChildStdin).
    pub fn stdin(&mut self, stdin: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(stdin);
        self.stdin_set = true;
        self
    }

    /// Sets the child's stdout; [`Stdio::piped`] makes [`Child::stdout`] a
    /// [`ChildStdout`](super::ChildStdout).
    pub fn stdout(&mut self, stdout: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(stdout);
        self.stdout_set = true;
        self
    }

    /// Sets the child's stderr; [`Stdio::piped`] makes [`Child::stderr`] a
    /// [`ChildStderr`](super::ChildStderr).
    pub fn stderr(&mut self, stderr: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(stderr);
        self.stderr_set = true;
        self
    }

    /// Whether dropping the [`Child`] (before it was reaped) sends it SIGKILL. Either way, the
    /// runtime reaps it when it exits. Off by default, as in std.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Puts the child in process group `pgroup` (`setpgid`); 0 makes it the leader of a new
    /// group, e.g. so that a terminal's Ctrl-C does not reach it.
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// The std command inside, to read its program, arguments and environment.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// Spawns the child.
    ///
    /// Spawning itself is synchronous (as in std and tokio: `posix_spawn`, or `fork`+`exec`, and
    /// a read of the exec status). The child inherits no fd of the runtime: every fd the runtime
    /// creates is close-on-exec.
    ///
    /// # Errors
    /// std's spawn errors (e.g. `NotFound` for a missing program), or the error of watching the
    /// child or its pipes — after which the child has been killed and reaped.
    pub fn spawn(&mut self) -> io::Result<Child> {
        Child::new(self.std.spawn()?, self.kill_on_drop)
    }

    /// Spawns the child, with standard streams inherited unless set, and waits for it to exit.
    /// Pipes set up by [`stdin`](Self::stdin) and friends are closed at once.
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        // A child blocked writing to a pipe nobody reads would never exit.
        drop((child.stdin.take(), child.stdout.take(), child.stderr.take()));
        child.wait().await
    }

    /// Spawns the child and collects its exit status and everything it wrote. As in std, stdout
    /// and stderr are captured and stdin is empty unless set otherwise; unlike std, those
    /// choices stay on the command for later spawns (as in tokio).
    pub async fn output(&mut self) -> io::Result<Output> {
        if !self.stdin_set {
            self.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.stderr(Stdio::piped());
        }
        self.spawn()?.wait_with_output().await
    }
}
