"""The cost table printed at the end of `mlplat run`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplat.core.tables import Cell, Column, Table, print_table

if TYPE_CHECKING:
    from rich.console import Console

COLUMNS = (
    ("wall s", "wall_seconds", ".2f"),
    ("user s", "cpu_user_seconds", ".2f"),
    ("sys s", "cpu_system_seconds", ".2f"),
    ("peak MB", "peak_rss_mb", ".0f"),
    ("read MB", "bytes_read", "mb"),
    ("write MB", "bytes_written", "mb"),
    ("thr", "threads", ".0f"),
)


def _cell(value: float, fmt: str) -> str:
    return f"{value / 1e6:.1f}" if fmt == "mb" else format(value, fmt)


def print_cost(report: dict[str, Any], console: Console) -> None:
    """One row per stage and a total row; money in the declared currency; breached budgets."""
    if not report:
        return
    currency = report["currency"]
    columns = (
        Column("stage"),
        *(Column(title, right=True) for title, _, _ in COLUMNS),
        Column(currency, right=True),
    )
    order = report.get("order") or sorted(report["stages"])
    named = [*((name, report["stages"][name]) for name in order), ("total", report["total"])]
    rows: list[tuple[Cell, ...]] = [
        (
            (name, "bold") if name == "total" else name,
            *(_cell(usage[key], fmt) for _, key, fmt in COLUMNS),
            f"{usage['money']:.2e}",
        )
        for name, usage in named
    ]
    print_table(console, Table("cost", columns, rows))
    for budget, policy in report.get("budget_exceeded", {}).items():
        console.print(f"[yellow]budget exceeded:[/] {budget} (policy {policy})")
