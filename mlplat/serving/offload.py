"""Large requests are parsed, validated and featurized in worker processes, off the event loop.

A thread pool alone does not free the loop: orjson parses a 10 MB body for ~0.2 s without
releasing the GIL, and validation and features are Python code, so with two such threads a
loop waiting for the GIL answered `/health` after up to 2 s (docs/benchmarks.md). Worker
processes have GILs of their own. They receive the body and the model's contract (schema and
feature spec, plain data, compiled once per process) and send back the float matrix; the server
predicts with its own verified booster in a bounded thread pool (LightGBM releases the GIL) and
renders the response there too. Client mistakes come back as data (status and JSON body), not as
pickled exceptions. A worker that dies (out of memory, say) fails its request with a 503 and
the pool is replaced.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from mlplat.serving.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from mlplat.serving.payloads import Protocol
    from mlplat.serving.validation import Validator

T = TypeVar("T")
QUEUE_PER_WORKER = 4  # large requests waiting beyond workers x this are refused with a 503
CONTRACTS_PER_PROCESS = 4  # compiled contracts a worker keeps (a hot swap adds one)


@dataclass(frozen=True)
class Contract:
    """What a worker process needs to turn a body into the model's matrix (picklable)."""

    key: str  # the bundle's sha256
    schema: dict[str, Any]
    feature_spec: dict[str, Any]
    max_rows: int


@dataclass(frozen=True)
class Prepared:
    rows: int
    matrix: np.ndarray
    request_id: Any
    inputs: bytes | None  # the validated inputs as JSON, for the request log


@dataclass(frozen=True)
class Refused:
    status: int
    body: bytes


_compiled: OrderedDict[str, tuple[Validator, Callable[[Any, int], np.ndarray]]] = OrderedDict()


def _compile(contract: Contract) -> tuple[Validator, Callable[[Any, int], np.ndarray]]:
    from mlplat.core.fastfeatures import compile_spec
    from mlplat.serving.validation import compile_schema

    if contract.key not in _compiled:
        _compiled[contract.key] = (
            compile_schema(contract.schema, contract.max_rows),
            compile_spec(contract.feature_spec),
        )
        while len(_compiled) > CONTRACTS_PER_PROCESS:
            _compiled.popitem(last=False)
    _compiled.move_to_end(contract.key)
    return _compiled[contract.key]


def prepare(
    contract: Contract, protocol: Protocol, content_type: str, body: bytes, log_inputs: bool
) -> Prepared | Refused:
    """In a worker process: body -> validated columns -> feature matrix, or a refusal."""
    from mlplat.serving.payloads import PARSERS

    validator, features = _compile(contract)
    try:
        table, request_id = PARSERS[protocol](content_type, body)
        typed = validator.validate(table.columns, table.n_rows, table.text)
    except InputError as exc:
        return Refused(exc.status, orjson.dumps(exc.body()))
    matrix = features(typed, table.n_rows)
    inputs = orjson.dumps(typed, option=orjson.OPT_SERIALIZE_NUMPY) if log_inputs else None
    return Prepared(table.n_rows, matrix, request_id, inputs)


def _exit_with_the_server() -> None:
    """In each worker process: exit when the server does, even one killed with SIGKILL (a worker
    waits on its queue, whose pipe it holds open itself, and would live on as an orphan)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        watch = threading.Thread(target=_exit_on, args=(parent.sentinel,), daemon=True)
        watch.start()


def _exit_on(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


def warm() -> int:
    """In a new worker process: the imports a first request would otherwise wait for."""
    from mlplat.core import fastfeatures  # noqa: F401
    from mlplat.serving import payloads, validation  # noqa: F401

    return os.getpid()


class Offload:
    """A bounded pool of worker processes (parsing) and of threads (prediction, rendering)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.threads = ThreadPoolExecutor(workers, thread_name_prefix="mlplat-score")
        self.processes = self._processes()
        self.waiting = 0

    def _processes(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server has threads (updater, request log) a fork would copy mid-use
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_the_server,
        )

    async def start(self) -> None:
        """Start every worker process now: spawning one (a fork of the whole server) on the
        request path held the loop for ~80 ms, and its imports delayed the first request."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self.processes, warm) for _ in range(self.workers))
        )

    async def prepare(
        self,
        contract: Contract,
        protocol: Protocol,
        content_type: str,
        body: bytes,
        log_inputs: bool,
    ) -> Prepared | Refused:
        if self.waiting >= self.workers * QUEUE_PER_WORKER:
            raise InputError(503, "overloaded", "too many large requests are waiting; retry")
        self.waiting += 1
        pool = self.processes
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool, prepare, contract, protocol, content_type, body, log_inputs
            )
        except BrokenProcessPool:
            if pool is self.processes:  # the first request to see it replaces the pool
                self.processes = self._processes()
                pool.shutdown(wait=False, cancel_futures=True)
            raise InputError(
                503, "worker_lost", "the process parsing this request died; retry"
            ) from None
        finally:
            self.waiting -= 1

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.threads, function, *args)

    def close(self) -> None:
        """Stop the workers and wait for them: a uvicorn worker process ends with `os._exit`,
        which does not run the executor's own clean-up, so not waiting left them orphaned."""
        self.processes.shutdown(wait=True, cancel_futures=True)
        self.threads.shutdown(wait=True, cancel_futures=True)
