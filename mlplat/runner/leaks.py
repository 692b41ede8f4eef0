"""Columns that give the answer away, found before a model is trained on them.

Two signs, each a warning `mlplat init` prints (the user decides; the column stays declared):

- one column alone predicts the target almost perfectly: its single-feature score, out of fold,
  is at least `THRESHOLD` (AUC for a label, R² for a number);
- the target is an exact linear combination of numeric columns (a total and its parts, a
  balance after the payment that is being predicted).

A one-column model here is the mean of the target per bin of the column (per value for a
category, per quantile bin for a number), fitted on one half of the rows and scored on the
other: it sees any shape, not only a straight line, and it cannot memorise the rows it scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlplat.core.split import at_most

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

THRESHOLD = 0.99
BINS = 20
MAX_ROWS = 100_000  # a seeded sample beyond this: the scores settle long before
EXACT = 1e-9  # 1 - R² below this: the target is computed from the columns


@dataclass(frozen=True)
class Leak:
    columns: tuple[str, ...]
    score: float
    measure: str  # auc | r2

    def __str__(self) -> str:
        if len(self.columns) == 1:
            return (
                f"likely leak: '{self.columns[0]}' alone predicts the target "
                f"({self.measure} {self.score:.4f} >= {THRESHOLD}); drop it unless it is known "
                "before the target is"
            )
        names = ", ".join(f"'{c}'" for c in self.columns)
        return (
            f"likely leak: the target is an exact linear combination of {names} "
            f"(r2 {self.score:.6f}); drop the columns computed from it"
        )


def _codes(series: pd.Series) -> np.ndarray:
    """A column as numbers: its values, or category codes for text (NaN stays NaN)."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
    codes = pd.factorize(series.astype("string"))[0].astype("float64")
    codes[codes < 0] = np.nan
    return codes


def _bins(x: np.ndarray) -> np.ndarray:
    """Bin index per row: one per value when few, else quantile bins; missing has its own."""
    import numpy as np

    finite = x[np.isfinite(x)]
    values = np.unique(finite)
    if values.size <= BINS:
        edges = values[1:]
    else:
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)[1:-1]))
    out = np.searchsorted(edges, x, side="right")
    out[~np.isfinite(x)] = edges.size + 1
    return out


def _out_of_fold(bins: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Each row's prediction: the mean of `y` (rows x outputs) in its bin, on the other half."""
    import numpy as np

    half = np.random.default_rng(seed).permutation(len(bins)) < len(bins) // 2
    size = int(bins.max()) + 1
    out = np.empty_like(y)
    for fit in (half, ~half):
        counts = np.bincount(bins[fit], minlength=size)
        sums = np.stack(
            [np.bincount(bins[fit], y[fit, j], minlength=size) for j in range(y.shape[1])], 1
        )
        prior = y[fit].mean(axis=0) if fit.any() else np.zeros(y.shape[1])
        means = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], prior)
        out[~fit] = means[bins[~fit]]
    return out


def _score(task: str, y: np.ndarray, predicted: np.ndarray) -> float:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if task == "regression":
        total = float(np.sum((y[:, 0] - y[:, 0].mean()) ** 2))
        return 1.0 - float(np.sum((y[:, 0] - predicted[:, 0]) ** 2)) / total if total else 0.0
    if task == "binary":
        return float(roc_auc_score(y[:, 0], predicted[:, 0]))
    labels = y.argmax(axis=1)
    proba = predicted / np.maximum(predicted.sum(axis=1, keepdims=True), 1e-12)
    return float(roc_auc_score(labels, proba, multi_class="ovr", labels=range(y.shape[1])))


def _targets(task: str, target: pd.Series) -> np.ndarray:
    """The target as rows x outputs: the number, a 0/1 column, or one column per class."""
    import numpy as np

    if task == "regression":
        return target.to_numpy(dtype="float64").reshape(-1, 1)
    labels = target.astype("string").to_numpy(dtype=object)
    classes = sorted(set(labels))
    onehot = (labels[:, None] == np.asarray(classes, dtype=object)[None, :]).astype("float64")
    return onehot[:, -1:] if task == "binary" else onehot


def single_feature(
    frame: pd.DataFrame, target: str, task: str, columns: Sequence[str], seed: int = 42
) -> dict[str, float]:
    """Out-of-fold score of a one-column model per column (AUC for labels, R² for numbers)."""
    rows = frame[frame[target].notna()]
    rows = rows.iloc[at_most(len(rows), MAX_ROWS, seed)]
    y = _targets(task, rows[target])
    if len(rows) < 4 or (task != "regression" and y.shape[1] < 1):
        return {}
    scores = {}
    for column in columns:
        predicted = _out_of_fold(_bins(_codes(rows[column])), y, seed)
        try:
            scores[column] = _score(task, y, predicted)
        except ValueError:  # one class only in the rows: no AUC to speak of
            continue
    return scores


def linear_combination(
    frame: pd.DataFrame, target: str, task: str, columns: Sequence[str], seed: int = 42
) -> Leak | None:
    """The numeric columns the target is an exact linear combination of, if it is one."""
    import numpy as np

    if task == "multiclass" or not columns:
        return None
    rows = frame[[*columns, target]].dropna()
    rows = rows.iloc[at_most(len(rows), MAX_ROWS, seed)]
    if len(rows) <= len(columns) + 10:  # with as many unknowns as rows any target fits
        return None
    x = np.column_stack([rows[list(columns)].to_numpy(dtype="float64"), np.ones(len(rows))])
    y = _targets(task, rows[target])[:, 0]
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - x @ coef) ** 2)) / total if total else 0.0
    if r2 < 1.0 - EXACT:
        return None
    weight = np.abs(coef[:-1]) * x[:, :-1].std(axis=0)
    used = tuple(c for c, w in zip(columns, weight, strict=True) if w > 1e-6 * np.sqrt(total))
    return Leak(used, r2, "r2") if len(used) > 1 else None


def find(
    frame: pd.DataFrame,
    target: str,
    task: str,
    features: Sequence[str],
    numeric: Sequence[str],
) -> tuple[list[Leak], dict[str, float]]:
    """Every likely leak among the feature columns, and each column's single-feature score."""
    scores = single_feature(frame, target, task, features)
    measure = "r2" if task == "regression" else "auc"
    found = [Leak((c,), s, measure) for c, s in scores.items() if s >= THRESHOLD]
    combined = linear_combination(frame, target, task, numeric)
    return found + ([combined] if combined else []), scores
