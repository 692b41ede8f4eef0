"""`mlplat features list`: every declared feature, its definition, and who uses it."""

from __future__ import annotations

from pathlib import Path


def list_command(project: Path) -> None:
    """The table goes to stdout: it is the command's output, to read, page or grep."""
    from rich.console import Console
    from rich.table import Table

    from mlplat.runner.catalog import feature_catalog

    console = Console()
    if not console.is_terminal:  # piped or captured: do not fold formulas into 80 columns
        console.width = max(console.width, 160)
    table = Table(title="features", title_justify="left")
    for name in ("feature", "kind", "definition", "description", "experiments"):
        table.add_column(name, overflow="fold")
    for row in feature_catalog(project):
        table.add_row(
            row.name, row.kind, row.definition, row.description, ", ".join(row.experiments) or "-"
        )
    console.print(table)
