"""`mlplat features list`: every declared feature, its definition, and who uses it."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from mlplat.core.tables import Column, Table, print_json, print_table

COLUMNS = (
    Column("feature"),
    Column("kind"),
    Column("definition", prose=True),
    Column("description", prose=True),
    Column("experiments", prose=True),
)


def list_command(project: Path, as_json: bool = False) -> None:
    """The table goes to stdout: it is the command's output, to read, page or grep."""
    from mlplat.cli.jobs import stdout_console
    from mlplat.project.catalog import feature_catalog

    catalog = feature_catalog(project)
    if as_json:
        print_json([asdict(row) for row in catalog])
        return
    rows = [
        (r.name, r.kind, r.definition, r.description, ", ".join(r.experiments) or "-")
        for r in catalog
    ]
    print_table(stdout_console(), Table("features", COLUMNS, rows))
