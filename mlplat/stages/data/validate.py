"""Validate a frame against its contract, collecting every failure into one report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from mlplat.core.config.contract import SchemaConfig

MAX_EXAMPLES = 5


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _failures(failure_cases: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per (column, check): how many rows fail, and up to five examples."""
    cases = failure_cases.copy()
    cases["column"] = cases["column"].fillna("<frame>").astype(str)
    cases["check"] = cases["check"].astype(str)
    out = []
    for (column, check), group in cases.groupby(["column", "check"], sort=True):
        rows = [int(i) for i in group["index"].dropna().tolist()]
        out.append(
            {
                "column": column,
                "check": check,
                "failing_rows": len(rows) if rows else len(group),
                "examples": [_jsonable(v) for v in group["failure_case"].head(MAX_EXAMPLES)],
                "rows": rows[:MAX_EXAMPLES],
            }
        )
    return sorted(out, key=lambda f: (-f["failing_rows"], f["column"], f["check"]))


def validate_frame(
    frame: pd.DataFrame, schema: SchemaConfig, target: str | None = None
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Returns (report, validated frame or None). Never raises on bad data: the report says why."""
    import pandera.errors as pa_errors

    from mlplat.stages.data.contract import compile_schema

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
        report["failures"] = _failures(exc.failure_cases)
        return report, None
    return report, validated
