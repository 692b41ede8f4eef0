"""The metrics of many bootstrap resamples at once, from how often each draw took each row.

A resample that draws row i `w[i]` times has, for every metric here, the value of a function of a
few weighted row sums (`w @ column`). A block of resamples is a matrix of such counts, so one
matrix product gives every pointwise metric of the whole block, and a cumulative sum over the
rows sorted once by score gives the ranking metrics (the same curve points as sorting each
resample). Per resample in Python, the bootstrap was most of the evaluate stage; a block costs a
few array operations. tests/stages/test_evaluate_metrics.py holds every value equal to
`fast.compute` on the resampled rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from mlplat.stages.evaluate.fast import EPS, RANKING

if TYPE_CHECKING:
    import numpy as np

Values = dict[str, "np.ndarray"]  # metric -> one value per resample of a block (NaN: undefined)
BLOCK_CELLS = 1_000_000  # resamples x rows per block: bounds memory at ~8 MB per array
ECE_BINS = 10


def count_blocks(rows: int, count: int, seed: int) -> Iterator[np.ndarray]:
    """How often each of `rows` positions was drawn, for `count` bootstrap draws of `rows`, as
    (draws x rows) blocks: the draws of `count` successive `rng.integers(0, rows, rows)`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    per_block = max(1, BLOCK_CELLS // max(rows, 1))
    for start in range(0, count, per_block):
        size = min(per_block, count - start)
        drawn = rng.integers(0, rows, size=(size, rows))
        drawn += np.arange(size)[:, None] * rows  # each draw counts into its own row of the block
        yield np.bincount(drawn.ravel(), minlength=size * rows).reshape(size, rows)


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom, 0 where bottom is 0 (precision and recall of a draw with nothing flagged)."""
    import numpy as np

    return np.divide(top, bottom, out=np.zeros_like(top, dtype=float), where=bottom != 0)


def _binary_columns(y: np.ndarray, p: np.ndarray, threshold: float) -> np.ndarray:
    import numpy as np

    clipped = np.clip(p, EPS, 1 - EPS)
    flagged = p >= threshold
    positive = y == 1
    which = np.minimum((p * ECE_BINS).astype(int), ECE_BINS - 1)
    gaps = np.zeros((y.size, ECE_BINS))
    gaps[np.arange(y.size), which] = y - p
    loss = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    rows = [loss, (p - y) ** 2, flagged == positive, flagged & positive, flagged, y]
    return np.column_stack([*rows, gaps])


def _binary_values(sums: np.ndarray, drawn: int) -> Values:
    import numpy as np

    loss, brier, correct, tp, flagged, actual = sums[:, :6].T
    return {
        "log_loss": loss / drawn,
        "brier": brier / drawn,
        "ece": np.abs(sums[:, 6:]).sum(axis=1) / drawn,
        "accuracy": correct / drawn,
        "precision": _ratio(tp, flagged),
        "recall": _ratio(tp, actual),
        "f1": _ratio(2 * tp, flagged + actual),
        "positive_rate": actual / drawn,
    }


def _multiclass_columns(y: np.ndarray, p: np.ndarray, threshold: float) -> np.ndarray:
    import numpy as np

    k = p.shape[1]
    labels, predicted = y.astype(int), p.argmax(axis=1)
    normalised = np.clip(p, EPS, 1.0)
    normalised = normalised / normalised.sum(axis=1, keepdims=True)
    loss = -np.log(normalised[np.arange(y.size), labels])
    correct = predicted == labels
    classes = np.arange(k)
    hits = (labels[:, None] == classes) & correct[:, None]
    picked, actual = predicted[:, None] == classes, labels[:, None] == classes
    return np.column_stack([loss, correct, hits, picked, actual])


def _multiclass_values(sums: np.ndarray, drawn: int) -> Values:
    k = (sums.shape[1] - 2) // 3
    hits, picked, actual = (sums[:, 2 + i * k : 2 + (i + 1) * k] for i in range(3))
    return {
        "log_loss": sums[:, 0] / drawn,
        "macro_f1": _ratio(2 * hits, picked + actual).mean(axis=1),
        "accuracy": sums[:, 1] / drawn,
    }


def _regression_columns(y: np.ndarray, p: np.ndarray, threshold: float) -> np.ndarray:
    import numpy as np

    error = p - y
    centred = y - y.mean()  # so the spread below does not cancel away when |mean| >> spread
    return np.column_stack([error**2, np.abs(error), centred, centred**2])


def _regression_values(sums: np.ndarray, drawn: int) -> Values:
    import numpy as np

    squared, absolute, total, total_sq = sums.T
    spread = total_sq - total**2 / drawn  # sum of (y - mean)^2 over the draw
    defined = (spread > 1e-12 * total_sq) & (drawn > 1)
    r2 = 1.0 - _ratio(squared, spread)
    return {
        "rmse": np.sqrt(squared / drawn),
        "mae": absolute / drawn,
        "r2": np.where(defined, r2, np.nan),
    }


TASKS: dict[
    str,
    tuple[
        Callable[[np.ndarray, np.ndarray, float], np.ndarray],
        Callable[[np.ndarray, int], Values],
    ],
] = {
    "binary": (_binary_columns, _binary_values),
    "multiclass": (_multiclass_columns, _multiclass_values),
    "regression": (_regression_columns, _regression_values),
}


class Ranking:
    """AUC and average precision of every draw of a block, for binary labels already in the
    order of descending score, from cumulative sums of the draw's counts (integers, so exact).

    Ties count as scikit-learn counts them: a positive and a negative of one score are half a
    correctly ordered pair, and every positive of a score takes the precision at its last row.
    When most scores are tied, each distinct score's counts are summed into one column first;
    when few are (a model's scores usually are all distinct), the sums run over the rows as if
    untied, and the pairs and precisions of the few tied groups are set right afterwards, so a
    draw costs one pass over all rows plus passes over the positive rows only."""

    def __init__(self, y: np.ndarray, scores: np.ndarray) -> None:
        import numpy as np

        self.y = y.astype(np.int64)
        # the first row of each distinct score: ties form one curve point, as in scikit-learn
        self.starts = np.r_[0, np.flatnonzero(np.diff(scores)) + 1]
        self.grouped = self.starts.size < scores.size / 2
        self.positives = np.flatnonzero(self.y == 1)
        sizes = np.diff(np.r_[self.starts, scores.size])
        in_tie = np.repeat(sizes > 1, sizes)  # the row shares its score with another row
        # the rows of every tied group, one group after another, and where each group begins
        self.tied, self.tied_sizes = np.flatnonzero(in_tie), sizes[sizes > 1]
        self.tied_starts = np.cumsum(self.tied_sizes) - self.tied_sizes
        self.tied_ends = self.tied[self.tied_starts + self.tied_sizes - 1]
        # positives up to each tied group's last row, and which positives are in a tied group
        self.end_rank = np.searchsorted(self.positives, self.tied_ends, side="right")
        self.tied_positives = np.flatnonzero(in_tie[self.positives])

    def values(self, counts: np.ndarray) -> Values:
        import numpy as np

        above, pr_sum, positives, negatives = (
            self._grouped(counts) if self.grouped else self._rows(counts)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = above / (positives * negatives)
            pr_auc = pr_sum / positives
        defined = (positives > 0) & (negatives > 0)  # one class drawn: undefined
        return {"auc": np.where(defined, auc, np.nan), "pr_auc": np.where(defined, pr_auc, np.nan)}

    def _grouped(self, counts: np.ndarray) -> tuple[np.ndarray, ...]:
        import numpy as np

        positive = np.add.reduceat(counts * self.y, self.starts, axis=1)
        negative = np.add.reduceat(counts, self.starts, axis=1) - positive
        tps = np.cumsum(positive, axis=1)  # positives at or above each score
        drawn = tps + np.cumsum(negative, axis=1)
        positives, negatives = tps[:, -1], drawn[:, -1] - tps[:, -1]
        # each negative beats the positives above it, and half of those tied with it
        above = np.einsum("ij,ij->i", negative, tps) - np.einsum("ij,ij->i", negative, positive) / 2
        precision = tps / np.maximum(drawn, 1)  # 0 before the draw's first row
        return above, np.einsum("ij,ij->i", positive, precision), positives, negatives

    def _rows(self, counts: np.ndarray) -> tuple[np.ndarray, ...]:
        import numpy as np

        drawn = np.cumsum(counts, axis=1)  # rows at or above each row
        # np.take, not fancy indexing: a third of the time for a gather of columns
        positive = np.take(counts, self.positives, axis=1)
        at_positive = np.take(drawn, self.positives, axis=1)
        tps = np.cumsum(positive, axis=1)  # positives at or above each positive row
        positives = tps[:, -1] if tps.shape[1] else np.zeros(len(counts), dtype=np.int64)
        negatives = drawn[:, -1] - positives
        # a positive beats every negative below it: all negatives but those at or above it
        # (at_positive - tps); the positives' own pairs sum to (P^2 + sum of squares) / 2
        squares = np.einsum("ij,ij->i", positive, positive)
        mixed = np.einsum("ij,ij->i", positive, at_positive)
        above = positives * negatives - mixed + (positives**2 + squares) / 2
        precision = positive * tps / np.maximum(at_positive, 1)
        pr_sum = precision.sum(axis=1)
        if self.tied.size:
            fix_above, fix_pr = self._ties(counts, drawn, tps, precision)
            above, pr_sum = above + fix_above, pr_sum + fix_pr
        return above, pr_sum, positives, negatives

    def _ties(
        self, counts: np.ndarray, drawn: np.ndarray, tps: np.ndarray, precision: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """What the untied sums got wrong in the tied groups: a positive and a negative of one
        group counted as ordered by row, and each positive's precision taken at its own row."""
        import numpy as np

        tied = np.take(counts, self.tied, axis=1)
        positive = tied * self.y[self.tied]
        negative = tied - positive
        running = np.cumsum(positive, axis=1)
        before = running[:, self.tied_starts] - positive[:, self.tied_starts]
        # positives of its own group at or above each row (the same as above it, for a negative)
        within = running - np.repeat(before, self.tied_sizes, axis=1)
        group_pos = np.add.reduceat(positive, self.tied_starts, axis=1)
        group_neg = np.add.reduceat(negative, self.tied_starts, axis=1)
        pairs = np.einsum("ij,ij->i", group_pos, group_neg) / 2 - np.einsum(
            "ij,ij->i", negative, within
        )
        has = self.end_rank > 0  # a group with no positive at or above its end adds nothing
        at_end = np.where(has, tps[:, np.maximum(self.end_rank - 1, 0)], 0) if tps.size else 0
        end_precision = at_end / np.maximum(drawn[:, self.tied_ends], 1)
        pr = np.einsum("ij,ij->i", group_pos, end_precision)
        return pairs, pr - precision[:, self.tied_positives].sum(axis=1)


class Scorer:
    """Every metric (or only `only`) of each draw of a block, for one slice's labels and scores.

    Binary rows are kept sorted by descending score, and a block's counts are indexed in that
    order (`order` maps it to the slice's rows): a draw of uniform positions is a bootstrap draw
    whatever the order, and the ranking metrics need no sort or gather per draw."""

    def __init__(
        self, task: str, y: np.ndarray, p: np.ndarray, threshold: float, only: str | None = None
    ) -> None:
        import numpy as np

        columns, self._finish = TASKS[task]
        binary = task == "binary"
        self.order = np.argsort(-p, kind="mergesort") if binary else np.arange(y.size)
        y, p = y[self.order], p[self.order]
        self.ranking = Ranking(y, p) if binary and (only is None or only in RANKING) else None
        pointwise = only is None or only not in RANKING
        self.columns = columns(y, p, threshold) if pointwise else None
        self.only = only

    def aligned(self, other: Scorer) -> np.ndarray:
        """Positions, in this scorer's order, of `other`'s rows: `counts[:, aligned(other)]`
        are the same draws for `other` (a paired bootstrap of two models on one slice)."""
        import numpy as np

        position = np.empty_like(self.order)
        position[self.order] = np.arange(self.order.size)
        return position[other.order]

    def values(self, counts: np.ndarray) -> Values:
        import numpy as np

        out: Values = {}
        if self.columns is not None:
            out.update(self._finish(counts @ self.columns, counts.shape[1]))
        if self.ranking is not None:
            out.update(self.ranking.values(counts))
        if self.only is None:
            return out
        return {self.only: out.get(self.only, np.full(counts.shape[0], np.nan))}
