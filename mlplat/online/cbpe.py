"""A label-free interim estimate of a binary model's accuracy and ROC AUC, while labels are missing.

Confidence-based performance estimation (CBPE, as in NannyML): if the predicted P(positive) p
is calibrated, a row with p is positive with probability p, so without a single label one
knows the expected confusion matrix. A row predicted positive (p >= the decision threshold) is
right with probability p, one predicted negative with probability 1 - p: the expected accuracy
is their mean. Ranked by p, each row adds p expected true positives and 1 - p expected false
positives; the expected ROC curve runs through those cumulative counts, and its area is the
expected AUC.

Each figure comes with the range the measured one will fall in with 95% probability once the
labels arrive, if the probabilities are calibrated: for the accuracy from the distribution of
the count of right rows, for the AUC from the AUCs of label sets drawn from p.

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


DRAWS, BLOCK = 1000, 50  # label sets drawn for the AUC's interval, this many at a time
MAX_ROWS = 10_000  # rows those draws use at most: `status` stays well under a second
SEED = 0  # the draws are the same each time: `status` says the same twice
Z = 1.959963984540054  # the standard normal's 97.5th percentile


@dataclass(frozen=True)
class Estimate:
    rows: int  # unlabelled rows the arm answered
    expected_accuracy: float | None  # None without rows
    expected_auc: float | None  # None without rows, or when every p is 0 (or every p is 1)
    # where the accuracy (the AUC) the labels will measure falls with 95% probability if the
    # probabilities are calibrated, as (low, high); None where the figure is, or when no label
    # set drawn from them has both classes (one row)
    accuracy_interval: tuple[float, float] | None
    auc_interval: tuple[float, float] | None


def right(p: np.ndarray, threshold: float) -> np.ndarray:
    """Each row's chance that its prediction at `threshold` is right, if p is calibrated."""
    import numpy as np

    return np.where(p >= threshold, p, 1 - p)


def expected_accuracy(p: np.ndarray, threshold: float) -> float | None:
    import numpy as np

    if p.size == 0:
        return None
    return float(np.mean(right(p, threshold)))


def accuracy_interval(p: np.ndarray, threshold: float) -> tuple[float, float] | None:
    """The rows found right are a sum of independent Bernoulli(c_i) (Poisson-binomial): the
    normal approximation of that count (mean sum c_i, variance sum c_i(1 - c_i)), widened out
    to the counts it can take, so that a few rows get [0, 1] rather than a range no realised
    accuracy can fall in, and certain rows get their one value."""
    import numpy as np

    if p.size == 0:
        return None
    c = right(p, threshold)
    mean, spread = float(c.sum()), Z * float(np.sqrt(np.sum(c * (1 - c))))
    # rounded first: a sum of floats a hair under a whole count must not floor one lower
    low = max(np.floor(round(mean - spread, 9)), 0.0)
    high = min(np.ceil(round(mean + spread, 9)), p.size)
    return float(low / p.size), float(high / p.size)


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


def drawn_aucs(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The AUC of each of DRAWS label sets drawn from p, y_i ~ Bernoulli(p_i), in the rank-sum
    (Mann-Whitney) form, tied scores sharing their mean rank as roc_auc_score counts them;
    draws with one class only have no AUC and are left out."""
    import numpy as np

    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse]  # 1-based, ascending p
    found = []
    for _ in range(DRAWS // BLOCK):
        y = rng.random((BLOCK, p.size)) < p
        n1 = y.sum(axis=1)
        both = (n1 > 0) & (n1 < p.size)
        sums = y[both].astype(float) @ ranks
        n1 = n1[both]
        found.append((sums - n1 * (n1 + 1) / 2) / (n1 * (p.size - n1)))
    return np.concatenate(found)


def auc_interval(p: np.ndarray, expected: float | None) -> tuple[float, float] | None:
    """The 2.5th and 97.5th percentiles of the AUCs of label sets drawn from p. Beyond MAX_ROWS
    rows they are drawn for a fixed-seed sample of MAX_ROWS, and their spread is narrowed by
    sqrt(MAX_ROWS / rows) around `expected`, the expected AUC of all the rows: for a given mix
    of scores an AUC's variance falls as 1/rows."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    sample = p if p.size <= MAX_ROWS else rng.choice(p, MAX_ROWS, replace=False)
    aucs = drawn_aucs(sample, rng)
    if aucs.size == 0 or expected is None:
        return None
    low, high = np.percentile(aucs, [2.5, 97.5])
    if sample.size < p.size:
        shrink, middle = np.sqrt(sample.size / p.size), aucs.mean()
        low, high = (expected + (edge - middle) * shrink for edge in (low, high))
    return float(low), float(high)


def estimate(p: np.ndarray, threshold: float) -> Estimate:
    """The estimate from the positive-class probabilities of unlabelled rows; it assumes they
    are calibrated."""
    import numpy as np

    p = np.asarray(p, dtype=float)
    auc = expected_auc(p)
    return Estimate(
        int(p.size),
        expected_accuracy(p, threshold),
        auc,
        accuracy_interval(p, threshold),
        auc_interval(p, auc),
    )


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
