"""`POST /feedback`: outcomes streamed to a server, checked against what was served, stored.

A body is `{"outcomes": [{"request_id": "...", "label": ...}, ...]}` (a row of a multi-row
request is `<request id>/<row>`, as in `mlplat feedback`). It is checked whole before anything
is written: a bad field is a 422 naming it (`outcomes[2].label`), an id no arm logged a 404
naming it, and then nothing is stored. An accepted body becomes one file under
`online/<experiment>/outcomes/`, written atomically, which `mlplat feedback` joins.

Whether an id was served is answered first from a bounded map of the ids this process answered
recently. Another worker's ids (and this process's before a restart, or evicted from the map)
are looked up in the experiment's request log on disk, every worker's files, within the
lookback window: a read of the log per miss, so it costs more than a hit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mlplat.serving.errors import InputError, Problem

RECENT_IDS = 100_000  # request ids remembered per process (~10 MB); older ones go to the disk
MAX_OUTCOMES = 10_000  # outcomes in one body
MAX_ID = 256  # characters of a request id


@dataclass(frozen=True)
class Outcome:
    label_id: str  # a request id, or `<request id>/<row>`
    label: float | str


def covers(label_id: str, rid: str, rows: int) -> bool:
    """Whether a request of `rows` rows answered as `rid` is what `label_id` labels: the
    request itself when it had one row, else its row `<rid>/<row>`."""
    if label_id == rid:
        return rows == 1
    head, _, row = label_id.rpartition("/")
    return rows > 1 and head == rid and row.isdigit() and int(row) < rows


def request_id(label_id: str) -> str:
    """The request a label names (`<id>/<row>` a row of request `<id>`, if it had rows)."""
    head, _, row = label_id.rpartition("/")
    return head if head and row.isdigit() else label_id


class RecentIds:
    """Request id -> rows answered, for the last `capacity` requests this process answered."""

    def __init__(self, capacity: int = RECENT_IDS) -> None:
        self.capacity = capacity
        self.rows: OrderedDict[str, int] = OrderedDict()

    def add(self, rid: str, rows: int) -> None:
        self.rows[rid] = rows
        if len(self.rows) > self.capacity:
            self.rows.popitem(last=False)

    def knows(self, label_id: str) -> bool:
        return any(
            rid in self.rows and covers(label_id, rid, self.rows[rid])
            for rid in {label_id, request_id(label_id)}
        )


def logged_on_disk(directory: Path, label_ids: Iterable[str], lookback_hours: float) -> set[str]:
    """The label ids answered in the online log under `directory` (complete and open files of
    every worker, modified within the lookback window)."""
    wanted = set(label_ids)
    since = time.time() - lookback_hours * 3600
    found: set[str] = set()
    for file in directory.glob("*.jsonl*"):
        try:
            if file.stat().st_mtime < since:
                continue
            data = file.read_bytes()
        except FileNotFoundError:  # renamed complete meanwhile: the glob may list it again
            continue
        found.update(lid for lid in wanted - found if _answered(data, lid))
        if found == wanted:
            break
    return found


def _answered(data: bytes, label_id: str) -> bool:
    """Whether a line of `data` answered the request `label_id` labels (a byte search first:
    only the lines that name the id are parsed)."""
    for rid in {label_id, request_id(label_id)}:
        needle = b'"request_id":' + orjson.dumps(rid) + b","
        at = data.find(needle)
        while at >= 0:
            end = data.find(b"\n", at)
            line = data[data.rfind(b"\n", 0, at) + 1 : end if end >= 0 else len(data)]
            with contextlib.suppress(orjson.JSONDecodeError):  # an open file's last line
                record = orjson.loads(line)
                if record.get("status", 200) == 200 and covers(label_id, rid, record["rows"]):
                    return True
            at = data.find(needle, at + 1)
    return False


def parse(body: bytes) -> list[Outcome]:
    """The outcomes of a `/feedback` body; every bad field a Problem named by its path."""
    try:
        found = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(400, "bad_json", f"the body is not JSON: {exc}") from exc
    items = found.get("outcomes") if isinstance(found, dict) else None
    if not isinstance(items, list) or not items:
        raise InputError(
            422,
            "invalid_field",
            'the body must be {"outcomes": [{"request_id": ..., "label": ...}, ...]}',
            column="outcomes",
        )
    if len(items) > MAX_OUTCOMES:
        raise InputError(
            413, "too_many_outcomes", f"{len(items)} outcomes; at most {MAX_OUTCOMES} per body"
        )
    problems = [p for i, item in enumerate(items) for p in _problems(i, item)]
    if problems:
        raise InputError.of(422, problems[:100], len(problems))
    return [Outcome(item["request_id"], item["label"]) for item in items]


def _problems(i: int, item: Any) -> list[Problem]:
    where = f"outcomes[{i}]"
    if not isinstance(item, dict):
        return [Problem("invalid_field", "an outcome is an object", column=where)]
    out = []
    rid = item.get("request_id")
    if not isinstance(rid, str) or not 0 < len(rid) <= MAX_ID:
        message = f"request_id must be a string of 1 to {MAX_ID} characters"
        out.append(Problem("invalid_field", message, column=f"{where}.request_id"))
    label = item.get("label")
    number = isinstance(label, int | float) and not isinstance(label, bool)
    if not (number or (isinstance(label, str) and label)):  # JSON has no NaN: orjson refuses it
        message = "label must be a number or a class name"
        out.append(Problem("invalid_field", message, column=f"{where}.label"))
    out.extend(
        Problem("invalid_field", "unknown field", column=f"{where}.{key}")
        for key in sorted(set(item) - {"request_id", "label"})
    )
    return out


def unknown(outcomes: list[Outcome], unseen: set[str]) -> InputError:
    problems = [
        Problem(
            "unknown_request_id",
            f"no arm of this experiment answered request '{request_id(o.label_id)}'",
            column=f"outcomes[{i}].request_id",
        )
        for i, o in enumerate(outcomes)
        if o.label_id in unseen
    ]
    return InputError.of(404, problems[:100], len(problems))


class OutcomeWriter:
    """One file per accepted body: `outcomes-<UTC time>-<pid>-<seq>.jsonl`, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.counter = itertools.count(1)

    def write(self, outcomes: list[Outcome]) -> Path:
        from mlplat.core.io import atomic_path

        now = dt.datetime.now(dt.UTC)
        stamp = now.strftime("%Y%m%dT%H%M%S.%f")
        target = self.directory / f"outcomes-{stamp}-{os.getpid()}-{next(self.counter):06d}.jsonl"
        received = now.isoformat()
        lines = b"".join(
            orjson.dumps(
                {"label_id": o.label_id, "label": o.label, "received_at": received},
                option=orjson.OPT_APPEND_NEWLINE,
            )
            for o in outcomes
        )
        with atomic_path(target) as tmp:
            tmp.write_bytes(lines)
        return target
