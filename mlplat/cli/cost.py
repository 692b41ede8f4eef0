"""The cost table printed at the end of `mlplat run`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    from rich import box
    from rich.table import Table

    if not report:
        return
    currency = report["currency"]
    table = Table(
        title="cost",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("stage", style="bold", no_wrap=True)
    for title, _, _ in COLUMNS:
        table.add_column(title, justify="right", no_wrap=True)
    table.add_column(currency, justify="right", no_wrap=True)
    order = report.get("order") or sorted(report["stages"])
    rows = [*((name, report["stages"][name]) for name in order), ("total", report["total"])]
    for name, usage in rows:
        cells = [_cell(usage[key], fmt) for _, key, fmt in COLUMNS]
        table.add_row(
            name, *cells, f"{usage['money']:.2e}", style="bold" if name == "total" else None
        )
    console.print(table)
    for budget, policy in report.get("budget_exceeded", {}).items():
        console.print(f"[yellow]budget exceeded:[/] {budget} (policy {policy})")
