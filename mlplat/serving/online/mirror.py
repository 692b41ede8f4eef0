"""Shadow scoring in a process of its own, so the challenger never holds the server's GIL.

Scored in a thread of the server, a mirrored 1-row request (parse, validate, featurize, predict:
~150 µs) nearly doubled the work the one GIL serializes, and the event loop waited for the GIL
behind it (docs/benchmarks.md, issue 22). Here a child process (spawned: a fork would copy the
server's threads mid-use) loads the challenger's bundle itself, once per version, and scores the
batches of copies it is sent over a pipe; the server's shadow thread only pickles the bodies and
logs what comes back. The child exits when its pipe closes (the server stopped, or died); one
that dies is replaced, and its batch counts as failed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    import numpy as np

    from mlplat.serving.model import ServedModel
    from mlplat.serving.payloads import Protocol

log = logging.getLogger("mlplat.serving")
VERSIONS_KEPT = 2  # a hot swap briefly mirrors to the old version and the new


@dataclass(frozen=True)
class Version:
    """What the child needs to load a challenger version itself (picklable, unlike the model)."""

    directory: str
    version: str
    source: str
    max_rows: int

    @classmethod
    def of(cls, model: ServedModel, max_rows: int) -> Version:
        return cls(str(model.bundle.path), model.version, model.source, max_rows)


@dataclass(frozen=True)
class Item:
    """One mirrored request, as sent to the child."""

    version: Version
    protocol: Protocol
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """What the challenger made of one copy; `seconds` is its own scoring time."""

    status: int
    seconds: float
    inputs: bytes = b""  # the validated inputs as JSON, for the online log
    predictions: np.ndarray | None = None


_models: OrderedDict[Version, ServedModel] = OrderedDict()


def _model(version: Version) -> ServedModel:
    """In the child: the version, loaded through the server's own checks on first use."""
    from mlplat.serving.model import load_model

    if version not in _models:
        _models[version] = load_model(
            version.directory, version.version, version.source, version.max_rows
        )
        while len(_models) > VERSIONS_KEPT:
            _models.popitem(last=False)
    _models.move_to_end(version)
    return _models[version]


def score(item: Item) -> Outcome:
    """In the child: parse, validate, featurize, predict one copy; never raises."""
    from mlplat.serving.errors import InputError
    from mlplat.serving.payloads import PARSERS
    from mlplat.serving.scoring import Target, scored

    started = time.perf_counter()
    try:
        model = _model(item.version)
        started = time.perf_counter()  # a version's first copy: its load is not scoring time
        table, _ = PARSERS[item.protocol](item.content_type, item.body)
        typed, raw = model.predict_table(table)
        result = scored(Target.of(model.bundle), raw)
        inputs = orjson.dumps(typed, option=orjson.OPT_SERIALIZE_NUMPY)
    except InputError as exc:
        return Outcome(exc.status, time.perf_counter() - started)
    except Exception:  # a broken challenger: a 500 in the online log, the child lives on
        log.exception("shadow scoring failed")
        return Outcome(500, time.perf_counter() - started)
    return Outcome(200, time.perf_counter() - started, inputs, result.predictions)


def serve(conn: Connection) -> None:
    """The child's loop: a batch of items in, their outcomes out, until the pipe closes. At the
    lowest CPU priority: on a busy machine the champion's requests come first, and the copies
    wait (the queue drops what does not fit, and counts it)."""
    os.nice(19)
    while True:
        try:
            message: Version | list[Item] = conn.recv()
        except EOFError:
            return
        if isinstance(message, Version):  # a new challenger: load it before its copies come
            conn.send(_load(message))
        else:
            conn.send([score(item) for item in message])


def _load(version: Version) -> bool:
    try:
        _model(version)
    except Exception:  # refused here though the server loaded it: its copies will say so
        log.exception("the shadow process could not load %s", version.directory)
        return False
    return True


class Mirror:
    """The server's end of the pipe: one child process, replaced if it dies. Used from one
    thread (the shadow thread)."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.process: BaseProcess | None = None

    def start(self) -> Connection:
        if self.conn is None:
            context = multiprocessing.get_context("spawn")
            self.conn, theirs = context.Pipe()
            self.process = context.Process(
                target=serve, args=(theirs,), name="mlplat-shadow", daemon=True
            )
            self.process.start()
            theirs.close()  # only the child holds its end: its death is our EOFError
        return self.conn

    def load(self, version: Version) -> None:
        self._ask(version)

    def score(self, items: list[Item]) -> list[Outcome]:
        outcomes: list[Outcome] | None = self._ask(items)
        return [Outcome(500, 0.0) for _ in items] if outcomes is None else outcomes

    def _ask(self, message: Version | list[Item]) -> Any:
        """The child's answer, or None if it died (out of memory, say): a new one next time."""
        try:
            conn = self.start()
            conn.send(message)
            return conn.recv()
        except (EOFError, OSError) as exc:
            log.error("the shadow process failed (%s); starting a new one", exc or "exited")
            self.close()
            return None

    def close(self, timeout: float = 5.0) -> None:
        """Close the pipe (the child's loop ends on it) and wait for the child to exit."""
        if self.conn is not None:
            self.conn.close()
        if self.process is not None:
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
        self.conn = self.process = None
