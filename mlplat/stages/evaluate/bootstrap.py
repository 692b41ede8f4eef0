"""Percentile bootstrap: confidence intervals for every metric, and paired deltas between models.

Paired means both models are scored on the same resampled rows, so the interval of their
difference reflects model disagreement, not which rows happened to be drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from mlplat.core.metric_names import LOWER_IS_BETTER
from mlplat.stages.evaluate import fast, weighted

if TYPE_CHECKING:
    import numpy as np

Interval = tuple[float, float]
Number = TypeVar("Number", float, "np.ndarray")


def _bounds(values: np.ndarray, confidence: float) -> Interval:
    import numpy as np

    finite = values[np.isfinite(values)]
    if finite.size < max(10, values.size // 2):  # undefined on too many draws: no honest interval
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return float(low), float(high)


def _draws(
    scorer: weighted.Scorer, rows: int, count: int, seed: int, paired: weighted.Scorer | None = None
) -> tuple[weighted.Values, weighted.Values]:
    """Metric -> its value on each of `count` seeded resamples (NaN where undefined), for
    `scorer` and, on the very same rows, for `paired`."""
    import numpy as np

    aligned = scorer.aligned(paired) if paired else None
    first: list[weighted.Values] = []
    second: list[weighted.Values] = []
    for counts in weighted.count_blocks(rows, count, seed):
        first.append(scorer.values(counts))
        if paired and aligned is not None:
            second.append(paired.values(np.take(counts, aligned, axis=1)))

    def joined(blocks: list[weighted.Values]) -> weighted.Values:
        return {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}

    return joined(first), joined(second) if second else {}


def intervals(
    task: str,
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    count: int,
    confidence: float,
    seed: int,
) -> dict[str, Interval]:
    """Metric -> (low, high) percentile interval over `count` resamples."""
    if count <= 0 or y.size == 0:
        return {}
    draws, _ = _draws(weighted.Scorer(task, y, p, threshold), y.size, count, seed)
    return {name: _bounds(values, confidence) for name, values in draws.items()}


def better_by(metric: str, new: Number, old: Number) -> Number:
    """Signed improvement of `new` over `old`: positive is better, whatever the direction."""
    return old - new if metric in LOWER_IS_BETTER else new - old


def paired_delta(
    task: str,
    metric: str,
    y: np.ndarray,
    new: np.ndarray,
    old: np.ndarray,
    threshold: float,
    count: int,
    confidence: float,
    seed: int,
) -> tuple[float, Interval]:
    """Improvement of `new` over `old` on `metric` (positive is better) and its interval."""
    point_new = fast.compute(task, y, new, threshold).get(metric, float("nan"))
    point_old = fast.compute(task, y, old, threshold).get(metric, float("nan"))
    if count <= 0 or y.size == 0:
        return better_by(metric, point_new, point_old), (float("nan"), float("nan"))
    draws_new, draws_old = _draws(
        weighted.Scorer(task, y, new, threshold, metric),
        y.size,
        count,
        seed,
        paired=weighted.Scorer(task, y, old, threshold, metric),
    )
    deltas = better_by(metric, draws_new[metric], draws_old[metric])
    return better_by(metric, point_new, point_old), _bounds(deltas, confidence)
