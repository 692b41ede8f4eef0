"""Commands that compose a config and run a job; the printing half of each command lives here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.errors import DataValidationError

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.core.config import PlatformConfig
    from mlplat.runner.registration import Registration
    from mlplat.runner.run import RunResult


def stdout_console() -> Console:
    """Results go to stdout (progress and errors go to stderr), unwrapped so commands copy-paste."""
    from rich.console import Console

    return Console(soft_wrap=True)


def print_summary(result: RunResult, console: Console) -> None:
    from rich.table import Table

    table = Table(title="run summary", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("run", f"{result.run_name} ({result.run_id})")
    for name, value in sorted(result.metrics.items()):
        table.add_row(name, f"{value:.4f}")
    registered = result.registration
    if registered is not None:
        table.add_row("model", _model_line(registered))
        failed = "; ".join(registered.verdict["failed"])
        table.add_row("gates", "passed" if registered.passed else f"[red]failed[/]: {failed}")
    table.add_row("stages", ", ".join(f"{k} {v:.2f}s" for k, v in result.stage_seconds.items()))
    for line in result.warnings:
        table.add_row("[yellow]warning[/]", line)
    console.print(table)
    console.print(
        f"Open the MLflow UI: [bold]mlflow ui --backend-store-uri {result.tracking_uri}[/]"
    )


def _model_line(registered: Registration) -> str:
    uri = f"models:/{registered.name}/{registered.version}"
    if registered.identical:
        return f"identical to version {registered.version}; not registered ({uri})"
    return f"{uri} (@challenger); {registered.champion_line()}"


def _run_job(project: Path) -> Any:
    """The Hydra task. It captures nothing unpicklable (no Console): joblib ships it to workers."""

    def task(cfg: PlatformConfig) -> RunResult:
        from rich.console import Console

        from mlplat.cli.cost import print_cost
        from mlplat.runner.registration import enforce
        from mlplat.runner.run import run_experiment

        console = Console(stderr=True)

        console.print(f"[bold]mlplat run[/] experiment [cyan]{cfg.experiment_name}[/]")
        try:
            result = run_experiment(cfg, project, console)
        except DataValidationError as exc:
            if exc.report_path:
                from mlplat.cli.data import print_validation
                from mlplat.core.io import read_json

                print_validation(read_json(exc.report_path), console)
            raise
        print_summary(result, stdout_console())
        print_cost(result.cost, stdout_console())
        enforce(cfg, result.registration)  # exit 1 after the summary: CI sees a failed gate
        return result

    return task


def run_command(project: Path, args: list[str], console: Console) -> None:
    from mlplat.runner import sweep, worker
    from mlplat.runner.compose import hydra_main

    if not {"-m", "--multirun"} & set(args):  # a sweep's trials run their stages in process
        worker.prestart()
    else:
        sweep.prestart(project, args)
    try:
        hydra_main(project, args, _run_job(project), prog="mlplat run")
    finally:
        sweep.abandon()  # a sweep that stopped on an error leaves no parent run RUNNING
    sweep.raise_end_failure()
