"""`mlplat feedback`: labels joined to the online request log; print the counts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def feedback_command(
    project: Path,
    labels: Path,
    columns: tuple[str, str],
    overrides: list[str],
    as_json: bool,
    console: Console,
) -> None:
    from mlplat.core.tables import Column, Table, print_json, print_table
    from mlplat.online.feedback import join
    from mlplat.pipeline.compose import project_declaration
    from mlplat.serving.online.state import layout_of

    cfg, _ = project_declaration(project, overrides)
    layout = layout_of(cfg.online, cfg.experiment_name, project)
    report = join(layout, labels, columns[0], columns[1], cfg.online.lookback_hours)
    if as_json:
        print_json(report.as_dict())
        return
    rows = [(k, str(v)) for k, v in report.as_dict().items()]
    print_table(console, Table("feedback", (Column("figure"), Column("value")), rows))
