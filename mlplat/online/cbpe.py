"""A label-free interim estimate of a binary model's accuracy and ROC AUC, while labels are missing.

Confidence-based performance estimation (CBPE, as in NannyML): if the predicted P(positive) p
is calibrated, a row with p is positive with probability p, so without a single label one
knows the expected confusion matrix. A row predicted positive (p >= the decision threshold) is
right with probability p, one predicted negative with probability 1 - p: the expected accuracy
is their mean. Ranked by p, each row adds p expected true positives and 1 - p expected false
positives; the expected ROC curve runs through those cumulative counts, and its area is the
expected AUC.

Everything rests on calibration: a model whose probabilities are off (or a population that
drifted so that they became off) gets a confident and wrong estimate. It is shown beside the
measured figures, never fed to the decision, which waits for labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlplat.core.config import PlatformConfig
    from mlplat.serving.online.state import Layout


@dataclass(frozen=True)
class Estimate:
    rows: int  # unlabelled rows the arm answered
    expected_accuracy: float | None  # None without rows
    expected_auc: float | None  # None without rows, or when every p is 0 (or every p is 1)


def expected_accuracy(p: np.ndarray, threshold: float) -> float | None:
    import numpy as np

    if p.size == 0:
        return None
    return float(np.mean(np.where(p >= threshold, p, 1 - p)))


def expected_auc(p: np.ndarray) -> float | None:
    """The trapezoid area under the expected ROC curve. Rows of equal p are one step of the
    curve (a diagonal), as tied scores are for a measured AUC."""
    import numpy as np

    positives, negatives = p.sum(), (1 - p).sum()
    if p.size == 0 or positives <= 0 or negatives <= 0:
        return None
    negated, counts = np.unique(-p, return_counts=True)  # distinct p, highest first
    tp = np.r_[0.0, np.cumsum(-negated * counts)] / positives
    fp = np.r_[0.0, np.cumsum((1 + negated) * counts)] / negatives
    return float(np.sum((fp[1:] - fp[:-1]) * (tp[1:] + tp[:-1]) / 2))


def estimate(p: np.ndarray, threshold: float) -> Estimate:
    """The estimate from the positive-class probabilities of unlabelled rows; it assumes they
    are calibrated."""
    import numpy as np

    p = np.asarray(p, dtype=float)
    return Estimate(int(p.size), expected_accuracy(p, threshold), expected_auc(p))


def per_arm(rows: pd.DataFrame, threshold: float) -> dict[str, Estimate]:
    """Each arm's estimate over its unlabelled rows (`arm`, `prediction`, and the `threshold`
    its server logged; `threshold` for rows logged before servers recorded it)."""
    from mlplat.core.vocabulary import Arm

    out = {}
    for arm in Arm:
        mine = rows[rows["arm"] == arm.value]
        logged = mine["threshold"].dropna()
        served = float(logged.iloc[-1]) if len(logged) else threshold
        out[arm.value] = estimate(mine["prediction"].to_numpy(dtype=float), served)
    return out


def label_free(layout: Layout, cfg: PlatformConfig) -> dict[str, Estimate]:
    """Each arm's estimate, for a binary model only: a multiclass or regression model has no
    single probability whose calibration the estimate could lean on."""
    from mlplat.online.feedback import unlabelled_rows

    if cfg.model.task != "binary":
        return {}
    return per_arm(unlabelled_rows(layout), cfg.model.threshold)
