"""`mlplat bench --rate`: the open loop against a stub server on 127.0.0.1 that stalls once.

A stub (not `mlplat serve`) because the stall must be known to the millisecond: the test pins
that latency counts from the schedule, so a stall shows in the open loop's percentiles and not
in the closed loop's (coordinated omission).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlplat.core.errors import ConfigError
from mlplat.serving.bench import MAX_RATE, check_target, run_bench
from tests.conftest import mlplat
from tests.serving_support import env_for

STALL_AFTER, STALL = 0.5, 0.4  # seconds after the first request; how long the stub stalls


class Stalling(BaseHTTPRequestHandler):
    """Answers at once, except that everything arriving in the stall window waits it out."""

    protocol_version = "HTTP/1.1"  # keep-alive, as `mlplat serve`
    disable_nagle_algorithm = True  # head and body are two writes: no 40 ms delayed-ACK wait
    first: float | None = None

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        now = time.perf_counter()
        first = Stalling.first = Stalling.first or now
        if first + STALL_AFTER <= now < first + STALL_AFTER + STALL:
            time.sleep(first + STALL_AFTER + STALL - now)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        """Quiet: the test reads the bench's figures, not the stub's log."""


@pytest.fixture
def stalling() -> Iterator[str]:
    Stalling.first = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/invocations"
    server.shutdown()
    server.server_close()


def test_open_loop_keeps_its_rate_and_shows_a_stall(stalling: str) -> None:
    """At 200/s for 1.5 s, the 80 requests due in the 0.4 s stall wait for it: from the
    schedule, well over 1% of the requests take 100 ms or more, so the p99 shows the stall."""
    found = run_bench(stalling, b"{}", concurrency=4, duration=1.5, rate=200).summary()
    assert found["rate"] == 200 and found["errors"] == 0
    assert found["unsent"] <= 2 and 0.98 * 200 <= found["achieved_rate"] <= 200
    assert found["p99_ms"] >= 0.5 * STALL * 1000, found


def test_closed_loop_hides_the_same_stall(stalling: str) -> None:
    """The contrast the open loop exists for: 4 connections stuck for the stall are 4 slow
    requests among thousands, so the closed loop's p99 misses what its max still sees."""
    found = run_bench(stalling, b"{}", concurrency=4, duration=1.5).summary()
    assert found["max_ms"] >= 0.9 * STALL * 1000 and found["p99_ms"] < 0.25 * STALL * 1000, found
    assert "rate" not in found


@pytest.mark.parametrize(
    "rate",
    [
        pytest.param(0.0, id="zero"),
        pytest.param(-5.0, id="negative"),
        pytest.param(MAX_RATE * 10, id="absurd"),
        pytest.param(math.nan, id="nan"),
    ],
)
def test_a_rate_out_of_range_is_refused(rate: float) -> None:
    with pytest.raises(ConfigError, match="--rate") as caught:
        check_target("http://127.0.0.1:5000/invocations", 1.0, 1, rate)
    assert caught.value.key == "rate"


def test_the_cli_exits_2_naming_rate(tmp_path: Path) -> None:
    payload = tmp_path / "p.json"
    payload.write_text("{}")
    args = ("--url", "http://127.0.0.1:9/invocations", "--payload", str(payload), "--rate", "0")
    done = mlplat("bench", *args, cwd=tmp_path, env=env_for(tmp_path))
    assert done.returncode == 2 and "--rate" in done.stderr, done.stderr
