"""`mlplat run`: the stage graph, wrapped with MLflow tracking, cost profiles and progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import provenance
from mlplat.core.errors import DataValidationError
from mlplat.core.io import md5_file, read_json
from mlplat.core.stage import ArtifactPaths
from mlplat.runner import gating, graph, registration, sweep, tracking, worker
from mlplat.runner.cost import log as log_cost
from mlplat.runner.cost import log_quietly
from mlplat.runner.registration import Registration

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import Stage


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
    cost: dict[str, Any] = field(default_factory=dict)  # cost.json: per stage, total, budgets
    warnings: list[str] = field(default_factory=list)  # the evaluation's (metrics.json)
    registration: Registration | None = None  # None: nothing registered (a sweep's trial)


def _log_failure(exc: Exception) -> None:
    import mlflow

    mlflow.set_tag("mlplat.error", str(exc)[:5000])
    if isinstance(exc, DataValidationError) and exc.report_path and Path(exc.report_path).is_file():
        mlflow.log_artifact(exc.report_path, "validation")


def run_experiment(
    cfg: PlatformConfig,
    project: Path,
    console: Console,
    stages: tuple[Stage, ...] | None = None,
    tags: dict[str, str] | None = None,
) -> RunResult:
    """Track and register around the stages; `stages=()` when DVC already ran them (the
    `register` stage of a compiled pipeline), so both paths log and register the same way.

    The stages run in a child process (`worker`) from the start, while this one opens the
    store and the run; the bundle is logged as an MLflow model as soon as its stage ends."""
    trial = sweep.current_trial()  # inside `mlplat run -m`: a child run of the sweep's parent
    paths = trial.paths(cfg, project) if trial else ArtifactPaths.for_config(cfg, project)
    todo = graph.in_order() if stages is None else stages
    registering = cfg.registry.register and not trial  # a sweep registers its best trial only
    # a sweep's trials keep their stages in process: the launcher already runs trials in parallel
    with worker.StageWorker(cfg, paths, todo, console, separate_process=not trial) as running:
        import mlflow

        experiment_id = tracking.connect(cfg, project)
        data_md5 = md5_file(paths["data"]) if paths["data"].is_file() else "remote"
        tags = {"mlplat.data_md5": data_md5, **(tags or {})}  # extra tags: e.g. why a retrain ran
        if trial:
            experiment_id = trial.experiment_id
            tags.update({"mlplat.trial": str(trial.number), "mlplat.overrides": trial.overrides})
        with tracking.tracked_run(
            cfg, project, experiment_id, tags, parent_run_id=trial.parent_run_id if trial else None
        ) as run:
            tracking.log_config(cfg)
            # while the child validates and featurizes, on this process's idle core
            champion = gating.champion_of(cfg, provenance.model_name(cfg)) if registering else None
            model_uri = None
            try:
                for name in running.finished():
                    if name == "bundle" and registering:  # logged while evaluate runs
                        model_uri = tracking.log_bundle(paths["bundle"])
            except Exception as exc:
                log_quietly(running.cost, paths)
                _log_failure(exc)
                raise
            cost = running.cost
            if not todo:  # the DVC `register` stage: each stage before it wrote its own profile
                from mlplat.runner.stagemode import stage_costs

                cost.stages = stage_costs(paths)
            cost.note_train(paths["train_info"])
            cost_report = log_cost(cost, paths["cost"])
            seconds = {name: usage.wall_seconds for name, usage in cost.stages.items()}
            tracking.log_metrics({f"time.{k}_seconds": v for k, v in seconds.items()})
            evaluated = read_json(paths["metrics"])
            metrics = evaluated["overall"]
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
                cost=cost_report,
                warnings=list(evaluated.get("warnings", [])),
            )
            gating.log_evaluation(paths)
            if registering:
                result.model_name = provenance.model_name(cfg)
                with console.status("[bold]gates[/]: floors, segments, champion, baselines"):
                    verdict = gating.judge(cfg, paths, result.model_name, champion)
                with console.status("[bold]register[/]: register a version of the bundle"):
                    result.registration = registration.register(
                        cfg,
                        paths,
                        result.model_name,
                        verdict,
                        lambda: model_uri or tracking.log_bundle(paths["bundle"]),
                        {
                            "run_id": run.info.run_id,
                            "git_sha": provenance.git_state(project)["git_sha"],
                            "data_md5": data_md5,
                        },
                        console,
                    )
                result.model_version = result.registration.version
    return result
