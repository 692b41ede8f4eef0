"""`mlplat features list`: every declared feature, its definition, and who uses it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def list_command(project: Path, console: Console) -> None:
    from rich.table import Table

    from mlplat.runner.catalog import feature_catalog

    if not console.is_terminal:  # piped or captured: do not fold formulas into 80 columns
        console.width = max(console.width, 160)
    table = Table(title="features", title_justify="left")
    for name in ("feature", "kind", "definition", "description", "experiments"):
        table.add_column(name, overflow="fold")
    for row in feature_catalog(project):
        table.add_row(row.name, row.kind, row.definition, row.description,
                      ", ".join(row.experiments) or "-")
    console.print(table)
