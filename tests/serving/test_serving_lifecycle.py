"""SIGTERM with requests in flight: every one of them is answered, then the server exits 0."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.serving_support import bundle_dir, running_server, sample_split, shared_project

pytestmark = pytest.mark.slow  # a real server on a trained bundle

IN_FLIGHT = 6


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_project(tmp_path_factory)


def _open_request(port: int, body: bytes, sent: int) -> socket.socket:
    """A request whose headers and first bytes are sent: the server is already serving it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:sent])
    return sock


def _finish(sock: socket.socket, rest: bytes) -> int:
    sock.sendall(rest)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection before answering"
        data += chunk
    sock.close()
    return int(data.split(b" ", 2)[1])


def test_sigterm_lets_in_flight_requests_finish(root: Path) -> None:
    body = json.dumps({"dataframe_split": sample_split(root, rows=20)}).encode()
    half = len(body) // 2
    with running_server(root, "--model", str(bundle_dir(root)), "--poll-interval", "0") as (
        proc,
        port,
    ):
        socks = [_open_request(port, body, half) for _ in range(IN_FLIGHT)]
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert proc.poll() is None, "the server must wait for its in-flight requests"
        statuses = [_finish(sock, body[half:]) for sock in socks]
        assert statuses == [200] * IN_FLIGHT
        assert proc.wait(30) == 0
        with pytest.raises(OSError):  # and it no longer accepts connections
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
