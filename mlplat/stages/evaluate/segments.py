"""Declared segments (`conf/segments/`): slices of the holdout, each with metrics, support and CIs.

A slice is `column == value`, `column in [...]`, a numeric range `[low, high)`, one slice per bin,
one slice per value (`each_value`), or every pair of values of two columns (`cross`). Expanded
slices are named `<name>.<value>` so MLflow metrics read `segment.region.south.auc`.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

from mlplat.core.errors import ConfigError
from mlplat.core.labels import label_text
from mlplat.stages.evaluate import bootstrap, fast

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlplat.core.config.validation import SegmentConfig, SegmentsConfig

Slice = tuple[str, str, "np.ndarray"]  # (name, human description, boolean row mask)


def slug(value: Any) -> str:
    """A value as a metric-name-safe token: `month_to_month`, `25_35`, `true`, `22` (a whole
    number read as a float is still `22`, not `22_0`)."""
    text = re.sub(r"[^0-9a-zA-Z_\-]+", "_", label_text(value)).strip("_").lower()
    return text or "empty"


def _number(value: Any) -> float:
    return float(value)


def equals_mask(series: pd.Series, value: Any) -> np.ndarray:
    """Numbers compare as numbers, anything else as text, so YAML `1` matches 1, 1.0 and '1'."""
    import pandas as pd

    if isinstance(value, int | float) and not isinstance(value, bool):
        numeric = pd.to_numeric(series, errors="coerce")
        if numeric.notna().any():
            return (numeric == float(value)).to_numpy(dtype=bool)
    return (series.astype("string") == str(value)).fillna(False).to_numpy(dtype=bool)


def range_mask(series: pd.Series, low: float, high: float) -> np.ndarray:
    import pandas as pd

    values = pd.to_numeric(series, errors="coerce")
    return ((values >= low) & (values < high)).fillna(False).to_numpy(dtype=bool)


def _values(series: pd.Series) -> list[Any]:
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    return sorted(series.dropna().unique().tolist(), key=None if numeric else str)


def _column(frame: pd.DataFrame, name: str, column: str | None, key: str = "column") -> pd.Series:
    if not column:
        raise ConfigError(f"segment '{name}' needs a column", key=f"segments.slices.{name}.{key}")
    if column not in frame.columns:
        raise ConfigError(
            f"segment '{name}' reads column '{column}', which the holdout does not have",
            key=f"segments.slices.{name}.{key}",
        )
    return frame[column]


def _cross(frame: pd.DataFrame, name: str, columns: list[str]) -> list[Slice]:
    if len(columns) != 2:
        raise ConfigError(
            f"segment '{name}': cross takes two columns", key=f"segments.slices.{name}.cross"
        )
    first, second = (_column(frame, name, c, "cross") for c in columns)
    out = []
    for a in _values(first):
        for b in _values(second):
            mask = equals_mask(first, a) & equals_mask(second, b)
            out.append(
                (f"{name}.{slug(a)}.{slug(b)}", f"{columns[0]} == {a} & {columns[1]} == {b}", mask)
            )
    return out


def _bins(series: pd.Series, name: str, column: str, edges: list[float]) -> list[Slice]:
    pairs = itertools.pairwise(edges)
    return [
        (
            f"{name}.{slug(f'{lo:g}')}_{slug(f'{hi:g}')}",
            f"{lo} <= {column} < {hi}",
            range_mask(series, lo, hi),
        )
        for lo, hi in pairs
    ]


def expand(frame: pd.DataFrame, name: str, spec: SegmentConfig) -> list[Slice]:
    """One declared segment -> its slices over `frame`."""
    if spec.cross:
        return _cross(frame, name, list(spec.cross))
    series = _column(frame, name, spec.column)
    column = str(spec.column)
    if spec.each_value:
        return [
            (f"{name}.{slug(v)}", f"{column} == {v}", equals_mask(series, v))
            for v in _values(series)
        ]
    if spec.bins:
        return _bins(series, name, column, [_number(b) for b in spec.bins])
    if spec.range:
        low, high = (_number(v) for v in spec.range)
        return [(name, f"{low} <= {column} < {high}", range_mask(series, low, high))]
    if spec.isin is not None:
        mask = (
            series.astype("string")
            .isin([str(v) for v in spec.isin])
            .fillna(False)
            .to_numpy(dtype=bool)
        )
        return [(name, f"{column} in {list(spec.isin)}", mask)]
    if spec.equals is not None:
        return [(name, f"{column} == {spec.equals}", equals_mask(series, spec.equals))]
    raise ConfigError(
        f"segment '{name}' declares no slice: set equals, isin, range, bins, each_value or cross",
        key=f"segments.slices.{name}",
    )


def declared(frame: pd.DataFrame, config: SegmentsConfig) -> list[tuple[Slice, int]]:
    """Every declared slice with the minimum support it needs."""
    out: list[tuple[Slice, int]] = []
    for name, spec in config.slices.items():
        need = spec.min_support if spec.min_support is not None else config.min_support
        out.extend((piece, need) for piece in expand(frame, name, spec))
    return out


def measure(
    task: str,
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    config: SegmentsConfig,
    seed: int,
) -> dict[str, Any]:
    """Metrics and bootstrap intervals of one slice (or of the whole holdout)."""
    found = fast.compute(task, y, p, threshold) if y.size else {}
    ci = bootstrap.intervals(task, y, p, threshold, config.bootstrap, config.confidence, seed)
    return {"metrics": found, "ci": {k: list(v) for k, v in ci.items()}}


def evaluate(
    frame: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    task: str,
    threshold: float,
    config: SegmentsConfig,
    seed: int,
) -> list[dict[str, Any]]:
    """One row per declared slice: support, metrics and intervals (only with enough support)."""
    rows = []
    for (name, description, mask), need in declared(frame, config):
        support = int(mask.sum())
        row: dict[str, Any] = {
            "segment": name,
            "slice": description,
            "support": support,
            "min_support": need,
            "supported": support >= need,
        }
        if row["supported"]:
            row.update(measure(task, y[mask], p[mask], threshold, config, seed))
        rows.append(row)
    return rows
