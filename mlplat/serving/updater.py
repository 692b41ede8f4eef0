"""Zero-downtime updates: poll the source, load a new version in a thread, check it, swap it in.

The event loop keeps serving while a version loads (download, checksums, compile, smoke
prediction run in a worker thread); the swap itself is one reference assignment. A refused
version leaves the old one serving, and the reason goes to the log, /version and the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from mlplat.serving.metrics import Metrics
from mlplat.serving.model import ModelHolder, ModelRefusedError, load_model
from mlplat.serving.source import Source

log = logging.getLogger("mlplat.serving")


@dataclass
class Updater:
    source: Source
    holder: ModelHolder
    metrics: Metrics
    max_rows: int
    poll_interval: float
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def attempt(self) -> str:
        """One update check (blocking: run it in a thread); returns what happened, for logs."""
        try:
            resolved = self.source.resolve()
        except Exception as exc:  # the registry being down is no reason to stop serving
            return self._refused(
                "?", ModelRefusedError("resolve", f"could not resolve {self.source.uri}: {exc}")
            )
        current = self.holder.current
        if current is not None and current.version == resolved.version:
            return "unchanged"
        try:
            directory = self.source.fetch(resolved)
            model = load_model(
                directory, resolved.version, self.source.uri, self.max_rows, run_id=resolved.run_id
            )
        except ModelRefusedError as exc:
            return self._refused(resolved.version, exc)
        except Exception as exc:
            return self._refused(resolved.version, ModelRefusedError("fetch", str(exc)))
        self.holder.swap(model)
        self.metrics.set_model(model.info())
        self.metrics.reloads.inc()
        log.info("serving %s version %s", model.name, model.version)
        return "swapped"

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
            await asyncio.to_thread(self.attempt)
