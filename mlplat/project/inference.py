"""What `mlplat init` reads from a user's table: each column's contract and role, and the split.

The contract holds what is true of the column's kind, not of one month's values: the dtype,
whether nulls occur, the categories with a policy for unseen ones, and a bound only where it is
physical (`ge: 0` for counts and amounts). Observed ranges are not contract: the bundle's
reference profile keeps them, and `mlplat monitor` compares serving traffic with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mlplat.core.config.contract import Unseen
from mlplat.core.names import derive, snake

if TYPE_CHECKING:
    import pandas as pd

MAX_CATEGORIES = 20  # a text column with at most this many values: `isin` in the schema
MAX_FEATURE_CATEGORIES = 100  # more distinct text values: too many for a category feature
IDENTIFIER_SHARE = 0.5  # a text column whose values are mostly distinct names rows, not kinds
NEAR_ZERO = 0.1  # `ge: 0` when the minimum sits within this share of the spread from zero
MIN_FREQUENCY = 5  # category values rarer than this in training share the unknown bucket
TEST_SIZE = 0.2
SEED = 42
TIME_NAMES = re.compile(r"(^|_)(date|time|timestamp|datetime|day|period)($|_)")


class Role(StrEnum):
    """What init makes of a column."""

    feature = "feature"
    target = "target"
    id = "id"  # data.id_column: names a row, kept out of the features
    identifier = "identifier-like"  # names or row numbers: as many values as rows
    high_cardinality = "high-cardinality"  # too many values for a category feature


@dataclass(frozen=True)
class ColumnPlan:
    name: str  # the user's name, as the schema and serving inputs keep it
    derived: str  # the snake_case name of its feature or segment
    contract: dict[str, Any]  # conf/schema entry
    role: Role
    distinct: int

    @property
    def why(self) -> str:
        """Why a column is left out of the features, for the summary."""
        if self.role == Role.id:
            return "id column (data.id_column)"
        return f"{self.role.value}: {self.distinct} distinct values"


def _plain(value: Any) -> Any:
    """numpy/pandas scalars -> YAML-safe Python values."""
    return value.item() if hasattr(value, "item") else value


def is_datetime(series: pd.Series) -> bool:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
        return False
    sample = series.dropna().astype(str).head(200)
    if sample.empty or not sample.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return False
    return bool(pd.to_datetime(sample, errors="coerce").notna().all())


def physical_bounds(values: pd.Series) -> dict[str, Any]:
    """`ge: 0` for a column that rests on zero (a count, an amount, a duration): every value is
    non-negative and the smallest lies within a tenth of the spread from zero. A column that
    lives far from zero (a year, a price level, an age band) gets no bound at all."""
    if values.empty:
        return {}
    low, high = float(values.min()), float(values.max())
    return {"ge": 0} if 0 <= low <= NEAR_ZERO * (high - low) else {}


def infer_column(series: pd.Series) -> dict[str, Any]:
    """One column's draft contract: dtype, nullability, categories and physical bounds."""
    import pandas as pd

    spec: dict[str, Any] = {"dtype": "str", "nullable": bool(series.isna().any())}
    values = series.dropna()
    if pd.api.types.is_bool_dtype(series):
        spec["dtype"] = "bool"
    elif pd.api.types.is_numeric_dtype(series):
        spec["dtype"] = "int" if pd.api.types.is_integer_dtype(series) else "float"
        spec.update(physical_bounds(values))
    elif is_datetime(series):
        spec["dtype"] = "datetime"
    elif 0 < values.nunique() <= MAX_CATEGORIES:
        spec["isin"] = sorted(str(_plain(v)) for v in values.unique())
        spec["unseen"] = Unseen.unknown.value
    return spec


def _all_distinct(series: pd.Series) -> bool:
    return bool(series.notna().all() and series.is_unique)


def _row_number(series: pd.Series) -> bool:
    """0..n-1 or 1..n in any order: a row number (R's write.csv writes one as the first column)."""
    import pandas as pd

    if not pd.api.types.is_integer_dtype(series) or not _all_distinct(series):
        return False
    low = int(series.min())
    return low in (0, 1) and int(series.max()) == low + len(series) - 1


def role(name: str, series: pd.Series, contract: dict[str, Any], distinct: int) -> Role:
    """Feature, or why not: id, identifier-like (names, row numbers) or high cardinality."""
    dtype, present = contract["dtype"], int(series.notna().sum())
    id_like = re.search(r"(^|_)id$", snake(name)) is not None
    if id_like and dtype in ("int", "str") and _all_distinct(series):
        return Role.id
    if _row_number(series):
        return Role.identifier
    if dtype != "str":
        return Role.feature
    if distinct > MAX_CATEGORIES and distinct > IDENTIFIER_SHARE * present:
        return Role.identifier
    return Role.high_cardinality if distinct > MAX_FEATURE_CATEGORIES else Role.feature


def plan_columns(frame: pd.DataFrame, target: str) -> list[ColumnPlan]:
    """Every column's contract and role; one id column at most (the first), others
    identifier-like. Derived names are distinct (`a.b` and `a_b` -> `a_b`, `a_b_2`)."""
    names = derive(str(c) for c in frame.columns)
    plans, has_id = [], False
    for column in frame.columns:
        name, series = str(column), frame[column]
        contract, distinct = infer_column(series), int(series.nunique())
        kind = Role.target if name == target else role(name, series, contract, distinct)
        if kind == Role.id and has_id:
            kind = Role.identifier
        if kind == Role.id:
            has_id, contract["unique"] = True, True
        if kind == Role.target:
            contract.pop("unseen", None)  # a label the model does not know is refused
        plans.append(ColumnPlan(name, names[name], contract, kind, distinct))
    return plans


def timestamp_column(plans: list[ColumnPlan]) -> str | None:
    """The date a time split orders by: a date column named like one, else the first date."""
    dates = [p for p in plans if p.contract["dtype"] == "datetime" and p.role != Role.target]
    named = [p for p in dates if TIME_NAMES.search(p.derived)]
    return (named or dates)[0].name if dates else None


def feature(plan: ColumnPlan) -> dict[str, Any]:
    """The feature init declares for a column: month of a date, a category with its unknown
    bucket for text, the value itself for numbers and booleans."""
    dtype = plan.contract["dtype"]
    if dtype == "datetime":
        return {"kind": "date_part", "column": plan.name, "part": "month"}
    if dtype == "str":
        return {"kind": "category", "column": plan.name, "min_frequency": MIN_FREQUENCY}
    return {"kind": "passthrough", "column": plan.name}


def split(frame: pd.DataFrame, target: str, task: str, timestamp: str | None) -> dict[str, Any]:
    """A time split when the data has a date (the holdout is the latest fifth, as production
    will be later than training); else stratified by the label where every class can be on both
    sides, random otherwise."""
    if timestamp:
        return {"strategy": "time", "test_size": TEST_SIZE, "seed": SEED}
    counts = frame[target].value_counts()
    stratify = task != "regression" and not counts.empty and int(counts.min()) >= 2
    return {
        "strategy": "stratified" if stratify else "random",
        "test_size": TEST_SIZE,
        "seed": SEED,
    }
