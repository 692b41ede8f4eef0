"""Metrics per task. Each function takes (y_true, y_score) and returns {name: value}; their names
and directions: core.metric_names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlplat.core.vocabulary import Task

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    import numpy as np

    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(float(y[mask].mean()) - float(p[mask].mean()))
    return float(total)


def binary(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as m

    predicted = (p >= threshold).astype(int)
    out = {
        "log_loss": float(m.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "brier": float(m.brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
        "accuracy": float(m.accuracy_score(y, predicted)),
        "precision": float(m.precision_score(y, predicted, zero_division=0)),
        "recall": float(m.recall_score(y, predicted, zero_division=0)),
        "f1": float(m.f1_score(y, predicted, zero_division=0)),
        "positive_rate": float(y.mean()) if y.size else float("nan"),
    }
    if len(np.unique(y)) == 2:  # AUCs are undefined on a one-class slice
        out["auc"] = float(m.roc_auc_score(y, p))
        out["pr_auc"] = float(m.average_precision_score(y, p))
    return out


def multiclass(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as m

    predicted = p.argmax(axis=1)
    labels = list(range(p.shape[1]))
    return {
        "log_loss": float(m.log_loss(y, np.clip(p, 1e-15, 1.0), labels=labels)),
        "macro_f1": float(
            m.f1_score(y, predicted, average="macro", labels=labels, zero_division=0)
        ),
        "accuracy": float(m.accuracy_score(y, predicted)),
    }


def regression(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as m

    out = {
        "rmse": float(np.sqrt(m.mean_squared_error(y, p))),
        "mae": float(m.mean_absolute_error(y, p)),
    }
    if y.size > 1:
        out["r2"] = float(m.r2_score(y, p))
    return out


TASKS: dict[str, Callable[[np.ndarray, np.ndarray, float], dict[str, float]]] = {
    Task.BINARY: binary,
    Task.MULTICLASS: multiclass,
    Task.REGRESSION: regression,
}


def compute(task: str, y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    return TASKS[task](y, p, threshold)
