"""Zero-downtime updates: poll the source, load a new version in a thread, check it, swap it in.

The event loop keeps serving while a version loads (download, checksums, the probe in a child
process, compile, smoke prediction run in a worker thread); the swap itself is one reference
assignment. A refused version leaves the old one serving, and the reason goes to the log,
/version and the metrics; its download is dropped, so the next poll fetches and checks it again.
One attempt runs at a time: a reload that arrives during another waits, then finds it done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

from mlplat.core import tracking_store
from mlplat.core.bundle import BundleError
from mlplat.serving.compat import SchemaChange, schema_breaks
from mlplat.serving.lease import LeaseWriter
from mlplat.serving.metrics import Metrics
from mlplat.serving.model import ModelHolder, ModelRefusedError, ServedModel, load_model
from mlplat.serving.source import Resolved, Source, VersionGoneError

log = logging.getLogger("mlplat.serving")
CLOSE_WAIT_SECONDS = 10.0  # at shutdown, how long to let a running attempt finish


@dataclass
class Updater:
    source: Source
    holder: ModelHolder
    metrics: Metrics
    max_rows: int
    poll_interval: float
    schema_change: SchemaChange = SchemaChange.refuse
    lease: LeaseWriter | None = None  # renewed at every check while a version is served
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False
    _lease_lock: threading.Lock = field(default_factory=threading.Lock)
    _stop_beats: threading.Event = field(default_factory=threading.Event)
    _heart: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.metrics.ready.set_function(lambda: float(self.holder.not_ready() is None))

    def attempt(self) -> str:
        """One update check (blocking: run it in a thread); returns what happened, for logs."""
        with self._lock:
            if self._closed:
                return "closed"
            outcome = self._attempt()
            self._renew_lease()
            return outcome

    def _renew_lease(self) -> None:
        # one writer at a time: a heartbeat that read the old version never lands after a swap's
        with self._lease_lock:
            current = self.holder.current
            if self.lease is None or current is None or self._stop_beats.is_set():
                return
            try:
                self.lease.beat(current.version)
            except OSError as exc:  # a full or read-only disk is no reason to stop serving
                log.warning("could not renew the serving lease %s: %s", self.lease.path, exc)

    def start_heartbeat(self, every: float) -> None:
        """Renew the lease every `every` seconds from a thread of its own: the update checks
        alone leave it to expire at a long (or 0: no) poll interval or a busy event loop."""
        if self.lease is None or every <= 0 or self._heart is not None:
            return
        self._heart = threading.Thread(
            target=self._beat_until_closed, args=(every,), name="mlplat-lease", daemon=True
        )
        self._heart.start()

    def _beat_until_closed(self, every: float) -> None:
        while not self._stop_beats.wait(every):
            self._renew_lease()

    def _attempt(self) -> str:
        try:
            resolved = self.source.resolve()
        except VersionGoneError as exc:
            return self._gone(str(exc))
        except Exception as exc:  # the registry being down is no reason to stop serving
            reason = f"could not resolve {self.source.uri}: {tracking_store.scrub(str(exc))}"
            return self._refused("?", ModelRefusedError("resolve", reason))
        current = self.holder.current
        if current is not None and current.version == resolved.version:
            self.holder.gone = None  # e.g. an alias deleted, then set again
            return "unchanged"
        started = time.perf_counter()
        try:
            model = self._load(resolved, current)
        except ModelRefusedError as exc:
            self.source.forget(resolved)  # never trust the download: fetch it again next time
            if current is not None and not self.source.exists(current.version):
                self._gone(f"version {current.version} was deleted from the registry")
            return self._refused(resolved.version, exc)
        self.holder.swap(model)
        self.metrics.set_model(model.info())
        self.metrics.reloads.inc()
        seconds = time.perf_counter() - started
        log.info("serving %s version %s (loaded in %.2f s)", model.name, model.version, seconds)
        return "swapped"

    def _load(self, resolved: Resolved, current: ServedModel | None) -> ServedModel:
        try:
            directory = self.source.fetch(resolved)
        except BundleError as exc:  # the manifest, a file or the digest pinned on the version
            raise ModelRefusedError("checksum", str(exc)) from exc
        except Exception as exc:
            raise ModelRefusedError("fetch", tracking_store.scrub(str(exc))) from exc
        try:
            model = load_model(
                directory, resolved.version, self.source.uri, self.max_rows, run_id=resolved.run_id
            )
        except ModelRefusedError:
            raise
        except Exception as exc:  # unforeseen: still a refusal, never the end of the polling
            raise ModelRefusedError("load", f"{type(exc).__name__}: {exc}") from exc
        if current is not None:
            self._check_schema(current, model)
        return model

    def _check_schema(self, current: ServedModel, model: ServedModel) -> None:
        breaks = schema_breaks(current.validator, model.validator)
        if not breaks:
            return
        what = (
            f"the input schema of version {model.version} breaks clients of version "
            f"{current.version}: {'; '.join(breaks)}"
        )
        if self.schema_change is SchemaChange.refuse:
            raise ModelRefusedError("schema", f"{what} (serving.schema_change=warn accepts it)")
        log.warning("SCHEMA CHANGE accepted by serving.schema_change=warn: %s", what)
        self.metrics.schema_changes.inc()

    def _gone(self, reason: str) -> str:
        if self.holder.gone != reason:
            log.error("not ready: %s", reason)
        self.holder.gone = reason
        return "gone"

    def _refused(self, version: str, exc: ModelRefusedError) -> str:
        if (self.holder.last_error or {}).get("reason") != str(exc):
            log.error("model version %s refused (%s): %s", version, exc.kind, exc)
            self.metrics.reload_failures.labels(exc.kind).inc()
        self.holder.refuse(version, exc)
        return f"refused: {exc.kind}"

    def trigger(self) -> None:
        """SIGHUP or the admin endpoint: check now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            timeout = self.poll_interval if self.poll_interval > 0 else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            try:
                await asyncio.to_thread(self.attempt)
            except Exception:  # a bug in one attempt must not stop the polling
                log.exception("model update check failed")

    def close(self) -> None:
        """At shutdown: let a running attempt finish (briefly), then remove the downloads."""
        acquired = self._lock.acquire(timeout=CLOSE_WAIT_SECONDS)
        try:
            self._closed = True
            self.source.close()
            with self._lease_lock:  # no beat after this one rewrites the released file
                self._stop_beats.set()
            if self.lease is not None:
                self.lease.release()
        finally:
            if acquired:
                self._lock.release()
