"""Numpy metrics for resampling: the same numbers as `metrics` (scikit-learn), without its overhead.

A bootstrap computes every metric a few hundred times per segment; scikit-learn's input checks
cost more than the arithmetic there. The curve code follows scikit-learn's `_binary_clf_curve`
(ties grouped by distinct score), so AUC and average precision agree with it to rounding;
tests/stages/test_evaluate_metrics.py holds them to that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

EPS = 1e-15
RANKING = ("auc", "pr_auc")  # the metrics `ranking` returns


def _curve_counts(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives at each distinct score, from the highest score down."""
    import numpy as np

    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    last = np.r_[np.flatnonzero(np.diff(ps)), ys.size - 1]
    tps = np.cumsum(ys)[last]
    return tps, (last + 1) - tps


def _ranking_from(tps: np.ndarray, fps: np.ndarray) -> dict[str, float]:
    import numpy as np

    positives, negatives = tps[-1], fps[-1]
    if positives == 0 or negatives == 0:  # AUCs are undefined on a one-class slice
        return {}
    auc = np.trapezoid(np.r_[0.0, tps / positives], np.r_[0.0, fps / negatives])
    precision = tps / (tps + fps)
    recall_steps = np.diff(np.r_[0.0, tps / positives])
    return {"auc": float(auc), "pr_auc": float(np.sum(recall_steps * precision))}


def ranking(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    if y.size == 0:
        return {}
    return _ranking_from(*_curve_counts(y, p))


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    import numpy as np

    which = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, y, bins) - np.bincount(which, p, bins))
    return float(gap.sum() / max(count.sum(), 1))


def pointwise(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """The binary metrics that need no ordering of the scores."""
    import numpy as np

    clipped = np.clip(p, EPS, 1 - EPS)
    predicted = p >= threshold
    tp = float(np.sum(predicted & (y == 1)))
    flagged, actual = float(predicted.sum()), float(y.sum())
    precision = tp / flagged if flagged else 0.0
    recall = tp / actual if actual else 0.0
    return {
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": ece(y, p),
        "accuracy": float(np.mean(predicted == (y == 1))),
        "precision": precision,
        "recall": recall,
        "f1": 2 * tp / (flagged + actual) if flagged + actual else 0.0,
        "positive_rate": float(y.mean()),
    }


def binary(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    return {**pointwise(y, p, threshold), **ranking(y, p)}


def multiclass(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    import numpy as np

    k = p.shape[1]
    labels = y.astype(int)
    predicted = p.argmax(axis=1)
    normalised = np.clip(p, EPS, 1.0)
    normalised = normalised / normalised.sum(axis=1, keepdims=True)
    tp = np.bincount(labels[predicted == labels], minlength=k).astype(float)
    denominator = np.bincount(predicted, minlength=k) + np.bincount(labels, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(denominator > 0, 2 * tp / denominator, 0.0)
    return {
        "log_loss": float(-np.mean(np.log(normalised[np.arange(len(labels)), labels]))),
        "macro_f1": float(f1.mean()),
        "accuracy": float(np.mean(predicted == labels)),
    }


def regression(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    import numpy as np

    error = p - y
    out = {"rmse": float(np.sqrt(np.mean(error**2))), "mae": float(np.mean(np.abs(error)))}
    spread = float(np.sum((y - y.mean()) ** 2))
    if y.size > 1 and spread > 0:
        out["r2"] = 1.0 - float(np.sum(error**2)) / spread
    return out


TASKS: dict[str, Callable[[np.ndarray, np.ndarray, float], dict[str, float]]] = {
    "binary": binary,
    "multiclass": multiclass,
    "regression": regression,
}


def compute(task: str, y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    return TASKS[task](y, p, threshold)


def row_loss(task: str, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row loss (log loss, or squared error): what weak-segment discovery compares."""
    import numpy as np

    if task == "binary":
        clipped = np.clip(p, EPS, 1 - EPS)
        return -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    if task == "multiclass":
        return -np.log(np.clip(p[np.arange(len(y)), y.astype(int)], EPS, 1.0))
    return (p - y) ** 2
