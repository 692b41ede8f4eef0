"""A pandas-free twin of `features.transform` for serving one row or a small batch.

`features.transform` is the reference: it builds pandas Series per column, which costs a few
hundred microseconds per request. Here the same spec is compiled once into plain Python/numpy
functions over columns of JSON values (`{column: [value, ...]}`);
`tests/serving/test_serving_fastfeatures.py` proves both give the same matrix on the example data,
so training and serving still agree.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mlplat.core.features import UNKNOWN

Spec = dict[str, Any]
Columns = Mapping[str, Sequence[Any]]
NAN = float("nan")


def number(value: Any) -> float:
    """Like `pd.to_numeric(errors='coerce')` for one value: junk and nulls become NaN."""
    kind = type(value)
    if kind is float:  # the common case first: this runs once per value per request
        return value
    if kind is int or kind is bool:
        return float(value)
    if value is None:
        return NAN
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
    values = columns[name]
    try:  # validated requests hold numbers and None (-> NaN): one C-level conversion
        return np.array(values, dtype="float64")
    except (TypeError, ValueError):
        return np.fromiter((number(v) for v in values), dtype="float64", count=len(values))


# Each kind has a vector form (columns -> array, for batches) and a scalar form
# ((columns, row) -> float, for a row or a few, where numpy's per-call overhead dominates).
# Scalar forms call the same numpy functions where float rounding could otherwise differ.
Vector = Callable[[Columns], np.ndarray]
Scalar = Callable[[Columns, int], float]


def _passthrough(f: Spec) -> tuple[Vector, Scalar]:
    c = f["column"]
    return (lambda cols: _numbers(cols, c)), (lambda cols, i: number(cols[c][i]))


def _log1p(f: Spec) -> tuple[Vector, Scalar]:
    c = f["column"]

    def vector(cols: Columns) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.log1p(np.clip(_numbers(cols, c), 0.0, None))

    def scalar(cols: Columns, i: int) -> float:
        x = number(cols[c][i])
        return x if math.isnan(x) else float(np.log1p(max(x, 0.0)))

    return vector, scalar


def _clip(f: Spec) -> tuple[Vector, Scalar]:
    c, lower, upper = f["column"], f.get("lower"), f.get("upper")

    def scalar(cols: Columns, i: int) -> float:
        x = number(cols[c][i])
        if math.isnan(x):
            return x
        x = x if upper is None else min(x, float(upper))
        return x if lower is None else max(x, float(lower))

    return (lambda cols: np.clip(_numbers(cols, c), lower, upper)), scalar


def _ratio(f: Spec) -> tuple[Vector, Scalar]:
    num, den = f["numerator"], f["denominator"]

    def vector(cols: Columns) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = _numbers(cols, num) / _numbers(cols, den)
        out[~np.isfinite(out)] = np.nan
        return out

    def scalar(cols: Columns, i: int) -> float:
        a, b = number(cols[num][i]), number(cols[den][i])
        if b == 0.0 or math.isnan(a) or math.isnan(b):
            return NAN
        out = a / b
        return out if math.isfinite(out) else NAN

    return vector, scalar


def _bucketize(f: Spec) -> tuple[Vector, Scalar]:
    c = f["column"]
    bins = np.asarray(f["bins"], dtype="float64")
    edges = [float(b) for b in f["bins"]]

    def vector(cols: Columns) -> np.ndarray:
        values = _numbers(cols, c)
        out = np.digitize(values, bins).astype("float64")
        out[np.isnan(values)] = np.nan
        return out

    def scalar(cols: Columns, i: int) -> float:
        x = number(cols[c][i])
        return x if math.isnan(x) else float(bisect.bisect_right(edges, x))  # == np.digitize

    return vector, scalar


_PARTS: dict[str, Callable[[dt.datetime], int]] = {
    "year": lambda d: d.year,
    "month": lambda d: d.month,
    "day": lambda d: d.day,
    "dayofweek": lambda d: d.weekday(),
    "hour": lambda d: d.hour,
    "quarter": lambda d: (d.month - 1) // 3 + 1,
    "dayofyear": lambda d: d.timetuple().tm_yday,
}


def _per_value(name: str, fn: Callable[[Any], float]) -> tuple[Vector, Scalar]:
    def vector(cols: Columns) -> np.ndarray:
        return np.fromiter((fn(v) for v in cols[name]), dtype="float64", count=len(cols[name]))

    return vector, (lambda cols, i: fn(cols[name][i]))


def _date_part(f: Spec) -> tuple[Vector, Scalar]:
    part = _PARTS[f["part"]]

    def one(value: Any) -> float:
        d = date(value)
        return NAN if d is None else float(part(d))

    return _per_value(f["column"], one)


def _days_since(f: Spec) -> tuple[Vector, Scalar]:
    reference = date(f["reference_date"])
    assert reference is not None, "a fitted days_since spec always has a reference date"

    def one(value: Any) -> float:
        d = date(value)
        return NAN if d is None else (reference - d).total_seconds() / 86400.0

    return _per_value(f["column"], one)


def _category(f: Spec) -> tuple[Vector, Scalar]:
    codes = {value: float(i) for i, value in enumerate(f["categories"])}
    unseen = float(len(codes)) if f.get("unseen") == UNKNOWN else NAN

    def one(value: Any) -> float:
        k = key(value)
        return NAN if k is None else codes.get(k, unseen)

    return _per_value(f["column"], one)


def _frequency(f: Spec) -> tuple[Vector, Scalar]:
    shares = {k: float(v) for k, v in f["frequencies"].items()}
    return _per_value(f["column"], lambda v: shares.get(key(v), 0.0))


BUILDERS: dict[str, Callable[[Spec], tuple[Vector, Scalar]]] = {
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
SCALAR_ROWS = 8  # up to this many rows, per-row Python beats per-feature numpy calls


def compile_spec(spec: Spec) -> Callable[[Columns, int], np.ndarray]:
    """Spec -> `f(columns, n_rows)` returning the float64 matrix `features.transform` returns."""
    built = [BUILDERS[f["kind"]](f) for f in spec["features"]]
    vectors = [vector for vector, _ in built]
    scalars = [scalar for _, scalar in built]
    width = len(built)

    def run(columns: Columns, n_rows: int) -> np.ndarray:
        if n_rows <= SCALAR_ROWS:
            rows = [[scalar(columns, i) for scalar in scalars] for i in range(n_rows)]
            return np.array(rows, dtype="float64").reshape(n_rows, width)
        out = np.empty((n_rows, width), dtype="float64")
        for j, vector in enumerate(vectors):
            out[:, j] = vector(columns)
        return out

    return run
