"""Commands that compose a config and run a job; the printing half of each command lives here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.errors import DataValidationError
from mlplat.core.tables import Cell, Column, Table, print_json, print_table

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.core.config import PlatformConfig
    from mlplat.pipeline.run import RunResult
    from mlplat.tracking.registration import Registration


def stdout_console() -> Console:
    """Results go to stdout (progress and errors go to stderr), unwrapped so commands copy-paste."""
    from rich.console import Console

    return Console(soft_wrap=True)


def print_summary(result: RunResult, console: Console) -> None:
    rows: list[tuple[Cell, ...]] = [("run", f"{result.run_name} ({result.run_id})")]
    rows += [(name, f"{value:.4f}") for name, value in sorted(result.metrics.items())]
    registered = result.registration
    if registered is not None:
        rows.append(("model", _model_line(registered)))
        failed = "; ".join(registered.verdict.failed)
        rows.append(("gates", "passed" if registered.passed else f"failed: {failed}"))
        rows += [("warning", line) for line in registered.warnings]
    rows.append(("stages", ", ".join(f"{k} {v:.2f}s" for k, v in result.stage_seconds.items())))
    rows += [("warning", line) for line in result.warnings]
    columns = (Column("item"), Column("value", prose=True))
    print_table(console, Table("run summary", columns, rows, show_header=False))
    console.print(
        f"Open the MLflow UI: [bold]mlflow ui --backend-store-uri {result.tracking_uri}[/]"
    )


def run_json(result: RunResult) -> dict[str, Any]:
    """The run's summary, cost and (when it registered a version) its gate verdicts."""
    from dataclasses import asdict

    verdict = result.registration.verdict.to_json() if result.registration else None
    return asdict(result) | {"gates": verdict}


def _model_line(registered: Registration) -> str:
    uri = f"models:/{registered.name}/{registered.version}"
    if registered.identical:
        return f"identical to version {registered.version}; not registered ({uri})"
    return f"{uri} (@challenger); {registered.champion_line()}"


def _run_job(project: Path, as_json: bool) -> Any:
    """The Hydra task. It captures nothing unpicklable (no Console): joblib ships it to workers."""

    def task(cfg: PlatformConfig) -> RunResult:
        from rich.console import Console

        from mlplat.cli.cost import print_cost
        from mlplat.pipeline.run import run_experiment
        from mlplat.tracking.registration import enforce

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
        if as_json:  # one line per run: a sweep prints JSON Lines
            print_json(run_json(result), one_line=True)
        else:
            print_summary(result, stdout_console())
            print_cost(result.cost, stdout_console())
        enforce(cfg, result.registration)  # exit 1 after the summary: CI sees a failed gate
        return result

    return task


def run_command(project: Path, args: list[str], console: Console, as_json: bool = False) -> None:
    from mlplat.pipeline import worker
    from mlplat.pipeline.compose import hydra_main
    from mlplat.sweeps import sweep

    if not {"-m", "--multirun"} & set(args):  # a sweep's trials run their stages in process
        worker.prestart()
    else:
        sweep.prestart(project, args)
    try:
        hydra_main(project, args, _run_job(project, as_json), prog="mlplat run")
    finally:
        sweep.abandon()  # a sweep that stopped on an error leaves no parent run RUNNING
    sweep.raise_end_failure()
