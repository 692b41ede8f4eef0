"""`mlplat validate`: check data against its declared contract and print the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def print_validation(report: dict[str, Any], console: Console) -> None:
    from rich.table import Table

    if report.get("valid"):
        console.print(
            f"[green]✓ valid[/]: {report.get('rows')} rows x {report.get('columns')} columns "
            f"against schema '{report.get('schema')}'"
        )
        return
    if not console.is_terminal:  # captured in a log: keep check names on one line
        console.width = max(console.width, 140)
    table = Table(title=f"validation failed: {report.get('source', '')}", title_justify="left")
    for name in ("column", "check", "failing rows", "examples", "rows"):
        table.add_column(name, overflow="fold")
    for f in report["failures"]:
        table.add_row(
            f["column"],
            f["check"],
            str(f["failing_rows"]),
            ", ".join(map(str, f["examples"])),
            ", ".join(map(str, f["rows"])),
        )
    console.print(table)


def validate_command(project: Path, args: list[str], data: str | None, console: Console) -> bool:
    """Validate the declared data (or `--data FILE`); writes the report, returns whether valid."""
    from mlplat.core import dataio
    from mlplat.core.io import write_json
    from mlplat.core.stage import ArtifactPaths
    from mlplat.runner.compose import compose
    from mlplat.stages.data.stage import check

    cfg = compose(project, args)
    source = data or cfg.data.path
    dataio.check_source(source, key="--data" if data else "data.path")
    report = check(cfg, source)
    path = ArtifactPaths.for_config(cfg, project)["validation"]
    write_json(path, report)
    print_validation(report, console)
    console.print(f"report: {path.relative_to(project) if path.is_relative_to(project) else path}")
    return bool(report["valid"])
