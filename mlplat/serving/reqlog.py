"""Asynchronous request logging for monitoring: sampled, bounded, rotating JSON-lines files.

The request path serializes its record (one `orjson.dumps`, a few µs) and appends the bytes to a
bounded deque (a full one drops the record and counts it); a daemon thread wakes a few times a
second and writes what has accumulated. A writer woken per record (a `queue.Queue`, a flush each,
rows serialized on the thread) cost more CPU than scoring the request and, holding the GIL for
whole batches, doubled the p99 latency. A file is written as `*.jsonl.part` and renamed to
`*.jsonl` when it rotates (by size or age) or the server stops, so readers only ever see complete
files. One line per scored request, columnar like the validated inputs:

    {"ts": "2026-11-27T21:00:00.123456+00:00", "request_id": "9f1c...",
     "model_name": "telco-churn-lgbm", "model_version": "3", "latency_ms": 1.9, "rows": 2,
     "inputs": {"plan": ["basic", "pro"], ...}, "predictions": [0.21, 0.64]}
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import numpy as np


def record_line(
    request_id: str,
    model_name: str,
    model_version: str,
    latency_ms: float,
    inputs: Mapping[str, Sequence[Any]],
    predictions: Sequence[Any] | np.ndarray,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """One request as one JSON line (the format `mlplat monitor` reads); `extra` adds fields
    (an online experiment's arm, key and status)."""
    record = {
        "ts": dt.datetime.now(dt.UTC),
        "request_id": request_id,
        "model_name": model_name,
        "model_version": model_version,
        "latency_ms": latency_ms,
        "rows": len(predictions),
        "inputs": inputs,
        "predictions": predictions,
        **(extra or {}),
    }
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE)


class RotatingWriter:
    def __init__(self, directory: Path, max_bytes: int, max_seconds: float) -> None:
        self.directory, self.max_bytes, self.max_seconds = directory, max_bytes, max_seconds
        self.directory.mkdir(parents=True, exist_ok=True)
        self.handle: IO[bytes] | None = None
        self.path: Path | None = None
        self.opened = 0.0
        self.seq = self.size = 0

    def write(self, data: bytes) -> None:
        if self.handle is None:
            self._open()
        assert self.handle is not None
        self.handle.write(data)
        self.size += len(data)
        if self.size >= self.max_bytes:
            self.close()

    def flush(self) -> None:
        if self.handle is not None:
            self.handle.flush()

    def tick(self) -> None:
        if self.handle is not None and time.monotonic() - self.opened >= self.max_seconds:
            self.close()

    def _open(self) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        self.seq += 1
        self.path = self.directory / f"requests-{stamp}-{os.getpid()}-{self.seq:04d}.jsonl.part"
        self.handle = self.path.open("ab")
        self.opened, self.size = time.monotonic(), 0

    def close(self) -> None:
        if self.handle is None or self.path is None:
            return
        self.handle.close()
        os.replace(self.path, self.path.with_suffix(""))  # drop ".part": the file is complete
        self.handle = self.path = None


class RequestLogger:
    """`log` never blocks and never raises; `on_drop`/`on_write` feed the metrics."""

    def __init__(
        self,
        directory: Path,
        sample: float,
        queue_size: int,
        max_bytes: int,
        max_seconds: float,
        on_drop: Callable[[], None],
        on_write: Callable[[int], None],
        interval: float = 0.05,
    ) -> None:
        self.sample, self.capacity, self.interval = sample, queue_size, interval
        self.pending: deque[bytes] = deque()
        self.writer = RotatingWriter(directory, max_bytes, max_seconds)
        self.on_drop, self.on_write = on_drop, on_write
        # Unique per process without a syscall per request (uuid4 reads os.urandom each time).
        self.prefix, self.counter = secrets.token_hex(8), itertools.count()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mlplat-request-log", daemon=True)
        self.thread.start()

    def log(
        self,
        model_name: str,
        model_version: str,
        latency_ms: float,
        inputs: Mapping[str, Sequence[Any]],
        predictions: Sequence[Any] | np.ndarray,
        request_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Log a sampled share of requests; a full buffer or an unserializable value drops it."""
        if self.sample < 1.0 and random.random() >= self.sample:
            return
        # deque appends are atomic: the event loop and a shadow thread may both log
        if len(self.pending) >= self.capacity:
            self.on_drop()
            return
        try:
            line = record_line(
                request_id or self.new_id(),
                model_name,
                model_version,
                latency_ms,
                inputs,
                predictions,
                extra,
            )
        except TypeError:
            self.on_drop()
            return
        self.pending.append(line)

    def new_id(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            self._drain()
        self._drain()
        self.writer.close()

    def _drain(self) -> None:
        written = 0
        while self.pending:
            line = self.pending.popleft()
            try:
                self.writer.write(line)
                written += 1
            except OSError:  # a full disk must not take the server down; count as dropped
                self.on_drop()
        if written:  # one flush and one metrics update per batch, not per record
            self.writer.flush()
            self.on_write(written)
        self.writer.tick()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending, close the file (renaming it complete) and stop the thread."""
        self.stopping.set()
        self.thread.join(timeout)
