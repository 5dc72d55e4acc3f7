//! After `fork`, a child that keeps using minireactor gets a reactor of its own; what it inherited
//! from the parent fails clearly instead of sharing (and stealing from) the parent's epoll
//! instance, and the parent keeps every event.
//!
//! The forking runs in a re-executed copy of this binary, where no other test thread can hold a
//! lock across the fork.

mod util;

use std::io::Write;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use minireactor::net::UnixStream;
use minireactor::time::{sleep, timeout};
use minireactor::Runtime;

const CHILD_ENV: &str = "MINIREACTOR_FORK_CHILD";

/// What the forked child checks; its exit code says which check failed (0: all passed).
fn child_checks(inherited_runtime: Runtime, inherited: UnixStream, peer: StdUnixStream) -> i32 {
    // 1. The inherited stream refuses to wait, with an error that says why.
    let waited = minireactor::block_on(async {
        timeout(Duration::from_secs(5), inherited.readable()).await
    });
    match waited {
        Ok(Err(err)) if err.to_string().contains("parent process before fork") => {}
        _ => return 1,
    }
    // 2. The inherited runtime refuses to run, saying why.
    let ran = catch_unwind(AssertUnwindSafe(|| inherited_runtime.block_on(async {})));
    let message = match ran {
        Err(payload) => payload.downcast::<String>().map(|m| *m).unwrap_or_default(),
        Ok(()) => return 2,
    };
    if !message.contains("parent process before fork") {
        return 3;
    }
    // 3. The child's own runtime has a fresh reactor: a timer and a socketpair work.
    let own = minireactor::block_on(async {
        let (a, b) = UnixStream::pair()?;
        sleep(Duration::from_millis(5)).await;
        a.write_all(b"child").await?;
        let mut buf = [0; 5];
        b.read(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    });
    if !matches!(own, Ok(buf) if &buf == b"child") {
        return 4;
    }
    // 4. Dropping what it inherited deletes nothing from the parent's epoll instance (the
    //    parent checks that it is still woken), and closes only the child's copies of the fds.
    drop(inherited);
    drop(inherited_runtime);
    drop(peer);
    0
}

#[test]
#[ignore = "entry point of the child process of forked_children_get_their_own_reactor"]
fn fork_child() {
    util::assert_run_by_parent(CHILD_ENV);
    let (ours, mut peer) = StdUnixStream::pair().unwrap();
    let runtime = Runtime::new().unwrap();
    let ours = runtime.block_on(async {
        let ours = UnixStream::from_std(ours).unwrap();
        sleep(Duration::from_millis(1)).await; // The parent's reactor has a timer behind it.
        ours
    });
    // After the fork the child has its own copy of this memory: it takes its copies out of the
    // cell (and drops them), while the parent's stay where they are.
    let inherited = std::cell::RefCell::new(Some((runtime, ours)));
    let child_peer = peer.try_clone().unwrap();
    let code = util::fork_and_wait(|| {
        let (runtime, ours) = inherited.borrow_mut().take().expect("the child's own copy");
        child_checks(runtime, ours, child_peer)
    });
    assert_eq!(code, 0, "the child's check {code} failed");
    // The parent keeps its events: a byte written now wakes its stream.
    let (runtime, ours) = inherited.borrow_mut().take().expect("the parent's own");
    peer.write_all(b"parent").unwrap();
    let got = runtime.block_on(async {
        let mut buf = [0; 6];
        let n = timeout(Duration::from_secs(5), ours.read(&mut buf))
            .await
            .expect("the parent's registration was lost to the child")
            .unwrap();
        buf[..n].to_vec()
    });
    assert_eq!(got, b"parent");
    println!("fork child: all checks passed");
}

#[test]
#[ignore = "entry point of the child process of a_forked_child_does_not_wait_for_the_parents_writes"]
fn fork_child_with_a_write_in_flight() {
    util::assert_run_by_parent(CHILD_ENV);
    let (mut reader, writer) = std::io::pipe().unwrap();
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        let writer = std::fs::File::from(std::os::fd::OwnedFd::from(writer));
        let mut file = minireactor::fs::File::from_std(writer);
        // More than the pipe holds, and nobody reads yet: the write stays in flight.
        file.write_all(&vec![1; 1 << 20]).await.unwrap();
    }); // The file is dropped: its write is owed to the runtime's drop.
    let inherited = std::cell::RefCell::new(Some(runtime));
    let code = util::fork_and_wait(|| {
        // The pool's threads are the parent's: nothing here would ever run the write.
        drop(inherited.borrow_mut().take().expect("the child's own copy"));
        0
    });
    assert_eq!(code, 0);
    let drainer = std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    drop(inherited.borrow_mut().take()); // Waits for the write, which the drainer lets finish.
    assert_eq!(drainer.join().unwrap().unwrap(), 1 << 20);
    println!("fork child: all checks passed");
}

/// Regression (a review): a child that dropped a runtime it inherited waited for ever for a
/// write its parent's pool had in flight, a thread the child does not have.
#[test]
fn a_forked_child_does_not_wait_for_the_parents_writes() {
    let stdout = util::assert_child_test_passes(
        "fork_child_with_a_write_in_flight",
        &[(CHILD_ENV, "1")],
        Duration::from_secs(60),
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[test]
fn forked_children_get_their_own_reactor() {
    let stdout =
        util::assert_child_test_passes("fork_child", &[(CHILD_ENV, "1")], Duration::from_secs(60));
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
