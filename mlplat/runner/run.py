"""`mlplat run`: the stage graph in process, wrapped with MLflow tracking and progress."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core import provenance
from mlplat.core.errors import DataValidationError
from mlplat.core.io import md5_file, read_json
from mlplat.core.stage import ArtifactPaths
from mlplat.runner import graph, tracking

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.core.config import PlatformConfig


@dataclass
class RunResult:
    run_id: str
    run_name: str
    experiment_id: str
    tracking_uri: str
    metrics: dict[str, float]
    model_name: str | None = None
    model_version: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)


def run_stages(cfg: PlatformConfig, paths: ArtifactPaths, console: Console) -> dict[str, float]:
    """Every stage in order, each with a spinner; returns wall seconds per stage."""
    seconds: dict[str, float] = {}
    for stage in graph.in_order():
        started = time.perf_counter()
        with console.status(f"[bold]{stage.name}[/]: {stage.description}"):
            stage.run(cfg, paths)
        seconds[stage.name] = time.perf_counter() - started
        console.print(f"  [green]✓[/] {stage.name:<10} {seconds[stage.name]:6.2f}s")
    return seconds


def _log_failure(exc: Exception) -> None:
    import mlflow

    mlflow.set_tag("mlplat.error", str(exc)[:5000])
    if isinstance(exc, DataValidationError) and exc.report_path and Path(exc.report_path).is_file():
        mlflow.log_artifact(exc.report_path, "validation")


def run_experiment(cfg: PlatformConfig, project: Path, console: Console) -> RunResult:
    import mlflow

    paths = ArtifactPaths.for_config(cfg, project)
    experiment_id = tracking.connect(cfg, project)
    data_md5 = md5_file(paths["data"]) if paths["data"].is_file() else "remote"
    with tracking.tracked_run(cfg, project, experiment_id, {"mlplat.data_md5": data_md5}) as run:
        tracking.log_config(cfg)
        try:
            seconds = run_stages(cfg, paths, console)
        except Exception as exc:
            _log_failure(exc)
            raise
        tracking.log_metrics({f"time.{k}_seconds": v for k, v in seconds.items()})
        metrics = read_json(paths["metrics"])["overall"]
        tracking.log_metrics(metrics)
        mlflow.log_artifact(str(paths["validation"]), "validation")
        mlflow.log_artifact(str(paths["metrics"]), "evaluate")
        result = RunResult(
            run.info.run_id,
            run.info.run_name,
            experiment_id,
            mlflow.get_tracking_uri(),
            metrics,
            stage_seconds=seconds,
        )
        if cfg.registry.register:
            result.model_name = provenance.model_name(cfg)
            with console.status("[bold]register[/]: log the bundle and register a version"):
                result.model_version = tracking.register_bundle(
                    paths["bundle"],
                    result.model_name,
                    {
                        "run_id": run.info.run_id,
                        "git_sha": provenance.git_state(project)["git_sha"],
                        "data_md5": data_md5,
                        "config_hash": provenance.config_hash(cfg),
                    },
                )
            console.print(
                f"  [green]✓[/] register   {result.model_name} v{result.model_version} @challenger"
            )
    return result
