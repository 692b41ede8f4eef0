"""The request log: bounded (drops are counted, never block), rotating, complete files only."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from mlplat.serving.reqlog import RequestLogger

ROWS = 50


def inputs(i: int) -> dict[str, list]:
    return {
        "plan": ["basic"] * ROWS,
        "age": [float(i)] * ROWS,
        "signup_date": ["2024-01-01"] * ROWS,
    }


def test_full_buffer_drops_and_counts_and_files_rotate(tmp_path: Path) -> None:
    counts = {"dropped": 0, "written": 0}

    def dropped() -> None:
        counts["dropped"] += 1

    def written(records: int) -> None:
        counts["written"] += records

    logger = RequestLogger(
        tmp_path,
        1.0,
        queue_size=1,
        max_bytes=1_500,
        max_seconds=60,
        on_drop=dropped,
        on_write=written,
    )
    submitted = 2000
    started = time.perf_counter()
    for i in range(submitted):
        logger.log("m", "1", 1.0, inputs(i), [0.5] * ROWS)
    submit_seconds = time.perf_counter() - started
    for i in range(3):  # an idle writer keeps up: these get through (and each rotates a file)
        time.sleep(0.3)
        logger.log("m", "1", 1.0, inputs(i), [0.5] * ROWS)
    submitted += 3
    logger.close()
    assert counts["dropped"] > 0  # a one-record buffer cannot keep up with 2000 quick submits
    assert counts["dropped"] + counts["written"] == submitted
    assert submit_seconds < 2.0  # submitting never waited for the writer
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) > 1 and not list(tmp_path.glob("*.part"))  # rotated, all complete
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert len(lines) == counts["written"]
    assert set(lines[0]) == {
        "ts",
        "request_id",
        "model_name",
        "model_version",
        "latency_ms",
        "rows",
        "inputs",
        "predictions",
    }
    assert lines[0]["rows"] == ROWS and lines[0]["inputs"]["plan"] == ["basic"] * ROWS
    assert len({line["request_id"] for line in lines}) == len(lines)


def test_sampling_keeps_about_its_share(tmp_path: Path) -> None:
    written: list[int] = []
    logger = RequestLogger(tmp_path, 0.25, 10_000, 10**9, 60, print, written.append)
    for i in range(2000):
        logger.log("m", "1", 1.0, inputs(i), np.full(ROWS, 0.5))  # numpy predictions serialize
    logger.close()
    lines = [json.loads(x) for f in tmp_path.glob("*.jsonl") for x in f.read_text().splitlines()]
    assert 350 < len(lines) < 650 and sum(written) == len(lines)  # about a quarter of 2000
    assert lines[0]["predictions"] == [0.5] * ROWS


def test_an_unserializable_record_is_dropped_and_counted_not_raised(tmp_path: Path) -> None:
    dropped: list[int] = []
    logger = RequestLogger(tmp_path, 1.0, 10_000, 10**9, 60, lambda: dropped.append(1), print)
    logger.log("m", "1", 1.0, {"plan": [object()]}, [0.5])  # cannot be JSON
    logger.log("m", "1", 1.0, {"plan": ["basic"]}, [0.5])
    logger.close()
    lines = [json.loads(x) for f in tmp_path.glob("*.jsonl") for x in f.read_text().splitlines()]
    assert dropped == [1]
    assert [line["inputs"] for line in lines] == [{"plan": ["basic"]}]
