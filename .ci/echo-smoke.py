"""Smoke test for examples/echo: start it, echo a few messages, stop it with SIGINT.

Usage: python3 .ci/echo-smoke.py PATH_TO_ECHO_BINARY [WRAPPER...]
Checks the `listening on` line, that every byte comes back, and that SIGINT ends the server
with exit status 0 and its one-line summary. Not a benchmark. With a WRAPPER command (e.g.
`valgrind --error-exitcode=1 ...`) the server runs under it, the wrapper's exit status is the one
checked, and the timeouts are ten times as long.
"""

import signal
import socket
import subprocess
import sys

wrapper = sys.argv[2:]
timeout = 100 if wrapper else 10
server = subprocess.Popen(
    [*wrapper, sys.argv[1], "127.0.0.1:0"], stdout=subprocess.PIPE, text=True
)
try:
    first = server.stdout.readline().strip()
    assert first.startswith("listening on "), f"unexpected first line: {first!r}"
    host, port = first.removeprefix("listening on ").rsplit(":", 1)
    total = 0
    for i in range(3):
        with socket.create_connection((host, int(port)), timeout=timeout) as conn:
            message = (b"smoke test %d " % i) * 1000
            conn.sendall(message)
            conn.shutdown(socket.SHUT_WR)
            echoed = b""
            while chunk := conn.recv(65536):
                echoed += chunk
            assert echoed == message, f"connection {i}: echo differs"
            total += len(message)
    server.send_signal(signal.SIGINT)
    status = server.wait(timeout=timeout)
    summary = server.stdout.read().strip()
    assert status == 0, f"exit status {status}"
    expected = f"shutting down: served 3 connections, echoed {total} bytes"
    assert summary == expected, f"{summary!r} != {expected!r}"
    print(f"echo smoke test: ok ({summary})")
finally:
    if server.poll() is None:
        server.kill()
