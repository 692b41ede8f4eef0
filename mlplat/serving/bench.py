"""`mlplat bench`: a load generator over keep-alive connections, closed or open loop.

Closed loop (Apache Bench): each of `concurrency` connections sends the same request back to back
until the deadline (or the request cap): the server's maximum throughput. Open loop (`rate`, as
wrk2): request i is due at i / rate seconds whatever the responses; the next free connection
sends it, and its latency counts from when it was due, not from when it went out. A closed loop
measuring a stall sends fewer requests during it and so hides it from the percentiles
("coordinated omission"); measured from the schedule, every request due during a stall carries
the wait. Latencies, statuses and the model version each response names are kept, so a run
that crosses a model swap can report failures and the latency spike around it.
Loopback only: this is a measuring tool, not a load-testing service.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mlplat.core.errors import ConfigError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_DURATION, MAX_CONCURRENCY, MAX_REQUESTS = 600.0, 256, 10_000_000
MAX_RATE = 100_000.0  # requests per second: well above what one Python client can send


@dataclass(frozen=True)
class Sample:
    start: float  # seconds since the run began
    latency: float  # seconds
    status: int  # 0: connection error
    version: str


@dataclass(frozen=True)
class Schedule:
    """An open loop's plan: `planned` requests, one every 1 / `rate` seconds."""

    rate: float  # requests per second
    planned: int

    @classmethod
    def of(cls, rate: float, duration: float, max_requests: int) -> Schedule:
        return cls(rate, min(max_requests, math.ceil(rate * duration)))

    def due(self, index: int) -> float:
        """Seconds after the start at which request `index` is due."""
        return index / self.rate

    def summary(self, sent: int) -> dict[str, Any]:
        """The requested and the achieved sending rate: a server (or a client) too slow for the
        schedule leaves requests unsent when the run ends."""
        return {
            "rate": self.rate,
            "achieved_rate": sent / (self.planned / self.rate) if self.planned else 0.0,
            "unsent": self.planned - sent,
        }


@dataclass
class BenchResult:
    samples: list[Sample] = field(default_factory=list)
    elapsed: float = 0.0
    swap_at: float | None = None
    schedule: Schedule | None = None

    def summary(self) -> dict[str, Any]:
        ok = [s.latency for s in self.samples if 200 <= s.status < 300]
        errors = len(self.samples) - len(ok)
        out: dict[str, Any] = {
            "requests": len(self.samples),
            "errors": errors,
            "qps": len(self.samples) / self.elapsed if self.elapsed else 0.0,
            **{
                f"{name}_ms": percentile(ok, q) * 1000
                for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
            },
            "statuses": dict(Counter(str(s.status) for s in self.samples)),
            "versions": dict(Counter(s.version for s in self.samples)),
        }
        if self.schedule is not None:
            out.update(self.schedule.summary(len(self.samples)))
        if self.swap_at is not None:
            out.update(self.swap_summary())
        return out

    def swap_summary(self) -> dict[str, Any]:
        """Failures after the alias moved, when the new version first answered, worst latency."""
        assert self.swap_at is not None
        after = [s for s in self.samples if s.start >= self.swap_at]
        before_versions = {s.version for s in self.samples if s.start < self.swap_at}
        new = [s for s in after if s.version not in before_versions and s.status == 200]
        first_new = min((s.start + s.latency for s in new), default=math.nan)
        window = [s.latency for s in after if s.start <= (first_new if new else math.inf) + 1.0]
        return {
            "swap_at_s": self.swap_at,
            "swap_failed_requests": sum(1 for s in after if s.status != 200),
            "swap_seconds": first_new - self.swap_at,
            "swap_max_latency_ms": max(window, default=0) * 1000,
        }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def check_target(
    url: str, duration: float, concurrency: int, rate: float | None = None
) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        raise ConfigError(f"bench only targets http://127.0.0.1 (loopback), not '{url}'", key="url")
    if not 0 < duration <= MAX_DURATION:
        raise ConfigError(f"duration must be in (0, {MAX_DURATION:g}] seconds", key="duration")
    if not 0 < concurrency <= MAX_CONCURRENCY:
        raise ConfigError(f"concurrency must be in [1, {MAX_CONCURRENCY}]", key="concurrency")
    if rate is not None and not 0 < rate <= MAX_RATE:  # NaN fails the comparison too
        raise ConfigError(
            f"--rate must be in (0, {MAX_RATE:g}] requests per second, not {rate:g}", key="rate"
        )
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"


def build_request(host: str, port: int, path: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, str]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("x-model-version", "")


class _Run:
    def __init__(
        self,
        host: str,
        port: int,
        request: bytes,
        duration: float,
        max_requests: int,
        schedule: Schedule | None,
    ) -> None:
        self.host, self.port, self.request = host, port, request
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + duration
        self.left = max_requests if schedule is None else schedule.planned
        self.schedule, self.taken = schedule, 0
        self.samples: list[Sample] = []

    async def _next(self) -> float | None:
        """When the next request counts from: now (closed loop), or when it is due (open loop,
        after waiting for it); None once the run is over."""
        now = time.perf_counter()
        if now >= self.deadline or self.left <= 0:
            return None
        self.left -= 1
        if self.schedule is None:
            return now
        due = self.t0 + self.schedule.due(self.taken)
        self.taken += 1
        if due > now:
            await asyncio.sleep(due - now)
        return due

    async def connection(self) -> None:
        reader = writer = None
        while (start := await self._next()) is not None:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(self.request)
                status, version = await _read_response(reader)  # type: ignore[arg-type]
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                status, version = 0, ""
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)  # a refused connection must not spin
            self.samples.append(
                Sample(start - self.t0, time.perf_counter() - start, status, version)
            )
        if writer is not None:
            writer.close()


async def _run(
    host: str,
    port: int,
    request: bytes,
    concurrency: int,
    duration: float,
    max_requests: int,
    swap: Callable[[], None] | None,
    schedule: Schedule | None,
) -> BenchResult:
    run = _Run(host, port, request, duration, max_requests, schedule)
    result = BenchResult(schedule=schedule)
    tasks = [asyncio.create_task(run.connection()) for _ in range(concurrency)]
    if swap is not None:
        await asyncio.sleep(duration / 2)
        result.swap_at = time.perf_counter() - run.t0
        await asyncio.to_thread(swap)
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - run.t0
    result.samples = run.samples
    return result


def run_bench(
    url: str,
    body: bytes,
    *,
    concurrency: int = 8,
    duration: float = 10.0,
    content_type: str = "application/json",
    max_requests: int = MAX_REQUESTS,
    swap: Callable[[], None] | None = None,
    rate: float | None = None,
) -> BenchResult:
    """Load for `duration` seconds, closed loop or (with `rate`) open loop; `swap` (if given)
    is called at half time."""
    host, port, path = check_target(url, duration, concurrency, rate)
    request = build_request(host, port, path, body, content_type)
    schedule = None if rate is None else Schedule.of(rate, duration, max_requests)
    return asyncio.run(
        _run(host, port, request, concurrency, duration, max_requests, swap, schedule)
    )


def slo_breaches(summary: dict[str, Any], p99_ms: float, min_qps: float) -> list[str]:
    out = []
    if not summary["p99_ms"] <= p99_ms:
        out.append(f"p99 {summary['p99_ms']:.2f} ms > {p99_ms:g} ms")
    if summary["qps"] < min_qps:
        out.append(f"QPS {summary['qps']:.0f} < {min_qps:g}")
    if summary["errors"]:
        out.append(f"{summary['errors']} failed requests")
    return out


@dataclass(frozen=True)
class HealthUnderLoad:
    """`/health` latency (a fresh connection per probe, as a kubelet's) while `clients`
    connections send one large request after another."""

    probes: list[float]  # seconds; a probe that failed or timed out counts as its timeout
    loads: list[Sample]

    def summary(self) -> dict[str, Any]:
        big = [s.latency for s in self.loads if 200 <= s.status < 300]
        return {
            "health_probes": len(self.probes),
            **{
                f"health_{name}_ms": round(percentile(self.probes, q) * 1000, 1)
                for name, q in (("p50", 50), ("p99", 99), ("max", 100))
            },
            "load_requests": len(self.loads),
            "load_p50_s": round(percentile(big, 50), 2),
            "load_statuses": dict(Counter(str(s.status) for s in self.loads)),
        }


def _probe(host: str, port: int, path: str, timeout: float) -> float:
    import http.client

    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        ok = response.status == 200
    except OSError:
        ok = False
    finally:
        conn.close()
    return time.perf_counter() - started if ok else timeout


def _load(host: str, port: int, request: bytes, until: float, out: list[Sample]) -> None:
    """One client sending `request` back to back (blocking sockets: this runs in a thread)."""
    import socket

    t0 = time.perf_counter()
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            with socket.create_connection((host, port), timeout=120) as sock:
                sock.sendall(request)
                reader = sock.makefile("rb")
                status = int(reader.readline().split()[1])
                length = 0
                for line in iter(reader.readline, b"\r\n"):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                reader.read(length)
        except (OSError, ValueError, IndexError):
            status = 0
        out.append(Sample(started - t0, time.perf_counter() - started, status, ""))


def health_under_load(
    url: str,
    body: bytes,
    *,
    content_type: str = "application/json",
    clients: int = 3,
    seconds: float = 10.0,
    interval: float = 0.05,
    health_path: str = "/health",
    timeout: float = 10.0,
) -> HealthUnderLoad:
    """Probe `health_path` every `interval` seconds while `clients` threads post `body` to `url`."""
    import threading

    host, port, path = check_target(url, seconds, clients)
    request = build_request(host, port, path, body, content_type)
    loads: list[Sample] = []
    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=_load, args=(host, port, request, until, loads), daemon=True)
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(min(1.0, seconds / 4))  # let the large requests arrive before probing
    probes = []
    while time.perf_counter() < until:
        probes.append(_probe(host, port, health_path, timeout))
        time.sleep(interval)
    for thread in threads:
        thread.join()
    return HealthUnderLoad(probes, loads)
