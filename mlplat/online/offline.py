"""Each arm's offline figure beside its online one (offline/online agreement, the ML Test Score's
model_2): the test's per-row loss as the version's own evaluate stage measured it on the
holdout, read from the metrics of the MLflow run that registered the version."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlplat.online.decision import Decision
    from mlplat.tracking.tracker import Tracker

Metrics = Mapping[str, float]


def _complement(m: Metrics, key: str) -> float | None:
    return 1.0 - m[key] if key in m else None


def _square(m: Metrics, key: str) -> float | None:
    return m[key] ** 2 if key in m else None


# the mean of each per-row loss, from the evaluate stage's metric names (core.metric_names)
OFFLINE: dict[str, Callable[[Metrics], float | None]] = {
    "log_loss": lambda m: m.get("log_loss"),
    "brier": lambda m: m.get("brier"),
    "zero_one_loss": lambda m: _complement(m, "accuracy"),
    "squared_error": lambda m: _square(m, "rmse"),
    "absolute_error": lambda m: m.get("mae"),
}


def offline_losses(
    tracker: Tracker, name: str, versions: Mapping[str, str], metric: str
) -> dict[str, float]:
    """Version -> its offline value of `metric`; a version that is not in the registry (a
    bundle directory) or whose run logged no such metric is left out."""
    out: dict[str, float] = {}
    for version in set(versions.values()):
        try:
            run_id = tracker.client.get_model_version(name, version).run_id
            run = tracker.client.get_run(run_id) if run_id else None
        except tracker.error:  # not a registry version: a bundle directory's digest
            continue
        if run is None:
            continue
        value = OFFLINE[metric](run.data.metrics)
        if value is not None:
            out[version] = round(float(value), 6)
    return out


def with_offline(decision: Decision, offline: Mapping[str, float]) -> Decision:
    arms: list[Any] = [
        dataclasses.replace(a, offline_loss=offline.get(a.version or "")) for a in decision.arms
    ]
    return dataclasses.replace(decision, arms=arms)
