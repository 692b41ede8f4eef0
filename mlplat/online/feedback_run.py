"""A `mlplat feedback` call as an MLflow run in `mlplat-online`, beside the runs `online decide`
logs: the join's counts and, per arm, the labelled rows and their mean per-row loss (the loss
the test uses), with the whole summary as `online/feedback.json`.

The labels are the valuable part and are stored before anything is logged: a tracking store
that cannot be used (or any error logging) is a warning naming it, never a failed feedback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from mlplat.core.vocabulary import Arm

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig
    from mlplat.online.feedback import FeedbackReport
    from mlplat.serving.online.state import Layout
    from mlplat.tracking.tracker import Tracker

ARTIFACT = "online/feedback.json"


@dataclass(frozen=True)
class ArmLabels:
    arm: str
    labelled: int  # joined rows with a loss
    unusable_labels: int  # joined rows whose label gives none: not a number, no known class
    unusable_examples: tuple[str, ...]  # a few of those labels as sent
    mean_loss: float | None


@dataclass(frozen=True)
class FeedbackSummary:
    report: FeedbackReport
    metric: str  # the per-row loss of `online decide`'s test
    arms: tuple[ArmLabels, ...]

    def metrics(self) -> dict[str, float]:
        counts = {k: float(v) for k, v in self.report.as_dict().items() if k != "path"}
        for a in self.arms:
            counts[f"{a.arm}.labelled"] = float(a.labelled)
            counts[f"{a.arm}.unusable_labels"] = float(a.unusable_labels)
            if a.mean_loss is not None:
                counts[f"{a.arm}.mean_loss"] = a.mean_loss
        return counts

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Logged:
    run_name: str
    run_id: str | None  # None: no run was logged whole (the store, or logging, failed): `warning`
    warning: str | None = None


def summarise(report: FeedbackReport, layout: Layout, cfg: PlatformConfig) -> FeedbackSummary:
    """Every joined row so far, per arm, with the test's per-row loss."""
    from mlplat.core.config.online import row_loss
    from mlplat.online.decision import labelled, unusable

    metric = row_loss(cfg.online, cfg.model.task)
    frame, unusable_rows = labelled(layout, cfg, metric)
    arms = []
    for arm in Arm:
        losses = frame.loc[frame["arm"] == arm.value, "loss"]
        mean = float(losses.mean()) if len(losses) else None
        arms.append(ArmLabels(arm.value, len(losses), *unusable(unusable_rows, arm), mean))
    return FeedbackSummary(report, metric, tuple(arms))


def run_name(experiment: str, now: dt.datetime) -> str:
    return f"{experiment}-feedback-{now.strftime('%Y%m%d-%H%M%S')}"


def log_feedback(
    summary: FeedbackSummary, cfg: PlatformConfig, tracker: Tracker, now: dt.datetime | None = None
) -> Logged:
    """The summary as a run, ended FINISHED (FAILED if logging breaks half way); a store that
    cannot be used, or any error logging, is the warning line of the result, naming the store
    with credentials masked."""
    from mlplat.core import provenance
    from mlplat.serving.online.state import ONLINE_EXPERIMENT, experiment_id

    experiment = experiment_id(cfg.online, cfg.experiment_name)
    name = run_name(experiment, now or dt.datetime.now(dt.UTC))
    tags = {
        "mlplat.model_name": provenance.model_name(cfg),
        "mlplat.online.experiment": experiment,
        "mlplat.online.mode": cfg.online.mode,
        "mlplat.online.metric": summary.metric,
    }
    try:
        with tracker.side_run(ONLINE_EXPERIMENT, name, tags) as run_id:
            for key, value in summary.metrics().items():
                tracker.client.log_metric(run_id, key, value)
            tracker.client.log_dict(run_id, summary.as_dict(), ARTIFACT)
    except Exception as exc:  # reported; the labels are stored already
        why = failure(exc, tracker, cfg)
        return Logged(name, None, f"labels stored, summary not logged to MLflow: {why}")
    return Logged(name, run_id)


def failure(exc: Exception, tracker: Tracker, cfg: PlatformConfig) -> str:
    """A store MLflow cannot reach, by its URI, reason and retry budget; anything else (an
    artifact store refusing the file) by the store and the error; credentials masked."""
    from mlplat.core import tracking_store

    if isinstance(exc, tracker.error):
        return str(tracking_store.unreachable(tracker.uri, exc, cfg.tracking))
    where = tracking_store.redact(tracker.uri)
    return f"tracking store '{where}': {tracking_store.scrub(f'{type(exc).__name__}: {exc}')}"
