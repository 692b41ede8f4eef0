"""Curves as plain data: `dvc plots show` renders the files, and the HTML report draws them.

Each file is `{"<name>": [{x: .., y: ..}, ...]}`, the shape DVC reads for JSON plots (and the one
DVCLive writes for ROC curves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAX_POINTS = 200
# file stem -> (x field, y field, title): what dvc.yaml's `plots:` section and the report use.
AXES = {
    "roc": ("fpr", "tpr", "ROC curve"),
    "pr": ("recall", "precision", "Precision-recall curve"),
    "calibration": ("predicted", "observed", "Calibration"),
}


def _thinned(**columns: np.ndarray) -> list[dict[str, float]]:
    """Points of the columns, at most MAX_POINTS of them (the first and the last kept), picked
    before any point is built: a curve of a large holdout has a point per distinct score."""
    size = len(next(iter(columns.values())))
    if size > MAX_POINTS:
        step = (size - 1) / (MAX_POINTS - 1)
        keep = [round(i * step) for i in range(MAX_POINTS)]
        columns = {name: values[keep] for name, values in columns.items()}
    names = list(columns)
    return [
        dict(zip(names, (float(v) for v in values), strict=True))
        for values in zip(*columns.values(), strict=True)
    ]


def roc(y: np.ndarray, p: np.ndarray) -> list[dict[str, float]]:
    import numpy as np
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(y, p)
    return _thinned(fpr=fpr, tpr=tpr, threshold=np.minimum(thresholds, 1.0))


def pr(y: np.ndarray, p: np.ndarray) -> list[dict[str, float]]:
    import numpy as np
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, p)
    return _thinned(recall=recall, precision=precision, threshold=np.r_[thresholds, 1.0])


def calibration(
    observed: np.ndarray, predicted: np.ndarray, bins: int = 10
) -> list[dict[str, float]]:
    """Mean prediction vs mean outcome per quantile bin of the prediction."""
    import numpy as np

    edges = np.unique(np.quantile(predicted, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, max(len(edges) - 2, 0))
    points = []
    for b in np.unique(which):
        mask = which == b
        points.append(
            {
                "predicted": float(predicted[mask].mean()),
                "observed": float(observed[mask].mean()),
                "rows": float(mask.sum()),
            }
        )
    return points


def curves(task: str, y: np.ndarray, p: np.ndarray) -> dict[str, list[dict[str, float]]]:
    """Curve name -> points. Multiclass calibration uses the top class's confidence."""
    import numpy as np

    if task == "binary":
        if len(np.unique(y)) < 2:
            return {"calibration": calibration(y, p)}
        return {"roc": roc(y, p), "pr": pr(y, p), "calibration": calibration(y, p)}
    if task == "multiclass":
        hit = (p.argmax(axis=1) == y).astype(float)
        return {"calibration": calibration(hit, p.max(axis=1))}
    return {"calibration": calibration(y, p)}


def files(found: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """File name -> content for evaluate/plots/."""
    return {f"{name}.json": {name: points} for name, points in found.items()}
