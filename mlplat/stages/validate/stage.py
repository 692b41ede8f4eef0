"""The validate stage: the data must meet its contract before anything trains on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplat.core import dataio, invariants
from mlplat.core.errors import DataValidationError
from mlplat.core.invariants import Reference
from mlplat.core.io import write_json
from mlplat.stages.validate.validate import validate_frame

if TYPE_CHECKING:
    import pandas as pd

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths

COLUMN_KEY = "schema.columns."
LEARNED = "learned"
LEARNED_HINT = (
    "learned.* checks compare with the last model's training data; a column meant to change "
    "goes under schema.learned.ignore"
)
FIRST_RUN = (
    "no reference yet: invariants learned from training are checked once a model of this "
    "experiment has been trained (its bundle's column profile)"
)


def unreadable_report(source: str, exc: DataValidationError) -> dict[str, Any]:
    """An unreadable file is a failed contract too: the report says so, like any other check."""
    key = exc.key or ""
    column = key.removeprefix(COLUMN_KEY) if key.startswith(COLUMN_KEY) else "<file>"
    failure = {
        "column": column,
        "check": "readable",
        "failing_rows": 0,
        "examples": [str(exc)],
        "rows": [],
    }
    return {"source": source, "valid": False, "rows": 0, "columns": 0, "failures": [failure]}


def learned(
    cfg: PlatformConfig, frame: pd.DataFrame, reference: Reference | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Failures of the invariants learned from training, and what the report says about them."""
    if not cfg.schema.learned.enabled:
        return [], {"reference": None, "note": "off (schema.learned.enabled=false)"}
    if reference is None:
        return [], {"reference": None, "note": FIRST_RUN}
    rules = invariants.Rules.of(cfg.schema, cfg.data)
    found = invariants.check(reference.columns, frame, rules)
    checked = len(invariants.checked_columns(reference.columns, frame, rules))
    return [failure(f) for f in invariants.breaches(found)], {
        "reference": reference.source,
        "columns": checked,
    }


def failure(finding: invariants.Finding) -> dict[str, Any]:
    return {
        "column": finding.column,
        "check": f"{LEARNED}.{finding.check}",
        "failing_rows": finding.rows,
        "examples": [finding.detail],
        "rows": [],
    }


def _order(failure: dict[str, Any]) -> tuple[int, str, str]:
    return -failure["failing_rows"], failure["column"], failure["check"]


def check(cfg: PlatformConfig, source: str, reference: Reference | None = None) -> dict[str, Any]:
    """Load and validate `source` against the declared schema and, given the column profile of
    training (`reference`), the invariants learned from it; the report is returned, never raised."""
    try:
        frame = dataio.load(cfg.data, source)
    except DataValidationError as exc:
        return unreadable_report(source, exc)
    report, _ = validate_frame(frame, cfg.schema, cfg.data.target)
    failures, summary = learned(cfg, frame, reference)
    if failures:
        ordered = [*report["failures"], *failures]
        report |= {"valid": False, "failures": sorted(ordered, key=_order)}
    return report | {"source": source, LEARNED: summary}


def run(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    """The reference is the profile in the bundle the last run built: the statistics of the
    rows the current model was trained on (none before the first model)."""
    source = str(paths["data"])
    report = check(cfg, source, Reference.of_bundle(paths.last_published("bundle")))
    write_json(paths["validation"], report)
    if not report["valid"]:
        first = report["failures"][0]
        columns = sorted({f["column"] for f in report["failures"]})
        learned_ones = any(f["check"].startswith(f"{LEARNED}.") for f in report["failures"])
        hint = f" ({LEARNED_HINT})" if learned_ones else ""
        raise DataValidationError(
            f"{len(report['failures'])} check(s) failed on column(s) {', '.join(columns)}; "
            f"first: column '{first['column']}' failed {first['check']} on "
            f"{first['failing_rows']} row(s){hint}",
            file=source,
            key=None if first["column"].startswith("<") else f"{COLUMN_KEY}{first['column']}",
            report_path=str(paths["validation"]),
        )
