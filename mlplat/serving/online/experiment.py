"""A server's side of an online experiment: the challenger arm, routing, shadow scoring, the log.

The challenger is followed and hot-swapped exactly as the champion is (its own `Updater` on its
own alias). Each request gets a request id (the client's `x-request-id`, else a new one) and
an arm (`assign.assign`); split and canary answer from the assigned arm, shadow always answers
from the champion and hands the body to a daemon thread, which has a child process score the
challenger off the request path and off the server's GIL (`mirror.py`; a bounded queue: a full
one drops the copy and counts it, never waits). Every arm's answer is a line in the online
request log, the file `mlplat feedback` joins labels to; `POST /feedback` stores outcomes for the
ids answered here (`outcomes.py`). A split or canary judges the guardrails on its recent answers
every `GUARD_SECONDS` (`guard.Watch`) and stops the challenger's traffic itself when one breaks
(`Online.stop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import Counter, Gauge, Histogram

from mlplat.core.io import exclusive
from mlplat.core.vocabulary import Arm, OnlineMode
from mlplat.serving.compat import SchemaChange
from mlplat.serving.errors import InputError
from mlplat.serving.lease import LeaseWriter
from mlplat.serving.metrics import LATENCY_BUCKETS, Metrics, count
from mlplat.serving.model import ModelHolder, ServedModel
from mlplat.serving.online.assign import assign
from mlplat.serving.online.guard import Guardrail, Stop, Watch, breach
from mlplat.serving.online.mirror import Item, Mirror, Outcome, Version
from mlplat.serving.online.outcomes import (
    OutcomeWriter,
    RecentIds,
    logged_on_disk,
    parse,
    unknown,
)
from mlplat.serving.online.settings import OnlineSettings
from mlplat.serving.online.state import Layout, State, challenger_share, read_state, write_state
from mlplat.serving.payloads import Protocol
from mlplat.serving.reqlog import RequestLogger
from mlplat.serving.scoring import Answer
from mlplat.serving.source import make_source
from mlplat.serving.updater import Updater

if TYPE_CHECKING:
    from mlplat.serving.settings import ServeSettings

log = logging.getLogger("mlplat.serving")
ARM_HEADER = b"x-mlplat-arm"
GUARD_SECONDS = 0.25  # how often a split or canary judges its guardrails
# modes whose challenger answers users, so a breach must stop it (a shadow answers nobody)
GUARDED = (OnlineMode.SPLIT, OnlineMode.CANARY)
Recorder = Callable[[Stop], object]  # records a stop where people look (online.live)
BATCH_SECONDS = 0.02  # how long a mirrored copy waits to be sent with the others
MAX_BATCH = 256  # mirrored copies per round trip to the shadow process


@dataclass(frozen=True)
class Assigned:
    """Where one request goes: the arm that answers it, under which request id."""

    arm: Arm
    model: ServedModel
    request_id: str
    key: str | None
    mirror: bool  # shadow: the challenger scores a copy too

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            *self.model.headers,
            (b"x-request-id", self.request_id.encode("latin-1")),
            (ARM_HEADER, self.arm.value.encode()),
        ]


@dataclass(frozen=True)
class Copy:
    """A mirrored request, waiting for the shadow thread."""

    model: ServedModel
    protocol: Protocol
    content_type: str
    body: bytes
    request_id: str
    key: str | None


class ArmMetrics:
    """Per-arm counters and latency, in the server's own registry (so `/metrics` shows them)."""

    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.requests = Counter(
            "mlplat_online_requests", "Requests by arm and status", ["arm", "status"], registry=r
        )
        self.latency = Histogram(
            "mlplat_online_latency_seconds",
            "Latency by arm (shadow: the challenger's own scoring time)",
            ["arm"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.dropped = 0  # read by /online; the counter below by /metrics
        self.shadow_dropped = Counter(
            "mlplat_online_shadow_dropped",
            "Mirrored requests dropped (queue full, or a body too large to mirror)",
            registry=r,
        )
        self.share = Gauge(
            "mlplat_online_challenger_share", "The challenger's share of requests now", registry=r
        )
        self.outcomes = Counter(
            "mlplat_online_outcomes", "Outcomes stored by POST /feedback", registry=r
        )
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}  # see metrics.count

    def drop(self) -> None:
        self.dropped += 1
        self.shadow_dropped.inc()

    def count(self, arm: Arm, status: int, seconds: float) -> None:
        count(self._children, self.requests, self.latency, arm.value, status, seconds)


class Shadow:
    """One daemon thread taking the mirrored requests that queued in a bounded deque, every
    `BATCH_SECONDS`, in one round trip to the process that scores them on the challenger
    (`mirror.py`), then counting and logging the outcomes. Waking per copy instead (an event set
    on the request path) cost the server a thread switch and a pipe round trip per request."""

    def __init__(self, online: Online, capacity: int) -> None:
        self.online, self.capacity = online, capacity
        self.pending: deque[Copy] = deque()
        self.mirror = Mirror()
        self.version: tuple[ServedModel, Version] | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mlplat-shadow", daemon=True)
        self.thread.start()

    def submit(self, copy: Copy) -> bool:
        if len(self.pending) >= self.capacity:
            return False
        self.pending.append(copy)  # deque appends are atomic: no lock on the request path
        return True

    def _run(self) -> None:
        if self.online.mode is OnlineMode.SHADOW:
            self.mirror.start()  # now: the first copies must not wait for a process to start
        while not self.stopping.wait(BATCH_SECONDS):
            self._drain()
        self._drain()
        self.mirror.close()

    def _drain(self) -> None:
        challenger = self.online.holder.current
        if self.online.mode is OnlineMode.SHADOW and challenger is not None:
            self._version(challenger)  # a new version loads in the child before its copies
        while self.pending:
            batch = [self.pending.popleft() for _ in range(min(len(self.pending), MAX_BATCH))]
            items = [
                Item(self._version(c.model), c.protocol, c.content_type, c.body) for c in batch
            ]
            for copy, outcome in zip(batch, self.mirror.score(items), strict=True):
                self.online.score_copy(copy, outcome)

    def _version(self, model: ServedModel) -> Version:
        """One Version per model (pickled once per batch, not per copy), loaded in the child
        when first seen."""
        if self.version is None or self.version[0] is not model:
            self.version = model, Version.of(model, self.online.updater.max_rows)
            self.mirror.load(self.version[1])
        return self.version[1]

    def close(self, timeout: float = 15.0) -> None:
        """Score what is queued (the child may still be loading the challenger), then stop."""
        self.stopping.set()
        self.thread.join(timeout)


class Online:
    """The experiment in one server process."""

    def __init__(
        self,
        settings: ServeSettings,
        metrics: Metrics,
        champion: ModelHolder,
        recorder: Recorder | None = None,
    ) -> None:
        assert settings.online is not None
        self.settings: OnlineSettings = settings.online
        self.mode = OnlineMode(self.settings.mode)
        self.layout = Layout(Path(self.settings.directory))
        self.key = (self.settings.key_header or "").lower().encode("latin-1") or None
        self.max_mirrored = settings.offload_min_bytes  # larger bodies are not mirrored
        self.holder = ModelHolder()
        self.champion = champion
        # the challenger's reloads and readiness: its own registry, reported by /online
        self.updater = Updater(
            make_source(self.settings.challenger, settings.tracking_uri),
            self.holder,
            Metrics(),
            settings.max_batch_rows,
            settings.poll_interval_seconds,
            SchemaChange(settings.schema_change),
            # `mlplat gc` keeps the challenger's version too while it is served
            LeaseWriter.following(self.settings.challenger, settings.lease_dir, "challenger"),
        )
        self.heartbeat = settings.lease_heartbeat_seconds
        self.poll = settings.poll_interval_seconds
        self.arms = ArmMetrics(metrics)
        self.state = read_state(self.layout)
        self.share = self._share()
        self.log = RequestLogger(
            self.layout.requests,
            1.0,  # never sampled: the test needs every labelled row
            settings.request_log_queue_size,
            settings.request_log_rotate_bytes,
            settings.request_log_rotate_seconds,
            metrics.log_dropped.inc,
            metrics.log_written.inc,
        )
        self.shadow = Shadow(self, self.settings.shadow_queue_size)
        self.recent = RecentIds()  # ids answered here, for POST /feedback
        self.outcomes = OutcomeWriter(self.layout.outcomes)
        self.tasks: list[asyncio.Task[None]] = []
        self.watch = Watch(self.settings.limits)
        self.rails: list[Guardrail] = []  # the last judgement, for /online
        self.recorder = recorder
        # a stop this process made that the state file does not show yet: kept over the polls
        self.stopping = False
        self.recording: asyncio.Future[None] | None = None  # shutdown waits for it
        self.seen = 0  # the state file's mtime the guard last read

    def _share(self) -> float:
        share = challenger_share(self.mode, self.settings.split, self.settings.ramp, self.state)
        self.arms.share.set(share)
        return share

    async def start(self) -> None:
        """Load the challenger (the champion loads beside it), then follow both and the state."""
        await asyncio.to_thread(self.updater.attempt)
        if self.holder.current is None:
            log.error("challenger not loaded: %s", self.holder.not_ready())
        self.updater.start_heartbeat(self.heartbeat)
        self.tasks = [asyncio.create_task(self.updater.run())]
        if self.poll > 0:  # 0: no polling (as for the alias); the state is read at start-up
            self.tasks.append(asyncio.create_task(self._follow_state()))
        if self.mode in GUARDED:
            self.tasks.append(asyncio.create_task(self._guard()))

    async def _follow_state(self) -> None:
        while True:
            await asyncio.sleep(self.poll)
            try:
                state = await asyncio.to_thread(read_state, self.layout)
            except (OSError, ValueError) as exc:  # a state file being replaced: next poll
                log.warning("could not read %s: %s", self.layout.state, exc)
                continue
            self._apply(state)

    def _apply(self, state: State) -> None:
        if self.stopping and state.stopped is None:
            return  # our own stop is still on its way to the file
        if self.state.stopped is not None and state.stopped is None:
            self.watch.clear()  # restarted by hand: judge the new traffic afresh
        self.state = state
        before, self.share = self.share, self._share()
        if before != self.share:
            log.info("challenger share %.3f -> %.3f", before, self.share)

    def _stopped_elsewhere(self) -> None:
        """Another worker's (or replica's) stop, within a guard tick: the state file changed.
        A stat per tick; the file is read only when it changed."""
        try:
            changed = self.layout.state.stat().st_mtime_ns
            if changed != self.seen:
                self.seen = changed
                self._apply(read_state(self.layout))
        except (OSError, ValueError):  # none yet, or being replaced: the next tick
            return

    async def _guard(self) -> None:
        while True:
            await asyncio.sleep(GUARD_SECONDS)
            if self.share > 0:
                self._stopped_elsewhere()
            if self.share <= 0 or not self.watch.fresh:
                continue
            rails = self.rails = self.watch.judge()
            reason = breach(rails)
            if reason is not None:
                await self.stop(reason, rails)

    async def stop(self, reason: str, rails: list[Guardrail]) -> None:
        """Send every request to the champion at once, then make the stop known: the first
        process to stop this step records it (state file, and the recorder: MLflow, the alias
        history, notifications); the others find it recorded."""
        self.state = State(self.state.step, reason)
        self.share, self.stopping = self._share(), True
        log.warning("challenger traffic stopped: %s", reason)
        versions = {
            arm.value: holder.current.version
            for arm, holder in ((Arm.CHAMPION, self.champion), (Arm.CHALLENGER, self.holder))
            if holder.current is not None
        }
        stop = Stop(reason, tuple(rails), versions, self.mode.value)
        self.recording = asyncio.ensure_future(asyncio.to_thread(self._record_stop, stop))
        try:
            await asyncio.shield(self.recording)
        except (OSError, ValueError) as exc:  # the stop holds here; the others judge for themselves
            log.error("could not write the stop to %s: %s", self.layout.state, exc)
            return
        self.stopping = False

    def _record_stop(self, stop: Stop) -> None:
        with exclusive(self.layout.root / "stop.lock"):
            if read_state(self.layout).stopped is not None:
                return  # another worker or `online decide` stopped it first: theirs stands
            # the file first: every other worker and replica reads it within a guard tick
            write_state(self.layout, State(read_state(self.layout).step, stop.reason))
            try:
                if self.recorder is not None:
                    self.recorder(stop)
            except Exception as exc:  # a store that is down: the stop holds all the same
                log.warning("the stop is not recorded beyond %s: %s", self.layout.state, exc)

    def route(self, champion: ServedModel, request_id: str | None, key: str | None) -> Assigned:
        rid = request_id or self.log.new_id()
        challenger = self.holder.current
        if challenger is None or self.share <= 0:
            return Assigned(Arm.CHAMPION, champion, rid, key, False)
        if self.mode is OnlineMode.SHADOW:
            mirror = assign(key, self.settings.experiment, self.share) is Arm.CHALLENGER
            return Assigned(Arm.CHAMPION, champion, rid, key, mirror)
        arm = assign(key, self.settings.experiment, self.share)
        return Assigned(arm, challenger if arm is Arm.CHALLENGER else champion, rid, key, False)

    def answered(
        self,
        route: Assigned,
        protocol: Protocol,
        content_type: str,
        body: bytes,
        done: Answer,
        started: float,
    ) -> None:
        """Log the answer; in shadow mode hand a copy to the challenger's thread."""
        seconds = time.perf_counter() - started
        self.arms.count(route.arm, 200, seconds)
        if self.mode in GUARDED:
            self.watch.answered(route.arm, seconds, done.scored.predictions)
        self._record(route.model, route, route.arm, seconds, done.inputs, done.scored.predictions)
        self.recent.add(route.request_id, len(done.scored.predictions))
        challenger = self.holder.current
        if not route.mirror or challenger is None:
            return
        copy = Copy(challenger, protocol, content_type, body, route.request_id, route.key)
        if len(body) >= self.max_mirrored or not self.shadow.submit(copy):
            self.arms.drop()

    async def feedback(self, body: bytes) -> dict[str, Any]:
        """Check a `/feedback` body whole (fields, then ids), then store it in one file."""
        outcomes = parse(body)
        unseen = {o.label_id for o in outcomes if not self.recent.knows(o.label_id)}
        if unseen:  # another worker's ids, or older than the map: the log on disk says
            hours = self.settings.lookback_hours
            unseen -= await asyncio.to_thread(logged_on_disk, self.layout.requests, unseen, hours)
        if unseen:
            raise unknown(outcomes, unseen)
        try:
            stored = await asyncio.to_thread(self.outcomes.write, outcomes)
        except OSError as exc:  # a full disk: the client may retry, nothing was stored
            raise InputError(503, "not_stored", f"the outcomes were not stored: {exc}") from exc
        self.arms.outcomes.inc(len(outcomes))
        return {"stored": len(outcomes), "file": stored.name}

    def failed(self, route: Assigned, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        self.arms.count(route.arm, status, seconds)
        self.watch.failed(route.arm, status)
        self._record(route.model, route, route.arm, seconds, {}, [], status)

    def score_copy(self, copy: Copy, outcome: Outcome) -> None:
        """In the shadow thread: count and log what the challenger's process made of a copy."""
        route = Assigned(Arm.CHALLENGER, copy.model, copy.request_id, copy.key, False)
        if outcome.status != 200:
            self.failed(route, outcome.status, time.perf_counter() - outcome.seconds)
            return
        self.arms.count(Arm.CHALLENGER, 200, outcome.seconds)
        inputs = orjson.Fragment(outcome.inputs)  # JSON already: the log line embeds it as is
        seconds, predictions = outcome.seconds, outcome.predictions
        self._record(copy.model, route, Arm.CHALLENGER, seconds, inputs, predictions)

    def _record(
        self,
        model: ServedModel,
        route: Assigned,
        arm: Arm,
        seconds: float,
        inputs: Any,
        predictions: Any,
        status: int = 200,
    ) -> None:
        extra = {
            "experiment": self.settings.experiment,
            "mode": self.mode.value,
            "arm": arm.value,
            "key": route.key,
            "status": status,
            **model.label_fields,
        }
        self.log.log(
            model.name,
            model.version,
            round(seconds * 1000, 3),
            inputs,
            predictions,
            route.request_id,
            extra,
        )

    def describe(self, champion: ModelHolder) -> dict[str, Any]:
        """The body of `GET /online`: the live state of the experiment in this process."""
        return {
            "mode": self.mode.value,
            "experiment": self.settings.experiment,
            "challenger_share": self.share,
            "step": self.state.step,
            "stopped": self.state.stopped,
            "key_header": self.settings.key_header,
            "arms": {
                Arm.CHAMPION.value: champion.describe(),
                Arm.CHALLENGER.value: self.holder.describe(),
            },
            "shadow": {
                "queued": len(self.shadow.pending),
                "dropped": self.arms.dropped,
            },
            # this process's last judgement of its recent answers (split and canary)
            "guardrails": [asdict(g) for g in self.rails],
        }

    async def cancel(self, timeout: float = 60.0) -> None:
        """At shutdown, before `close`: stop following the challenger and the state, and let a
        stop being recorded finish (a worker process exits without waiting for its threads)."""
        for task in self.tasks:
            task.cancel()
        if self.recording is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self.recording), timeout)

    def close(self) -> None:
        """Blocking (run it in a thread): finish the shadow queue and the log, drop downloads."""
        self.shadow.close()
        self.log.close()
        with contextlib.suppress(Exception):
            self.updater.close()
