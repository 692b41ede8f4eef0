"""The Hydra callback that brackets every `mlplat run -m` sweep (listed in conf/config.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from mlplat.sweeps import sweep


class SweepCallback(Callback):
    """Parent run before the first trial; comparison, best trial and total cost after the last."""

    def __init__(self, metric: str | None = None, direction: str | None = None) -> None:
        """`metric`: what trials are ranked by (None: the task's primary metric); `direction`:
        maximize or minimize (None: the way that metric improves)."""
        sweep.check_direction(direction, "hydra.callbacks.mlplat_sweep.direction")
        self.metric, self.direction = metric, direction
        self.pool: sweep.WarmPool | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Hydra's joblib launcher ships the callbacks with every trial; trials need no pool
        (nor could its thread be pickled)."""
        return {**self.__dict__, "pool": None}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.pool = sweep.start(config, Path.cwd())

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            metric, direction = sweep.objective(config.model.task, self.metric, self.direction)
            summary = sweep.finish(config, Path.cwd(), metric, direction, self.pool)
            print_summary(summary)
            sweep.check_best(summary, "hydra.callbacks.mlplat_sweep.metric")
        except Exception as exc:
            sweep.note_end_failure(exc)  # Hydra only warns; `mlplat run` exits with it
            raise


def _fmt(value: Any, digits: int = 4) -> str:
    return (
        "-" if value is None else f"{value:.{digits}g}" if isinstance(value, float) else str(value)
    )


def print_summary(summary: sweep.SweepSummary) -> None:
    """The comparison table of all trials, the best one and the total cost, on stderr."""
    from rich.console import Console

    from mlplat.core.tables import Column, Table, print_table

    metric, currency = summary.metric, summary.currency
    columns = (
        Column("trial", right=True),
        Column("overrides", prose=True),
        Column(metric, right=True),
        Column(f"cost ({currency})", right=True),
        Column("wall s", right=True),
        Column("status"),
    )
    rows = [
        (
            str(row["trial"]),
            row["overrides"],
            _fmt(row[metric]),
            _fmt(row["money"], 3),
            _fmt(row["wall_seconds"], 3),
            row["status"],
        )
        for row in summary.trials
    ]
    console = Console(stderr=True)
    print_table(console, Table(f"sweep {summary.parent_run_id}", columns, rows))
    totals, best = summary.totals, summary.best
    console.print(
        f"total cost {totals['cost.total.money']:.3g} {currency} over {totals['sweep.trials']} "
        f"trials, {totals['sweep.wall_seconds']:.1f}s"
    )
    if summary.stopped:
        console.print(f"[yellow]sweep stopped early:[/] {summary.stopped}")
    if best:
        version = (
            ""
            if best.model_version is None
            else f", identical to version {best.model_version}; not registered"
            if best.identical
            else f", registered v{best.model_version} @challenger"
        )
        console.print(
            f"best trial #{best.trial} ({best.run_id}): {metric}={best.value:.4f} "
            f"[{best.overrides}]{version}"
        )
