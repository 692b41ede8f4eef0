"""What an evaluation's numbers do not say on their own, as sentences for the run summary and
the report: rows dropped for a missing target, a class the model never predicts (its accuracy
then only repeats the majority rate), a simpler model that scores better."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplat.core.labels import classes_of
from mlplat.core.metric_names import LOWER_IS_BETTER

if TYPE_CHECKING:
    import numpy as np


def dropped_rows(spec: dict[str, Any]) -> list[str]:
    rows = spec.get("rows", {})
    count = int(rows.get("missing_target", 0))
    if not count:
        return []
    share = count / max(int(rows.get("read", count)), 1)
    return [
        f"{count} row(s) ({share:.1%}) had no value in target '{spec['target']['column']}' "
        "and were left out (data.missing_target: drop)"
    ]


def _binary_unpredicted(
    target: dict[str, Any], y: np.ndarray, scores: np.ndarray, threshold: float
) -> list[str]:
    negative, positive = classes_of(target)
    predicted = int((scores >= threshold).sum())
    if predicted and predicted < y.size:
        return []
    never, always = (positive, negative) if not predicted else (negative, positive)
    present = int((y == (1.0 if never == positive else 0.0)).sum())
    if not present:
        return []
    return [
        f"the model predicts '{always}' for every holdout row at model.threshold={threshold:g}: "
        f"it never predicts '{never}' ({present} of {y.size} rows, {present / y.size:.1%}), "
        "so accuracy is the majority rate; judge it by auc and pr_auc, or move model.threshold"
    ]


def unpredicted_classes(
    target: dict[str, Any], y: np.ndarray, scores: np.ndarray, threshold: float
) -> list[str]:
    """A class present in the holdout that no row is predicted as."""
    import numpy as np

    if target["task"] == "binary":
        return _binary_unpredicted(target, y, scores, threshold)
    if target["task"] != "multiclass" or not y.size:
        return []
    names = classes_of(target)
    predicted = set(np.unique(scores.argmax(axis=1)).tolist())
    present = np.bincount(y.astype(int), minlength=len(names))
    missed = [k for k in range(len(names)) if present[k] and k not in predicted]
    return [
        f"the model never predicts class '{names[k]}' ({present[k]} of {y.size} holdout rows)"
        for k in missed
    ]


def behind_baseline(
    metric: str, overall: dict[str, float], baselines: dict[str, dict[str, float]]
) -> list[str]:
    """The model scores worse than a baseline on the lift metric."""
    if metric not in overall:
        return []
    lower = metric in LOWER_IS_BETTER
    out = []
    for name, found in baselines.items():
        value = found.get(metric)
        if value is None or (value >= overall[metric] if lower else value <= overall[metric]):
            continue
        out.append(
            f"the {name} baseline scores better than the model on {metric}: {value:.4f} vs "
            f"{overall[metric]:.4f} (by {abs(value - overall[metric]):.4f})"
        )
    return out


def thin_segments(rows: list[dict[str, Any]]) -> list[str]:
    """Declared segments with too few holdout rows to measure: said, not silently left out."""
    thin = [f"{r['segment']} ({r['support']} rows)" for r in rows if not r.get("supported", True)]
    if not thin:
        return []
    need = min(r["min_support"] for r in rows if not r.get("supported", True))
    return [
        f"{len(thin)} segment(s) below segments.min_support ({need} holdout rows) were not "
        f"measured or gated: {', '.join(thin)}"
    ]
