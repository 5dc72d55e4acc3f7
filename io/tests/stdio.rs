//! `minireactor_io::stdio`: the standard streams go through the blocking pool and never set
//! `O_NONBLOCK`, which lives in the open file description shared with the parent (a shell would
//! find its terminal non-blocking after we exit). Each test runs the handles in a child process
//! (this test binary, re-executed) whose fds 0, 1, 2 are a pty or pipes the parent also holds,
//! and the parent checks the flag on its own fd of the same description.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use minireactor_io::stdio::{stderr, stdin, stdout};
use util::{is_nonblocking, on_thread_with_watchdog, set_nonblocking};

const CHILD_ENV: &str = "MINIREACTOR_IO_STDIO_CHILD";
const WATCHDOG: Duration = Duration::from_secs(60);

/// This binary, re-executed to run only the ignored test `name`.
fn child(name: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--ignored", "--exact", name, "--nocapture"])
        .env(CHILD_ENV, "1");
    command
}

fn assert_in_child() {
    assert!(
        std::env::var_os(CHILD_ENV).is_some(),
        "run by the parent test only"
    );
}

/// Kills the child on drop, so a failing assertion does not leave it running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Printable bytes with a newline every 80, so stdout's line buffer is crossed many times.
fn text_payload(len: usize) -> Vec<u8> {
    util::pattern(len, 9)
        .into_iter()
        .enumerate()
        .map(|(i, byte)| {
            if i % 81 == 80 {
                b'\n'
            } else {
                b'a' + byte % 26
            }
        })
        .collect()
}

/// The bytes between `<<BEGIN>>` and `<<END>>` in what `reader` yields, reading no further
/// than the end marker (the parent holds a write end too, so there is no end of file).
fn read_between_markers(mut reader: impl Read) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut chunk = [0; 8192];
    loop {
        if let Some(begin) = find(&seen, b"<<BEGIN>>") {
            let body = &seen[begin + 9..];
            if let Some(end) = find(body, b"<<END>>") {
                return body[..end].to_vec();
            }
        }
        let n = reader.read(&mut chunk).unwrap();
        assert!(n > 0, "end of output before the end marker: {seen:?}");
        seen.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The child's side: reads a line through `stdin()`, first abandoning a read that times out.
#[test]
#[ignore = "entry point of the child process of stdin_reads_a_pty_without_setting_o_nonblock"]
fn stdin_child_reads_a_line() {
    assert_in_child();
    minireactor::block_on(async {
        let mut input = stdin();
        let mut buf = [0; 64];
        // Nothing written yet: the read times out and its future is dropped, while the read
        // itself stays blocked on a pool thread. Its bytes must reach the next read.
        let early = minireactor::time::timeout(Duration::from_millis(50), input.read(&mut buf));
        assert!(early.await.is_err(), "read before the parent wrote");
        println!("<<WAITING>>");
        let mut line = Vec::new();
        while !line.ends_with(b"\n") {
            let n = input.read(&mut buf).await.unwrap();
            assert!(n > 0, "end of input before the newline");
            line.extend_from_slice(&buf[..n]);
        }
        println!("<<LINE>>{}", String::from_utf8(line).unwrap().trim_end());
    });
}

#[test]
fn stdin_reads_a_pty_without_setting_o_nonblock() {
    on_thread_with_watchdog(WATCHDOG, || {
        let (mut master, slave) = util::openpty_raw().unwrap();
        assert!(!is_nonblocking(slave.as_fd()));
        // The child's fd 0 is a dup of `slave`: the same open file description.
        let spawned = child("stdin_child_reads_a_line")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut child = KillOnDrop(spawned);
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let mut next_marked_line = || {
            lines
                .by_ref()
                .map(Result::unwrap)
                .find(|line| line.contains("<<"))
                .expect("the child stopped before its next marker")
        };

        assert!(next_marked_line().contains("<<WAITING>>"));
        master.write_all(b"hello through the pty\n").unwrap();
        assert!(next_marked_line().contains("<<LINE>>hello through the pty"));
        let status = child.0.wait().unwrap();
        assert!(status.success(), "child failed: {status}");

        assert!(
            !is_nonblocking(slave.as_fd()),
            "the child's stdin() left O_NONBLOCK set on the shared pty"
        );
        // And the check can see it: the flag set through another fd of the description shows.
        set_nonblocking(slave.try_clone().unwrap().as_fd());
        assert!(is_nonblocking(slave.as_fd()));
    });
}

/// The child's side: a large text through `stdout()` (more than a pipe holds, and ending without
/// a newline, so only the flush pushes out the last line), a short one through `stderr()`.
#[test]
#[ignore = "entry point of the child process of stdout_and_stderr_write_pipes_without_setting_o_nonblock"]
fn stdout_child_writes() {
    assert_in_child();
    minireactor::block_on(async {
        let mut out = stdout();
        out.write_all(b"<<BEGIN>>").await.unwrap();
        out.write_all(&text_payload(200_000)).await.unwrap();
        out.write_all(b"<<END>>").await.unwrap();
        out.flush().await.unwrap();
        let mut err = stderr();
        err.write_all(b"<<BEGIN>>to stderr<<END>>").await.unwrap();
        err.flush().await.unwrap();
    });
}

#[test]
fn stdout_and_stderr_write_pipes_without_setting_o_nonblock() {
    on_thread_with_watchdog(WATCHDOG, || {
        let (out_reader, out_writer) = std::io::pipe().unwrap();
        let (err_reader, err_writer) = std::io::pipe().unwrap();
        // The child's fds 1 and 2 are dups of the write ends the parent keeps.
        let spawned = child("stdout_child_writes")
            .stdout(Stdio::from(out_writer.try_clone().unwrap()))
            .stderr(Stdio::from(err_writer.try_clone().unwrap()))
            .spawn()
            .unwrap();
        let mut child = KillOnDrop(spawned);
        // Read both concurrently: the child blocks on a full pipe until the parent reads.
        let err_thread = std::thread::spawn(move || read_between_markers(err_reader));
        let out = read_between_markers(out_reader);
        let err = err_thread.join().unwrap();
        let status = child.0.wait().unwrap();
        assert!(status.success(), "child failed: {status}");

        assert!(out == text_payload(200_000), "stdout bytes differ");
        assert_eq!(err, b"to stderr");
        assert!(
            !is_nonblocking(out_writer.as_fd()),
            "stdout() left O_NONBLOCK set on the shared pipe"
        );
        assert!(
            !is_nonblocking(err_writer.as_fd()),
            "stderr() left O_NONBLOCK set on the shared pipe"
        );
    });
}
