"""A pandas-free twin of `features.transform` for serving one row or a small batch.

`features.transform` is the reference: it builds pandas Series per column, which costs a few
hundred microseconds per request. Here the same spec is compiled once into plain Python/numpy
functions over columns of JSON values (`{column: [value, ...]}`);
`tests/test_serving_fastfeatures.py` proves both give the same matrix on the example data,
so training and serving still agree.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

Spec = dict[str, Any]
Columns = Mapping[str, Sequence[Any]]
Feature = Callable[[Columns], np.ndarray]
NAN = float("nan")


def number(value: Any) -> float:
    """Like `pd.to_numeric(errors='coerce')` for one value: junk and nulls become NaN."""
    if value is None:
        return NAN
    if isinstance(value, bool | int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return NAN


def key(value: Any) -> str | None:
    """Like `Series.astype('string')`: categories match as text, so 1, '1' and True/'True' agree."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else str(value)


def date(value: Any) -> dt.datetime | None:
    """Like `pd.to_datetime(errors='coerce')` for ISO-8601 text; anything else is missing."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        return None


def _numbers(columns: Columns, name: str) -> np.ndarray:
    return np.fromiter(
        (number(v) for v in columns[name]), dtype="float64", count=len(columns[name])
    )


def _passthrough(f: Spec) -> Feature:
    return lambda cols: _numbers(cols, f["column"])


def _log1p(f: Spec) -> Feature:
    def run(cols: Columns) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.log1p(np.clip(_numbers(cols, f["column"]), 0.0, None))

    return run


def _clip(f: Spec) -> Feature:
    lower, upper = f.get("lower"), f.get("upper")
    return lambda cols: np.clip(_numbers(cols, f["column"]), lower, upper)


def _ratio(f: Spec) -> Feature:
    def run(cols: Columns) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = _numbers(cols, f["numerator"]) / _numbers(cols, f["denominator"])
        out[~np.isfinite(out)] = np.nan
        return out

    return run


def _bucketize(f: Spec) -> Feature:
    bins = np.asarray(f["bins"], dtype="float64")

    def run(cols: Columns) -> np.ndarray:
        values = _numbers(cols, f["column"])
        out = np.digitize(values, bins).astype("float64")
        out[np.isnan(values)] = np.nan
        return out

    return run


_PARTS: dict[str, Callable[[dt.datetime], int]] = {
    "year": lambda d: d.year,
    "month": lambda d: d.month,
    "day": lambda d: d.day,
    "dayofweek": lambda d: d.weekday(),
    "hour": lambda d: d.hour,
    "quarter": lambda d: (d.month - 1) // 3 + 1,
    "dayofyear": lambda d: d.timetuple().tm_yday,
}


def _per_value(name: str, fn: Callable[[Any], float]) -> Feature:
    return lambda cols: np.fromiter(
        (fn(v) for v in cols[name]), dtype="float64", count=len(cols[name])
    )


def _date_part(f: Spec) -> Feature:
    part = _PARTS[f["part"]]

    def one(value: Any) -> float:
        d = date(value)
        return NAN if d is None else float(part(d))

    return _per_value(f["column"], one)


def _days_since(f: Spec) -> Feature:
    reference = date(f["reference_date"])
    assert reference is not None, "a fitted days_since spec always has a reference date"

    def one(value: Any) -> float:
        d = date(value)
        return NAN if d is None else (reference - d).total_seconds() / 86400.0

    return _per_value(f["column"], one)


def _category(f: Spec) -> Feature:
    codes = {value: float(i) for i, value in enumerate(f["categories"])}
    return _per_value(f["column"], lambda v: codes.get(key(v), NAN))


def _frequency(f: Spec) -> Feature:
    shares = {k: float(v) for k, v in f["frequencies"].items()}
    return _per_value(f["column"], lambda v: shares.get(key(v), 0.0))


BUILDERS: dict[str, Callable[[Spec], Feature]] = {
    "passthrough": _passthrough,
    "log1p": _log1p,
    "clip": _clip,
    "ratio": _ratio,
    "bucketize": _bucketize,
    "date_part": _date_part,
    "days_since": _days_since,
    "category": _category,
    "frequency": _frequency,
}


def compile_spec(spec: Spec) -> Callable[[Columns, int], np.ndarray]:
    """Spec -> `f(columns, n_rows)` returning the float64 matrix `features.transform` returns."""
    features = [BUILDERS[f["kind"]](f) for f in spec["features"]]
    width = len(features)

    def run(columns: Columns, n_rows: int) -> np.ndarray:
        out = np.empty((n_rows, width), dtype="float64")
        for j, feature in enumerate(features):
            out[:, j] = feature(columns)
        return out

    return run
