"""The validate stage: the data must meet its contract before anything trains on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlplat.core import dataio
from mlplat.core.errors import DataValidationError
from mlplat.core.io import write_json
from mlplat.stages.data.validate import validate_frame

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths


def run(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    source = str(paths["data"])
    try:
        frame = dataio.load(cfg.data, source)
    except DataValidationError as exc:
        # An unreadable file is a failed contract too: the report says so, like any other check.
        write_json(paths["validation"], {"source": source, "valid": False, "failures": [
            {"column": "<file>", "check": "readable", "failing_rows": 0, "examples": [str(exc)], "rows": []}
        ]})
        raise DataValidationError(str(exc), file=source, report_path=str(paths["validation"])) from exc
    report, _ = validate_frame(frame, cfg.schema, cfg.data.target)
    report["source"] = source
    write_json(paths["validation"], report)
    if not report["valid"]:
        first = report["failures"][0]
        raise DataValidationError(
            f"{len(report['failures'])} check(s) failed; first: column '{first['column']}' "
            f"failed {first['check']} on {first['failing_rows']} row(s)",
            file=source,
            key=f"schema.columns.{first['column']}",
            report_path=str(paths["validation"]),
        )
