"""Validate a frame against its contract, collecting every failure into one report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from mlplat.core.config.contract import SchemaConfig

from mlplat.stages.validate.contract import UNIQUE_TOGETHER as UNIQUE
from mlplat.stages.validate.contract import balance_target, observed, unique_group

MAX_EXAMPLES = 5
FRAME = "<frame>"
# Frame-level checks whose failure case *is* the offending column's name.
STRUCTURAL = ("column_in_schema", "column_in_dataframe", "column_ordered")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value else None  # NaN -> null: JSON has no NaN
    return str(value)


def _blame(cases: pd.DataFrame) -> pd.Series:
    """The column a person should look at: frame-level failures are pinned to the frame, except
    structural ones (extra, missing, out-of-order column) whose failure case names the column."""
    frame_level = cases["schema_context"].astype(str) == "DataFrameSchema"
    structural = cases["check"].astype(str).isin(STRUCTURAL)
    by_column = cases["check"].astype(str).str.startswith(("multiple_fields_uniqueness", UNIQUE))
    named = cases["column"].where(~frame_level | by_column)
    blamed = named.where(~(frame_level & structural), cases["failure_case"])
    targets = cases["check"].astype(str).map(balance_target)
    return blamed.where(targets.isna(), targets).fillna(FRAME).astype(str)


def _entry(frame: pd.DataFrame, column: str, check: str, group: pd.DataFrame) -> dict[str, Any]:
    rows = sorted({int(i) for i in group["index"].dropna().tolist()})
    seen = observed(frame, column, check)
    examples = [seen] if seen else list(group["failure_case"].head(MAX_EXAMPLES))
    return {
        "column": column,
        "check": check,
        "failing_rows": len(rows) if rows else len(group),
        "examples": [_jsonable(v) for v in examples],
        "rows": rows[:MAX_EXAMPLES],
    }


def _concrete(frame: pd.DataFrame, column: str, group: pd.DataFrame) -> str:
    """pandera blames a regex key (`.*_Risk`) for a failed conversion; name the real column, the
    one matching the pattern that holds the failing value."""
    if column in frame.columns or column == FRAME:
        return column
    import re

    try:
        pattern = re.compile(column)
    except re.error:
        return column
    rows, case = group["index"].dropna(), str(group["failure_case"].iloc[0])
    for name in (c for c in frame.columns if pattern.fullmatch(str(c))):
        if rows.empty or str(frame[name].loc[rows.iloc[0]]) == case:
            return str(name)
    return column


def failures(frame: pd.DataFrame, failure_cases: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per (column, check): how many rows fail, and up to five examples."""
    groups = failure_cases["check"].astype(str).map(unique_group)
    in_group = [g is None or c in g for g, c in zip(groups, failure_cases["column"], strict=True)]
    failure_cases = failure_cases[in_group]
    cases = failure_cases.assign(
        column=_blame(failure_cases), check=failure_cases["check"].astype(str)
    )
    out = [
        _entry(frame, _concrete(frame, str(column), group), str(check), group)
        for (column, check), group in cases.groupby(["column", "check"], sort=True)
    ]
    return sorted(out, key=lambda f: (-f["failing_rows"], f["column"], f["check"]))


def validate_frame(
    frame: pd.DataFrame, schema: SchemaConfig, target: str | None = None
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Returns (report, validated frame or None). Never raises on bad data: the report says why."""
    import pandera.errors as pa_errors

    from mlplat.stages.validate.contract import compile_schema

    compiled = compile_schema(schema, target)
    report: dict[str, Any] = {
        "schema": schema.name,
        "rows": len(frame),
        "columns": len(frame.columns),
        "valid": True,
        "failures": [],
    }
    try:
        validated = compiled.validate(frame, lazy=True)
    except pa_errors.SchemaErrors as exc:
        report["valid"] = False
        report["failures"] = failures(frame, exc.failure_cases)
        return report, None
    return report, validated
