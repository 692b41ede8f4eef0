"""Reference statistics kept in the bundle: drift and skew checks compare serving data to them.

Two views of the training rows: per feature (what the model sees: quantile bins, category
shares, the prediction) for drift, and per raw column (nulls, distinct values, the commonest
value's count, category counts) for the invariants learned from training (core/invariants.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

QUANTILE_BINS = 10
MAX_CATEGORIES = 50  # a text column with more distinct values is an identifier, not a category


def numeric_profile(values: np.ndarray, bins: int = QUANTILE_BINS) -> dict[str, Any]:
    import numpy as np

    values = np.asarray(values, dtype="float64")
    finite = values[np.isfinite(values)]
    profile: dict[str, Any] = {
        "type": "numeric",
        "count": int(values.size),
        "null_rate": float(1.0 - finite.size / values.size) if values.size else 0.0,
    }
    if finite.size == 0:
        return profile | {"edges": [], "counts": [], "min": None, "max": None}
    edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))
    # Inner edges only: the outer bins are open so serving values beyond training still land.
    inner = edges[1:-1]
    counts = np.bincount(np.searchsorted(inner, finite, side="right"), minlength=inner.size + 1)
    return profile | {
        "edges": inner.tolist(),
        "counts": counts.tolist(),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float(finite.mean()),
        "std": float(finite.std()),
    }


def categorical_profile(values: np.ndarray, categories: list[str]) -> dict[str, Any]:
    """`values` are category codes (floats; NaN for unseen or null), as the feature spec makes."""
    import numpy as np

    values = np.asarray(values, dtype="float64")
    known = values[np.isfinite(values)].astype(int)
    counts = np.bincount(known, minlength=len(categories))
    return {
        "type": "categorical",
        "count": int(values.size),
        "null_rate": float(1.0 - known.size / values.size) if values.size else 0.0,
        "frequencies": {c: int(n) for c, n in zip(categories, counts, strict=False)},
    }


def column_kind(series: pd.Series) -> str:
    """numeric | datetime | categorical (text, bool, category)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "datetime" if pd.api.types.is_datetime64_any_dtype(series) else "categorical"


def value_keys(values: pd.Series) -> pd.Series:
    """Non-null values as comparable text: a number is the same key whether it was read as int,
    float or text (1, 1.0 and "1" are "1.0"), anything else its str()."""
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    text = values.astype(str)
    return text.where(numbers.isna(), numbers.map(repr)).astype(str)


def key_counts(values: pd.Series) -> pd.Series:
    """Rows per key (`value_keys`) of non-null values, most common first; the keys are made
    from the distinct values only, so a million rows cost one hash count."""
    counts = values.value_counts(sort=False)
    keys = value_keys(counts.index.to_series()).to_numpy()
    return counts.groupby(keys).sum().sort_values(ascending=False, kind="stable")


def one_column(series: pd.Series) -> dict[str, Any]:
    counts = key_counts(series.dropna())
    kind = column_kind(series)
    out: dict[str, Any] = {
        "kind": kind,
        "rows": int(series.size),
        "nulls": int(series.size - counts.sum()),
        "distinct": int(counts.size),
        "top": int(counts.iloc[0]) if counts.size else 0,
    }
    if kind == "categorical" and counts.size <= MAX_CATEGORIES:
        out["frequencies"] = {str(k): int(v) for k, v in counts.items()}
    return out


def column_profile(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per raw column of the training rows: what the learned invariants compare new data with."""
    return {str(name): one_column(frame[name]) for name in frame.columns}


def build_profile(
    spec: dict[str, Any],
    matrix: np.ndarray,
    predictions: np.ndarray,
    rows: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """`rows`: the raw training rows `matrix` was computed from, for the column profile."""
    features = {}
    for i, feature in enumerate(spec["features"]):
        column = matrix[:, i]
        if feature["kind"] == "category":
            features[feature["name"]] = categorical_profile(column, feature["categories"])
        else:
            features[feature["name"]] = numeric_profile(column)
    import numpy as np

    preds = np.asarray(predictions, dtype="float64")
    prediction = numeric_profile(preds if preds.ndim == 1 else preds.max(axis=1))
    out = {
        "version": 1,
        "rows": int(matrix.shape[0]),
        "features": features,
        "prediction": prediction,
    }
    return out if rows is None else out | {"columns": column_profile(rows)}
