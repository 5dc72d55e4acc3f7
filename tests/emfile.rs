//! Regression: out of file descriptors, the echo server must back off instead of spinning on
//! `accept`, and serve again once fds are free. The server runs in a child process (this test
//! binary, re-executed) so that lowering its fd limit does not affect other tests.

mod util;

#[allow(dead_code)] // `main`, `echo` and the stats fields the tests do not read.
#[path = "../examples/echo.rs"]
mod echo_example;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

const CHILD_ENV: &str = "MINIREACTOR_EMFILE_CHILD";

/// The child's side: an echo server with at most 32 open files.
#[test]
#[ignore = "entry point of the child process of echo_server_backs_off_when_out_of_fds"]
fn emfile_child_server() {
    util::assert_run_by_parent(CHILD_ENV);
    util::set_open_file_limit(32);
    minireactor::block_on(async {
        let listener = minireactor::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        println!("listening on {}", listener.local_addr().unwrap());
        let stats = Rc::new(echo_example::Stats::default());
        let never_stop = minireactor::sync::CancellationToken::new();
        echo_example::serve(listener, stats, never_stop).await;
    });
}

/// Kills the child on drop, so a failing assertion does not leave it running.
struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn echo_server_backs_off_when_out_of_fds() {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "emfile_child_server", "--nocapture"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    let addr = stdout
        .lines()
        .map(Result::unwrap)
        .find_map(|line| line.strip_prefix("listening on ").map(str::to_string))
        .expect("the child server did not start");

    // Far more connections than the child has fds: the kernel queues them in the backlog and
    // the child's accept fails with EMFILE.
    let mut clients: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300)); // Let it reach the limit.

    let pid = child.0.id();
    let before = util::process_cpu_time(pid);
    std::thread::sleep(Duration::from_secs(2));
    let spent = util::process_cpu_time(pid) - before;
    // Spinning on accept would burn the whole 2 s; backing off costs next to nothing. The bound
    // is generous for a loaded CI machine.
    assert!(
        spent < Duration::from_millis(500),
        "server burned {spent:?} of CPU in 2 s"
    );

    // Free fds: the server must pick up the queued connections and serve the last one.
    clients.drain(..40);
    let last = clients.last_mut().unwrap();
    last.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    last.write_all(b"ping").unwrap();
    let mut reply = [0; 4];
    last.read_exact(&mut reply)
        .expect("served again once fds were free");
    assert_eq!(&reply, b"ping");
}
