"""The request log: bounded (drops are counted, never block), rotating, complete files only."""

from __future__ import annotations

import json
import time
from pathlib import Path

from mlplat.serving.reqlog import LogRecord, RequestLogger

ROWS = 50


def record(i: int) -> LogRecord:
    inputs = {
        "plan": ["basic"] * ROWS,
        "age": [float(i)] * ROWS,
        "signup_date": ["2024-01-01"] * ROWS,
    }
    return LogRecord(time.time(), f"r{i}", "m", "1", 1.0, inputs, [0.5] * ROWS)


def test_full_queue_drops_and_counts_and_files_rotate(tmp_path: Path) -> None:
    counts = {"dropped": 0, "written": 0}

    def dropped() -> None:
        counts["dropped"] += 1

    def written(rows: int) -> None:
        counts["written"] += 1

    logger = RequestLogger(
        tmp_path,
        1.0,
        queue_size=1,
        max_bytes=5_000,
        max_seconds=60,
        on_drop=dropped,
        on_write=written,
    )
    submitted = 2000
    started = time.perf_counter()
    for i in range(submitted):
        logger.submit(record(i))
    submit_seconds = time.perf_counter() - started
    for i in range(3):  # an idle writer keeps up: these get through (and each rotates a file)
        time.sleep(0.3)
        logger.submit(record(i))
    submitted += 3
    logger.close()
    assert counts["dropped"] > 0  # a one-slot queue cannot keep up with 2000 quick submits
    assert counts["dropped"] + counts["written"] == submitted
    assert submit_seconds < 2.0  # submitting never waited for the writer
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) > 1 and not list(tmp_path.glob("*.part"))  # rotated, all complete
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert len(lines) == counts["written"] * ROWS
    assert set(lines[0]) == {
        "ts",
        "request_id",
        "model_name",
        "model_version",
        "row",
        "latency_ms",
        "inputs",
        "prediction",
    }
