"""`mlplat gc`: compose, plan (and with --apply, apply), print the plan, log storage to MLflow."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.tables import Column, Table, print_json, print_table

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.ops.gc import Applied
    from mlplat.ops.retention import Plan

UNITS = ("B", "kB", "MB", "GB", "TB")
TOTAL_COLUMNS = (
    Column("group"),
    Column("items", right=True),
    Column("held", right=True),
    Column("kept", right=True),
    Column("going", right=True),
    Column("frees now", right=True),
    Column("after grace", right=True),
    Column("held /month", right=True),
)
ITEM_COLUMNS = (
    Column("id"),
    Column("size", right=True),
    Column("action"),
    Column("rule", prose=True),
)


def size(n: int) -> str:
    value, unit = float(n), 0
    while value >= 1000 and unit < len(UNITS) - 1:
        value, unit = value / 1000, unit + 1
    return f"{n} B" if unit == 0 else f"{value:.1f} {UNITS[unit]}"


def plan_json(plan: Plan, applied: Applied | None, run_id: str) -> dict[str, Any]:
    return {
        "currency": plan.currency,
        "price_per_gb_month": plan.price_per_gb_month,
        "grace_days": plan.grace_days,
        "bytes": plan.bytes,
        "frees_now": plan.frees_now,
        "cost_per_month": plan.usd_month(plan.bytes),
        "groups": [asdict(t) for t in plan.totals],
        "items": [asdict(i) for i in plan.items],
        "applied": asdict(applied) if applied else None,
        "mlflow_run_id": run_id,
    }


def print_plan(plan: Plan, console: Console) -> None:
    from mlplat.ops.retention import Kind

    money = plan.currency

    def cost(n: int) -> str:
        return f"{plan.usd_month(n):.3g} {money}"

    totals = [
        (
            t.kind,
            str(t.kept + t.going),
            size(t.bytes),
            str(t.kept),
            str(t.going),
            size(t.frees_now),
            size(t.frees_later),
            cost(t.bytes),
        )
        for t in plan.totals
    ]
    print_table(console, Table("storage by group", TOTAL_COLUMNS, totals))
    for kind in Kind:  # a table per group: the widest ids (paths of orphans) stay apart
        rows = [(i.id, size(i.bytes), i.action, i.rule) for i in plan.of(kind)]
        if rows:
            print_table(console, Table(f"{kind}s", ITEM_COLUMNS, rows))
    console.print(
        f"held {size(plan.bytes)} ({cost(plan.bytes)}); --apply frees {size(plan.frees_now)} "
        f"now ({cost(plan.frees_now)}), the rest of what goes after a grace of "
        f"{plan.grace_days:g} d",
        highlight=False,
    )


def gc_command(
    project: Path, overrides: list[str], apply: bool, console: Console, as_json: bool
) -> None:
    from mlplat.cli.jobs import stdout_console
    from mlplat.ops import gc
    from mlplat.pipeline.compose import compose

    cfg = compose(project, overrides)
    with console.status("[bold]gc[/]: listing runs, models, versions and the DVC cache"):
        planned = gc.make_plan(project, cfg)
    applied = None
    if apply:
        with console.status("[bold]gc[/]: applying the plan"):
            applied = gc.apply(planned, project, cfg)
    run_id = gc.log_storage(planned)
    if as_json:
        print_json(plan_json(planned.plan, applied, run_id))
    else:
        print_plan(planned.plan, stdout_console())
    if applied is not None:
        console.print(
            f"applied: {applied.deleted} deleted, {applied.purged} purged, "
            f"{applied.cache_objects} DVC cache objects collected",
            highlight=False,
        )
        for line in applied.skipped:
            console.print(f"skipped {line}", highlight=False, soft_wrap=True)
    console.print(f"storage logged to MLflow run {run_id}", highlight=False, soft_wrap=True)
