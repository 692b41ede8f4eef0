"""The metrics each task computes and the way each improves, defined once.

The evaluate stage computes them; the gates, the report, sweeps, the scaffold, `mlplat lint` and
the ML Test Score name them from here, so a metric is never spelled two ways (`logloss` once
kept regression projects from earning reproducibility) nor judged in two directions.
"""

from __future__ import annotations

from enum import StrEnum

from mlplat.core.vocabulary import Task


class Direction(StrEnum):
    """The way a metric improves, in Optuna's words (a sweep's `direction`)."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


# Metrics where lower is better; gates, lifts and sweeps read this to know the direction.
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece", "rmse", "mae"})
PRIMARY: dict[str, str] = {Task.BINARY: "auc", Task.MULTICLASS: "log_loss", Task.REGRESSION: "rmse"}
# Every metric name per task: gates refuse a bound on a metric the task does not have.
NAMES: dict[str, tuple[str, ...]] = {
    Task.BINARY: (
        "auc",
        "pr_auc",
        "log_loss",
        "brier",
        "ece",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "positive_rate",
    ),
    Task.MULTICLASS: ("log_loss", "macro_f1", "accuracy"),
    Task.REGRESSION: ("rmse", "mae", "r2"),
}


def direction(metric: str) -> Direction:
    return Direction.MINIMIZE if metric in LOWER_IS_BETTER else Direction.MAXIMIZE
