"""`mlplat promote`, `mlplat rollback`, `mlplat registry history`: call the runner, print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def promote_command(project: Path, name: str, version: str, reason: str, console: Console) -> None:
    from mlplat.runner import promotion

    event = promotion.promote(project, name, version, reason)
    was = f" (was v{event.previous})" if event.previous else ""
    console.print(
        f"[green]✓[/] {name}@champion -> v{event.version}{was} by {event.by}: {event.reason}"
    )


def rollback_command(project: Path, name: str, reason: str, console: Console) -> None:
    from mlplat.runner import promotion

    event = promotion.rollback(project, name, reason)
    moved = f"v{event.previous} -> v{event.version}"
    console.print(f"[green]✓[/] {name}@champion rolled back {moved} by {event.by}")


def history_command(project: Path, name: str, console: Console) -> None:
    from rich.table import Table

    from mlplat.runner import promotion

    events, now = promotion.history(project, name)
    if not console.is_terminal:  # piped: keep rows whole instead of folding into 80 columns
        console.width = max(console.width, 160)
    table = Table(title=f"alias history of {name}", title_justify="left")
    for column in ("when (UTC)", "alias", "version", "previous", "action", "by", "reason"):
        table.add_column(column, overflow="fold")
    for e in events:
        table.add_row(e.at, e.alias, e.version, e.previous or "-", e.action, e.by, e.reason)
    console.print(table)
    pointers = (
        ", ".join(f"@{alias} -> v{version}" for alias, version in sorted(now.items()))
        or "no aliases"
    )
    console.print(f"now: {pointers}")
