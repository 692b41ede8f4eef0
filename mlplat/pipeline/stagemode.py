"""`mlplat stage NAME`: one stage of a compiled DVC pipeline, in its own process.

Under `dvc repro` the config comes from the params file (the resolved composition `mlplat
compile` wrote, or DVC's Hydra integration recomposed on `dvc exp run -S`), never from `conf/`:
DVC decides what reruns by the keys in that file, so the stage must read exactly that file.

MLflow under DVC: the graph's stages touch no tracking store (as in `mlplat run`); the pipeline
ends in a `register` stage that opens one MLflow run and logs and registers exactly as `mlplat run`
does after its stages (`run_experiment` with no stages to run), then records the run id and model
version in `register/run.json`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.errors import ConfigError
from mlplat.core.io import write_json
from mlplat.core.stage import ArtifactPaths, Stage, stage_cost
from mlplat.pipeline import graph

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.core.config import PlatformConfig


def _register(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    from rich.console import Console

    from mlplat.pipeline.run import run_experiment
    from mlplat.tracking import registration

    result = run_experiment(cfg, Path.cwd(), Console(stderr=True), stages=())
    write_json(
        paths["registration"],
        {
            "run_id": result.run_id,
            "run_name": result.run_name,
            "tracking_uri": result.tracking_uri,
            "model_name": result.model_name,
            "model_version": result.model_version,
        },
    )
    registration.enforce(cfg, result.registration)  # a failed gate fails `dvc repro` too


def register_stage() -> Stage:
    """Reads every artifact the graph writes, and each stage's cost profile: whatever the runner
    logs after the stages. It writes cost.json, their sum, as `mlplat run` does."""
    stages = graph.in_order()
    reads = tuple(dict.fromkeys(k for s in stages for k in s.writes))
    return Stage(
        "register",
        (*reads, *(stage_cost(s.name) for s in stages)),
        ("registration", "cost"),
        ("tracking", "registry", "card"),
        _register,
        "log the run to MLflow and register the bundle",
    )


def pipeline() -> tuple[Stage, ...]:
    """What `mlplat compile` renders: the graph `mlplat run` executes, then registration."""
    return (*graph.in_order(), register_stage())


def by_name(name: str) -> Stage:
    for stage in pipeline():
        if stage.name == name:
            return stage
    names = ", ".join(s.name for s in pipeline())
    raise ConfigError(f"unknown stage '{name}'; stages: {names}")


def load_params(project: Path, params_file: str, experiment: str | None) -> PlatformConfig:
    """The params file -> the typed config, checked as `mlplat run` checks a composition."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from mlplat.core.config import PlatformConfig
    from mlplat.pipeline.boundary import to_platform

    path = project / params_file
    if not path.is_file():
        raise ConfigError(
            "params file is missing: run `mlplat compile +experiment=NAME`", file=params_file
        )
    try:
        merged = OmegaConf.merge(OmegaConf.structured(PlatformConfig), OmegaConf.load(path))
    except OmegaConfBaseException as exc:
        raise ConfigError(
            " ".join(str(exc).split("\n")[:1]), key=getattr(exc, "full_key", None), file=params_file
        ) from exc
    cfg = to_platform(merged)
    check_version(cfg, params_file)
    if experiment and cfg.experiment_name != experiment:
        raise ConfigError(
            f"holds experiment '{cfg.experiment_name}' but this pipeline runs '{experiment}': "
            f"compose it with the experiment (`dvc exp run -S +experiment={experiment}`, or "
            "`dvc config hydra.config_name pipeline`) or rerun `mlplat compile`",
            key="experiment_name",
            file=params_file,
        )
    return cfg


def check_version(cfg: PlatformConfig, params_file: str) -> None:
    """DVC reran this stage for the mlplat version the params file records: another one
    running it would leave dvc.lock vouching for code that did not run."""
    import mlplat

    if cfg.mlplat_version != mlplat.__version__:
        raise ConfigError(
            f"was compiled for mlplat {cfg.mlplat_version}, but mlplat {mlplat.__version__} is "
            "installed: rerun `mlplat compile` (DVC then reruns every stage)",
            key="mlplat_version",
            file=params_file,
        )


def run_stage(name: str, cfg: PlatformConfig, project: Path, console: Console) -> float:
    """Run one stage under the same cost profile and budget checks as `mlplat run` gives each
    stage; returns its wall seconds."""
    from mlplat.pipeline.cost import RunCost

    stage, cost = by_name(name), RunCost(cfg.budget, console)
    paths = ArtifactPaths.for_config(cfg, project)
    with console.status(f"[bold]{stage.name}[/]: {stage.description}"), cost.stage(stage.name):
        stage.run(cfg, paths)
    usage = cost.stages[stage.name]
    write_json(paths[stage_cost(stage.name)], usage.as_dict())
    return usage.wall_seconds
