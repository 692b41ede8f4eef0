"""Guardrails: the limits a challenger keeps while it takes traffic, judged in two places.

`mlplat online decide` judges them on the whole online log (`mlplat.online.decision`). A server
running a split or a canary also judges them live, on its own recent answers (`Watch`): the
moment the challenger breaks one, that process sends every request to the champion and records
the stop once for all workers (`Online.stop`), instead of waiting for the next `decide`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlplat.core.vocabulary import Arm

# recent answers per arm a server judges: enough for a p99, bounded in memory and time to judge
WINDOW = 1000


@dataclass(frozen=True)
class Limits:
    """conf/online/decision/guardrails as plain data; None: not guarded."""

    max_p99_latency_ms: float | None = None
    max_error_rate: float | None = None
    max_prediction_shift: float | None = None
    min_requests: int = 50  # fewer challenger requests: not judged yet


@dataclass(frozen=True)
class Guardrail:
    name: str
    value: float | None
    limit: float | None
    breached: bool


@dataclass(frozen=True)
class Stop:
    """A server's own guardrail stop, as the recorder needs it."""

    reason: str
    guardrails: tuple[Guardrail, ...]
    versions: dict[str, str] = field(default_factory=dict)  # arm -> model version
    mode: str = ""


def judged(
    p99_ms: float | None, error_rate: float | None, shift: float | None, limits: Limits
) -> list[Guardrail]:
    found = [
        ("p99_latency_ms", p99_ms, limits.max_p99_latency_ms),
        ("error_rate", error_rate, limits.max_error_rate),
        ("prediction_shift", shift, limits.max_prediction_shift),
    ]
    return [
        Guardrail(name, value, limit, limit is not None and value is not None and value > limit)
        for name, value, limit in found
    ]


def breach(rails: Sequence[Guardrail]) -> str | None:
    """Why traffic must go back to the champion, or None while every guardrail holds."""
    broken = [g for g in rails if g.breached]
    if not broken:
        return None
    return "guardrail breached: " + "; ".join(
        f"{g.name} {g.value:.4g} > {g.limit:g}" for g in broken
    )


def gap(mine: Any, theirs: Any) -> float | None:
    """How far one mean prediction is from another: of class probabilities, the largest
    difference of a class's mean."""
    found = float(np.max(np.abs(np.atleast_1d(np.asarray(mine) - np.asarray(theirs)))))
    return found if np.isfinite(found) else None


class Watch:
    """The last `WINDOW` answers of each arm in this process, judged against the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.latency_ms: deque[float] = deque(maxlen=WINDOW)  # the challenger's 200s
        self.errors: deque[bool] = deque(maxlen=WINDOW)  # every challenger request: a 5xx?
        # each answer's mean prediction, per arm (only when the shift is guarded)
        self.means: dict[Arm, deque[Any]] = {arm: deque(maxlen=WINDOW) for arm in Arm}
        self.fresh = False  # anything new since the last judgement

    def answered(self, arm: Arm, seconds: float, predictions: Any) -> None:
        if arm is Arm.CHALLENGER:
            self.latency_ms.append(seconds * 1000)
            self.errors.append(False)
            self.fresh = True
        if self.limits.max_prediction_shift is not None and len(predictions):
            self.means[arm].append(np.mean(np.asarray(predictions, dtype=float), axis=0))

    def failed(self, arm: Arm, status: int) -> None:
        if arm is Arm.CHALLENGER:
            self.errors.append(status >= 500)
            self.fresh = True

    def judge(self) -> list[Guardrail]:
        """The guardrails over the window; none before `min_requests` challenger requests."""
        self.fresh = False
        if len(self.errors) < self.limits.min_requests:
            return []
        p99 = float(np.percentile(self.latency_ms, 99)) if self.latency_ms else None
        errors = sum(self.errors) / len(self.errors)
        mine, theirs = self.means[Arm.CHALLENGER], self.means[Arm.CHAMPION]
        shift = None
        if mine and theirs:
            shift = gap(np.mean(np.stack(mine), axis=0), np.mean(np.stack(theirs), axis=0))
        return judged(p99, errors, shift, self.limits)

    def clear(self) -> None:
        self.latency_ms.clear()
        self.errors.clear()
        for means in self.means.values():
            means.clear()
        self.fresh = False
