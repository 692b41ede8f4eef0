"""Columns that give the answer away, found before a model is trained on them.

Two signs, each a warning `mlplat init` prints (the user decides; the column stays declared):

- one column alone predicts the target almost perfectly: its single-feature score, out of fold,
  is at least `THRESHOLD` (AUC for a label, R² for a number);
- the target is an exact linear combination of numeric columns (a total and its parts, a
  balance after the payment that is being predicted).

A one-column model here is the mean of the target at each value of the column, interpolated
between values for a number, fitted on one half of the rows and scored on the other: it follows
any shape, not only a straight line, so a target computed from the column (`wage` from
`logwage`) scores near 1; a merely strong feature loses to the noise between neighbours.
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
FEW = 20  # a number with more distinct values is read as a smooth curve, not value by value
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


def _is_number(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _codes(series: pd.Series) -> np.ndarray:
    """A column as numbers: its values, or category codes for text (NaN stays NaN)."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
    codes = pd.factorize(series.astype("string"))[0].astype("float64")
    codes[codes < 0] = np.nan
    return codes


def _means(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct finite values of `x`, mean of `y` (rows x outputs) at each)."""
    import numpy as np

    values, inverse = np.unique(x, return_inverse=True)
    counts = np.bincount(inverse, minlength=values.size)
    sums = [np.bincount(inverse, y[:, j], minlength=values.size) for j in range(y.shape[1])]
    return values, np.stack(sums, axis=1) / counts[:, None]


def _fit_predict(x: np.ndarray, y: np.ndarray, new: np.ndarray, smooth: bool) -> np.ndarray:
    """A one-column model fitted on (x, y), for `new`: the mean of y at each value, between
    values interpolated when `smooth` (a number); a value it never saw, or missing, gets the
    mean of y over rows that were missing, else over all."""
    import numpy as np

    prior = y.mean(axis=0)
    missing = ~np.isfinite(x)
    fallback = y[missing].mean(axis=0) if missing.any() else prior
    out = np.tile(fallback, (new.size, 1))
    if missing.all():
        return out
    values, means = _means(x[~missing], y[~missing])
    known = np.isfinite(new)
    if smooth:
        for j in range(y.shape[1]):
            out[known, j] = np.interp(new[known], values, means[:, j])
        return out
    where = np.minimum(np.searchsorted(values, new[known]), values.size - 1)
    hit = values[where] == new[known]
    rows = np.flatnonzero(known)
    out[rows[hit]] = means[where[hit]]
    out[rows[~hit]] = prior
    return out


def _out_of_fold(x: np.ndarray, y: np.ndarray, smooth: bool, seed: int) -> np.ndarray:
    """Each row's prediction by a one-column model fitted on the other half of the rows."""
    import numpy as np

    half = np.random.default_rng(seed).permutation(len(x)) < len(x) // 2
    out = np.empty_like(y)
    for fit in (half, ~half):
        out[~fit] = _fit_predict(x[fit], y[fit], x[~fit], smooth)
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
    import numpy as np

    y = _targets(task, rows[target])
    if len(rows) < 4:
        return {}
    scores = {}
    for column in columns:
        x = _codes(rows[column])
        smooth = _is_number(rows[column]) and np.unique(x[np.isfinite(x)]).size > FEW
        predicted = _out_of_fold(x, y, smooth, seed)
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
