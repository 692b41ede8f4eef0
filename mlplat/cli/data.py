"""`mlplat validate`: check data against its declared contract and print the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.tables import Cell, Column, Table, print_json, print_line, print_table

if TYPE_CHECKING:
    from rich.console import Console


FAILURE_COLUMNS = (
    Column("column"),
    Column("check"),
    Column("failing rows", right=True),
    Column("examples", prose=True),
    Column("rows", prose=True),
)


def learned_line(report: dict[str, Any]) -> str:
    learned = report.get("learned") or {}
    if learned.get("reference"):
        return (
            f"learned invariants: {learned['columns']} columns checked against the training "
            f"statistics in {learned['reference']}"
        )
    return f"learned invariants: {learned.get('note', 'not checked')}"


def print_validation(report: dict[str, Any], console: Console) -> None:
    if report.get("valid"):
        console.print(
            f"[green]✓ valid[/]: {report.get('rows')} rows x {report.get('columns')} columns "
            f"against schema '{report.get('schema')}'"
        )
    else:
        print_failures(report, console)
    if "learned" in report:
        print_line(console, learned_line(report))


def print_failures(report: dict[str, Any], console: Console) -> None:
    rows: list[tuple[Cell, ...]] = [
        (
            f["column"],
            f["check"],
            str(f["failing_rows"]),
            ", ".join(map(str, f["examples"])),
            ", ".join(map(str, f["rows"])),
        )
        for f in report["failures"]
    ]
    title = f"validation failed: {report.get('source', '')}"
    print_table(console, Table(title, FAILURE_COLUMNS, rows))


def validate_command(
    project: Path,
    args: list[str],
    sources: tuple[str | None, str | None],
    console: Console,
    as_json: bool = False,
) -> bool:
    """Validate the declared data (or `--data FILE`) against the schema and, with the training
    statistics of the experiment's last bundle (or `--reference MODEL`), the learned invariants;
    writes the report, prints it (a table, or JSON on stdout), returns whether valid."""
    from mlplat.cli.jobs import stdout_console
    from mlplat.core import dataio
    from mlplat.core.io import write_json
    from mlplat.core.stage import ArtifactPaths
    from mlplat.ops.monitoring import learned_reference
    from mlplat.pipeline.compose import compose
    from mlplat.stages.validate.stage import check

    data, model = sources
    cfg = compose(project, args)
    source = data or cfg.data.path
    dataio.check_source(source, key="--data" if data else "data.path")
    report = check(cfg, source, learned_reference(cfg, project, model))
    path = ArtifactPaths.for_config(cfg, project)["validation"]
    write_json(path, report)
    if as_json:
        print_json(report)
    else:
        print_validation(report, stdout_console())
    console.print(f"report: {path.relative_to(project) if path.is_relative_to(project) else path}")
    return bool(report["valid"])
