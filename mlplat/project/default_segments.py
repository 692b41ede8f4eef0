"""The segments `mlplat init` declares: one slice per value of a few low-cardinality categories,
and the most telling numeric feature cut at its quartiles.

Init also counts each slice's rows in the holdout its split will make, so a slice too small to
be measured (`segments.min_support`) is named in its summary instead of vanishing from reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlplat.project.inference import ColumnPlan, Role

if TYPE_CHECKING:
    import pandas as pd

SEGMENT_VALUES = 10  # a category with at most this many values: one slice per value
MAX_CATEGORY_SEGMENTS = 3
MIN_BINNED_VALUES = 10  # fewer distinct numbers: nothing to cut into quartiles
MIN_SUPPORT = 50
QUARTILES = (0.25, 0.5, 0.75)


def _step(spread: float) -> float:
    """A round unit two significant digits into the spread: 1 for 72, 0.1 for 6, 10 for 199."""
    return 10.0 ** (math.floor(math.log10(spread)) - 1) if spread > 0 else 1.0


def _round(x: float) -> float | int:
    x = round(x, 10)
    return int(x) if x.is_integer() else x


def bin_edges(values: pd.Series) -> list[float | int]:
    """Quartile edges rounded for people, from the minimum to above the maximum (a segment's
    bins are [low, high), so every row of the data falls in one)."""
    finite = values.dropna().astype("float64")
    low, high = float(finite.min()), float(finite.max())
    step = _step(high - low)
    if bool((finite == finite.round()).all()):  # whole numbers: whole edges
        step = max(step, 1.0)
    bottom, top = math.floor(low / step) * step, (math.floor(high / step) + 1) * step
    inner = [round(float(finite.quantile(q)) / step) * step for q in QUARTILES]
    return sorted({_round(e) for e in (bottom, *inner, top) if bottom <= e <= top})


def _categorical(plans: list[ColumnPlan]) -> dict[str, dict[str, Any]]:
    """Few-valued columns, text first; a number with so few values (a 1-5 rating, a count of
    children) is read as levels too, so a table of such codes still gets segments."""
    few = [p for p in plans if p.role == Role.feature and 2 <= p.distinct <= SEGMENT_VALUES]
    kinds = sorted(few, key=lambda p: p.contract["dtype"] not in ("str", "bool"))
    return {
        p.derived: {"column": p.name, "each_value": True} for p in kinds[:MAX_CATEGORY_SEGMENTS]
    }


def _binned(
    frame: pd.DataFrame, plans: list[ColumnPlan], scores: Mapping[str, float], leaky: set[str]
) -> dict[str, dict[str, Any]]:
    numbers = [
        p
        for p in plans
        if p.role == Role.feature
        and p.contract["dtype"] in ("int", "float")
        and p.distinct >= MIN_BINNED_VALUES
        and p.name not in leaky
    ]
    if not numbers:
        return {}
    best = max(numbers, key=lambda p: scores.get(p.name, 0.0))  # first of equals: column order
    return {best.derived: {"column": best.name, "bins": bin_edges(frame[best.name])}}


def declare(
    frame: pd.DataFrame, plans: list[ColumnPlan], scores: Mapping[str, float], leaky: set[str]
) -> dict[str, dict[str, Any]]:
    """conf/segments slices: name -> declaration."""
    return _categorical(plans) | _binned(frame, plans, scores, leaky)


def thin(
    holdout: pd.DataFrame, slices: Mapping[str, Mapping[str, Any]], min_support: int
) -> list[tuple[str, int]]:
    """(slice, holdout rows) of every slice below `min_support`: listed, not measured."""
    from mlplat.core.config.validation import SegmentConfig
    from mlplat.stages.evaluate.segments import expand

    out = []
    for name, spec in slices.items():
        for piece, _, mask in expand(holdout, name, SegmentConfig(**spec)):
            if int(mask.sum()) < min_support:
                out.append((piece, int(mask.sum())))
    return out
