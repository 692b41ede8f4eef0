"""Reference statistics kept in the bundle: drift and skew checks compare serving data to them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

QUANTILE_BINS = 10


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


def build_profile(
    spec: dict[str, Any], matrix: np.ndarray, predictions: np.ndarray
) -> dict[str, Any]:
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
    return {
        "version": 1,
        "rows": int(matrix.shape[0]),
        "features": features,
        "prediction": prediction,
    }
