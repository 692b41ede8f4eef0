"""Stop signals during `mlplat run`: every stop ends the stage process and is recorded.

SIGTERM (a CI job cancelled, `docker stop`, Kubernetes), SIGHUP (a closed terminal) and SIGINT
(Ctrl-C) used to end the process before it could record anything, or (Ctrl-C) mark the run
FAILED with no reason, while the stage process went on training. Inside `handled()`, the first
stop kills the stage process at once (`on_stop`) and raises `Stopped` in the main thread, which
MLflow's retries and Hydra let through as they let Ctrl-C through; the tracked run ends KILLED with
the signal as a tag. Further stops while that is recorded are ignored (SIGKILL remains, and the
next run finds a run a SIGKILL left RUNNING: see `rundir`).

Registration and publication are never cut in half (`deferred()`): a stop that arrives during
them takes effect when the run has finished them, as the command's end.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from mlplat.core.errors import Stopped

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class _Stops:
    on_stop: Callable[[], None]
    deferring: bool = False
    stopping: bool = False
    late: int | None = None  # a stop that arrived while deferring

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:  # the first stop is being recorded
            return
        self.stopping = True
        self.on_stop()
        if self.deferring:
            self.late = signum
            return
        raise Stopped(signum)


_active: list[_Stops] = []


@contextmanager
def handled(on_stop: Callable[[], None]) -> Iterator[None]:
    """Stop signals raise `Stopped` in the block, after `on_stop`; a stop that was deferred
    raises it at the block's end. Only the main thread receives signals: elsewhere (a launcher's
    worker thread) the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = _Stops(on_stop)
    previous = {s: signal.signal(s, stops.handle) for s in SIGNALS}
    _active.append(stops)
    try:
        yield
    finally:
        _active.remove(stops)
        for number, handler in previous.items():
            signal.signal(number, handler)
    if stops.late is not None:
        raise Stopped(stops.late, "registration, which the run finished first")


@contextmanager
def deferred() -> Iterator[None]:
    """A stop during the block waits for its end, and then for the end of `handled()`."""
    if not _active:
        yield
        return
    stops = _active[-1]
    stops.deferring = True
    try:
        yield
    finally:
        stops.deferring = False


def late() -> str | None:
    """The signal a deferred block held back, if one did (to record on the finished run)."""
    signum = _active[-1].late if _active else None
    return None if signum is None else signal.Signals(signum).name
