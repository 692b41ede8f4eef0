"""Asynchronous request logging for monitoring: sampled, bounded, rotating JSON-lines files.

The request path only does `queue.put_nowait` (a full queue drops the record and counts it); a
daemon thread serializes and writes. A file is written as `*.jsonl.part` and renamed to `*.jsonl`
when it rotates (by size or age) or the server stops, so readers only ever see complete files.
One line per scored row:

    {"ts": "2026-11-27T21:00:00.123456+00:00", "request_id": "9f1c...",
     "model_name": "telco-churn-lgbm", "model_version": "3", "row": 0, "latency_ms": 1.9,
     "inputs": {"plan": "basic", ...}, "prediction": 0.21}
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

STOP = object()


@dataclass(frozen=True)
class LogRecord:
    ts: float
    request_id: str
    model_name: str
    model_version: str
    latency_ms: float
    inputs: dict[str, list[Any]]
    predictions: list[float]

    def lines(self) -> bytes:
        stamp = dt.datetime.fromtimestamp(self.ts, dt.UTC).isoformat()
        names = list(self.inputs)
        out = []
        for row, prediction in enumerate(self.predictions):
            out.append(
                orjson.dumps(
                    {
                        "ts": stamp,
                        "request_id": self.request_id,
                        "model_name": self.model_name,
                        "model_version": self.model_version,
                        "row": row,
                        "latency_ms": self.latency_ms,
                        "inputs": {n: self.inputs[n][row] for n in names},
                        "prediction": prediction,
                    }
                )
            )
        return b"\n".join(out) + b"\n"


class RotatingWriter:
    def __init__(self, directory: Path, max_bytes: int, max_seconds: float) -> None:
        self.directory, self.max_bytes, self.max_seconds = directory, max_bytes, max_seconds
        self.directory.mkdir(parents=True, exist_ok=True)
        self.handle: IO[bytes] | None = None
        self.path: Path | None = None
        self.opened = 0.0
        self.seq = 0

    def write(self, data: bytes) -> None:
        if self.handle is None:
            self._open()
        assert self.handle is not None
        self.handle.write(data)
        if self.handle.tell() >= self.max_bytes:
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
        self.opened = time.monotonic()

    def close(self) -> None:
        if self.handle is None or self.path is None:
            return
        self.handle.close()
        os.replace(self.path, self.path.with_suffix(""))  # drop ".part": the file is complete
        self.handle = self.path = None


class RequestLogger:
    """`submit` never blocks and never raises; `on_drop`/`on_write` feed the metrics."""

    def __init__(
        self,
        directory: Path,
        sample: float,
        queue_size: int,
        max_bytes: int,
        max_seconds: float,
        on_drop: Callable[[], None],
        on_write: Callable[[int], None],
    ) -> None:
        self.sample = sample
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.writer = RotatingWriter(directory, max_bytes, max_seconds)
        self.on_drop, self.on_write = on_drop, on_write
        self.thread = threading.Thread(target=self._run, name="mlplat-request-log", daemon=True)
        self.thread.start()

    def wanted(self) -> bool:
        return self.sample >= 1.0 or random.random() < self.sample

    def submit(self, record: LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.on_drop()

    def _run(self) -> None:
        while True:
            try:
                item = self.queue.get(timeout=1.0)
            except queue.Empty:
                self.writer.tick()
                continue
            if item is STOP:
                self.writer.close()
                return
            try:
                self.writer.write(item.lines())
                self.on_write(len(item.predictions))
            except Exception:  # a full disk must not take the server down; count as dropped
                self.on_drop()
            if self.queue.empty():  # flush when idle, not per record: writes stay cheap
                self.writer.flush()
            self.writer.tick()

    def close(self, timeout: float = 5.0) -> None:
        """Drain what is queued, close the file (renaming it complete) and stop the thread."""
        self.queue.put(STOP, timeout=timeout)
        self.thread.join(timeout)
