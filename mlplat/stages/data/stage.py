"""The validate stage: the data must meet its contract before anything trains on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplat.core import dataio
from mlplat.core.errors import DataValidationError
from mlplat.core.io import write_json
from mlplat.stages.data.validate import validate_frame

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths

COLUMN_KEY = "schema.columns."


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


def check(cfg: PlatformConfig, source: str) -> dict[str, Any]:
    """Load and validate `source`; the report is returned, never raised."""
    try:
        frame = dataio.load(cfg.data, source)
    except DataValidationError as exc:
        return unreadable_report(source, exc)
    report, _ = validate_frame(frame, cfg.schema, cfg.data.target)
    return report | {"source": source}


def run(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    source = str(paths["data"])
    report = check(cfg, source)
    write_json(paths["validation"], report)
    if not report["valid"]:
        first = report["failures"][0]
        columns = sorted({f["column"] for f in report["failures"]})
        raise DataValidationError(
            f"{len(report['failures'])} check(s) failed on column(s) {', '.join(columns)}; "
            f"first: column '{first['column']}' failed {first['check']} on "
            f"{first['failing_rows']} row(s)",
            file=source,
            key=None if first["column"].startswith("<") else f"{COLUMN_KEY}{first['column']}",
            report_path=str(paths["validation"]),
        )
