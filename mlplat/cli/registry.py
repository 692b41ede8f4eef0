"""`mlplat promote`, `mlplat rollback`, `mlplat registry history`: call the runner, print."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.cli.notify import print_warnings
from mlplat.core.tables import Column, Table, print_json, print_table

if TYPE_CHECKING:
    from rich.console import Console


def promote_command(project: Path, name: str, version: str, reason: str, console: Console) -> None:
    from mlplat.ops import promotion

    moved = promotion.promote(project, name, version, reason)
    event = moved.event
    was = f" (was v{event.previous})" if event.previous else ""
    console.print(
        f"[green]✓[/] {name}@champion -> v{event.version}{was} by {event.by}: {event.reason}"
    )
    print_warnings(moved.warnings, console)


def rollback_command(project: Path, name: str, reason: str, console: Console) -> None:
    from mlplat.ops import promotion

    moved = promotion.rollback(project, name, reason)
    event = moved.event
    console.print(
        f"[green]✓[/] {name}@champion rolled back v{event.previous} -> v{event.version} "
        f"by {event.by}"
    )
    print_warnings(moved.warnings, console)


def pin_command(project: Path, name: str, version: str, console: Console) -> None:
    from mlplat.ops import promotion

    digest, already = promotion.pin(project, name, version)
    said = "already pinned to" if already else "pinned to"
    console.print(f"[green]✓[/] models:/{name}/{version} {said} manifest sha256 {digest}")


HISTORY_COLUMNS = (
    Column("when (UTC)"),
    Column("alias"),
    Column("version", right=True),
    Column("previous", right=True),
    Column("action"),
    Column("by"),
    Column("reason", prose=True),
)


def history_command(project: Path, name: str, as_json: bool = False) -> None:
    from mlplat.cli.jobs import stdout_console
    from mlplat.ops import promotion

    events, now = promotion.history(project, name)
    if as_json:
        print_json({"model": name, "events": [asdict(e) for e in events], "aliases": now})
        return
    rows = [(e.at, e.alias, e.version, e.previous or "-", e.action, e.by, e.reason) for e in events]
    out = stdout_console()
    print_table(out, Table(f"alias history of {name}", HISTORY_COLUMNS, rows))
    pointers = (
        ", ".join(f"@{alias} -> v{version}" for alias, version in sorted(now.items()))
        or "no aliases"
    )
    out.print(f"now: {pointers}", highlight=False)
