"""`mlplat run`: the stage graph, wrapped with MLflow tracking, cost profiles and progress.

A run works in its own directory and publishes its outputs into `artifacts/<experiment>/` only
when it succeeds (`rundir`); every stop is recorded on its MLflow run (`stops`); and before it
starts its own MLflow run it ends, FAILED with the reason, any run of the project whose process
is gone without ending it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import provenance, tracking_store
from mlplat.core.errors import BudgetExceededError, DataValidationError, MlplatError, Stopped
from mlplat.core.io import md5_file, read_json
from mlplat.core.stage import ArtifactPaths
from mlplat.pipeline import graph, rundir, stops, trials, worker
from mlplat.pipeline.cost import log as log_cost
from mlplat.pipeline.cost import log_quietly, stage_costs
from mlplat.tracking import gating, notices, registration
from mlplat.tracking import runs as tracking
from mlplat.tracking.registration import Registration

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import Stage
    from mlplat.stages.evaluate.verdicts import Decision
    from mlplat.tracking.tracker import Tracker

_log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_id: str
    run_name: str
    experiment_id: str
    tracking_uri: str  # credentials masked
    metrics: dict[str, float]
    model_name: str | None = None
    model_version: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)  # cost.json: per stage, total, budgets
    warnings: list[str] = field(default_factory=list)  # the evaluation's (metrics.json)
    registration: Registration | None = None  # None: nothing registered (a sweep's trial)


@dataclass(frozen=True)
class _Job:
    """One run's setting, handed between the steps below."""

    cfg: PlatformConfig
    project: Path
    console: Console
    todo: tuple[Stage, ...]
    paths: ArtifactPaths  # where its stages write and its gates and registration read
    name: str  # its MLflow run name
    place: rundir.RunDir | None  # None: a sweep's trial, in its own trials/ directory already
    trial: trials.Trial | None
    data_md5: str

    @property
    def registering(self) -> bool:
        return self.cfg.registry.register and not self.trial  # a sweep registers its best trial


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
    job = _job(cfg, project, console, stages)
    result = _run(job, tags or {})
    if job.place is not None:
        job.place.remove()  # its outputs are published; a failed run's stay for its reports
    return result


def _job(
    cfg: PlatformConfig, project: Path, console: Console, stages: tuple[Stage, ...] | None
) -> _Job:
    trial = trials.current_trial()  # inside `mlplat run -m`: a child run of the sweep's parent
    todo = graph.in_order() if stages is None else stages
    data = Path(cfg.data.path)
    data_md5 = md5_file(data) if data.is_file() else "remote"
    name = tracking.run_name(cfg)
    if trial:  # trials start in the same second: the trial number tells their names apart
        paths = trial.paths(cfg, project)
        return _Job(
            cfg, project, console, todo, paths, f"{name}-trial{trial.number}", None, trial, data_md5
        )
    shared = ArtifactPaths.for_config(cfg, project)
    place = rundir.RunDir.claim(shared.root, name)
    # the DVC `register` stage reads what the pipeline's stages wrote where DVC tracks it
    paths = place.paths(shared.data) if todo else shared
    return _Job(cfg, project, console, todo, paths, place.name, place, None, data_md5)


def _run(job: _Job, extra_tags: dict[str, str]) -> RunResult:
    progress = job.place.stage_file if job.place else None
    # a sweep's trials keep their stages in process: the launcher already runs trials in parallel
    with (
        worker.StageWorker(
            job.cfg, job.paths, job.todo, job.console, not job.trial, progress
        ) as running,
        stops.handled(running.halt),
    ):
        tracker, experiment_id = _connect(job)
        parent = job.trial.parent_run_id if job.trial else None
        with tracking.tracked_run(
            job.cfg, job.project, experiment_id, _tags(job, extra_tags), parent, job.name
        ) as run:
            try:
                if job.place:
                    job.place.note(run_id=run.run_id)
                return _track(job, running, tracker, run, experiment_id)
            except BaseException as exc:
                _log_failure(exc, job, running)
                raise


def _connect(job: _Job) -> tuple[Tracker, str]:
    """The store and experiment (its id), after ending the runs whose process is gone."""
    tracker, experiment_id = tracking.connect(job.cfg, job.project)
    if job.trial:
        return tracker, job.trial.experiment_id
    assert job.place is not None
    store = tracking_store.redact(tracker.uri)
    _end_abandoned(job, tracker, store)
    job.place.note(store=store, experiment_id=experiment_id)
    return tracker, experiment_id


def _end_abandoned(job: _Job, tracker: Tracker, store: str) -> None:
    """Runs of this project left RUNNING by a process that is gone (SIGKILL, out of memory, a
    crash) end FAILED with the reason; a publication one left half done is finished (it had
    registered its version: registration comes first); their directories go."""
    for place, lease in rundir.dead(job.project / job.cfg.artifacts_dir):
        if lease.store not in (None, store):
            continue  # recorded in another store: left for a run that uses that one
        if lease.experiment_id:
            reason = (
                f"its process (pid {lease.pid} on {lease.host}) ended without ending it, during "
                f"{place.stage() or 'start-up'}: killed (SIGKILL, out of memory) or crashed; "
                f"found by run {job.name}"
            )
            if tracking.end_abandoned(
                tracker, lease.experiment_id, lease.run_id, place.name, reason
            ):
                job.console.print(f"  [yellow]![/] run {place.name} marked FAILED: {reason}")
        place.finish_publication()
        place.remove()


def _tags(job: _Job, extra: dict[str, str]) -> dict[str, str]:
    tags = {"mlplat.data_md5": job.data_md5, **extra}  # extra tags: e.g. why a retrain ran
    if job.trial:
        tags.update(
            {"mlplat.trial": str(job.trial.number), "mlplat.overrides": job.trial.overrides}
        )
    return tags


def _note_stage(job: _Job, name: str) -> None:
    if job.place:
        job.place.note_stage(name)


def _track(
    job: _Job,
    running: worker.StageWorker,
    tracker: Tracker,
    run: tracking.Started,
    experiment_id: str,
) -> RunResult:
    tracking.log_config(job.cfg)
    name = provenance.model_name(job.cfg)
    # while the child validates and featurizes, on this process's idle core
    champion = gating.champion_of(job.cfg, tracker, name) if job.registering else None
    model_uri = None
    for done in running.finished():
        if done == "bundle" and job.registering:  # logged while evaluate runs
            model_uri = tracking.log_bundle(job.paths["bundle"])
    _note_stage(job, "gates")
    result = _log_results(job, running, tracker, run, experiment_id)
    gating.log_evaluation(job.paths)
    verdict = None
    if job.registering:
        result.model_name = name
        with job.console.status("[bold]gates[/]: floors, segments, champion, baselines"):
            verdict = gating.judge(job.cfg, tracker, job.paths, name, champion)
        model_uri = model_uri or tracking.log_bundle(job.paths["bundle"])
    _conclude(job, tracker, result, verdict, model_uri)
    return result


def _log_results(
    job: _Job,
    running: worker.StageWorker,
    tracker: Tracker,
    run: tracking.Started,
    experiment_id: str,
) -> RunResult:
    paths, cost = job.paths, running.cost
    if not job.todo:  # the DVC `register` stage: each stage before it wrote its own profile
        cost.stages = stage_costs(paths, (s.name for s in graph.in_order()))
    cost.note_train(paths["train_info"])
    cost_report = log_cost(cost, paths["cost"])
    seconds = {name: usage.wall_seconds for name, usage in cost.stages.items()}
    tracking.log_metrics({f"time.{k}_seconds": v for k, v in seconds.items()})
    told = _tell_budget(job, dict(cost_report.get("budget_exceeded") or {}))
    evaluated = read_json(paths["metrics"])
    metrics = evaluated["overall"]
    tracking.log_metrics(metrics)
    tracking.log_artifact(paths["validation"], "validation")
    tracking.log_artifact(paths["metrics"], "evaluate")
    return RunResult(
        run.run_id,
        run.run_name,
        experiment_id,
        tracking_store.redact(tracker.uri),
        metrics,
        stage_seconds=seconds,
        cost=cost_report,
        warnings=[*evaluated.get("warnings", []), *told],
    )


def _tell_budget(job: _Job, exceeded: dict[str, str], detail: str = "") -> tuple[str, ...]:
    """A budget exceeded (any policy: a warned or stopped-early run goes on, a failed one
    ends), to the targets that want it; what was not delivered."""
    from mlplat.core.notify import events

    if not exceeded:
        return ()
    event = events.budget(job.cfg.experiment_name, job.name, exceeded, detail)
    return notices.tell(job.cfg.notify, event, job.project)


def _conclude(
    job: _Job,
    tracker: Tracker,
    result: RunResult,
    verdict: Decision | None,
    model_uri: str | None,
) -> None:
    """Registration, the verdicts, the champion's move and the publication, which a stop never
    cuts in half: one that arrives meanwhile is recorded on the finished run, then obeyed."""
    with stops.deferred():
        _note_stage(job, "register" if verdict is not None else "publish")
        if verdict is not None and model_uri is not None:
            _register(job, tracker, result, verdict, model_uri)
        if job.place and job.todo:
            job.place.publish(drop=(job.paths["run_report"].name, gating.GATES_FILE))
    late = stops.late()
    if late:
        tracking.set_tags({tracking.STOP_TAG: late})


def _register(
    job: _Job, tracker: Tracker, result: RunResult, verdict: Decision, model_uri: str
) -> None:
    assert result.model_name is not None
    with job.console.status("[bold]register[/]: register a version of the bundle"):
        result.registration = registration.register(
            job.cfg,
            tracker,
            job.paths,
            result.model_name,
            verdict,
            lambda: model_uri,
            {
                "run_id": result.run_id,
                "git_sha": provenance.git_state(job.project)["git_sha"],
                "data_md5": job.data_md5,
            },
            job.console,
        )
    result.model_version = result.registration.version


def _log_failure(exc: BaseException, job: _Job, running: worker.StageWorker) -> None:
    """What the stages that ran cost and why the run ended, on the run; never hides `exc`."""
    if isinstance(exc, Stopped):
        stage = job.place.stage() if job.place else None
        exc.where = f"{f'stage {stage} of ' if stage else ''}run {job.name} (marked KILLED)"
    try:
        if not job.paths["cost"].is_file():  # the stages' cost, unless it was logged already
            log_quietly(running.cost, job.paths)
        tracking.tag_failure(_one_line(exc))
        if isinstance(exc, BudgetExceededError) and exc.key:
            for line in _tell_budget(job, {exc.key.split(".")[1]: "fail"}, _one_line(exc)):
                _log.warning("%s", line)  # the run fails with the budget's error, not this
        report = exc.report_path if isinstance(exc, DataValidationError) else None
        if report and Path(report).is_file():
            tracking.log_artifact(report, "validation")
    except Exception as err:  # the store went away too
        _log.warning("could not record the failure: %s", tracking_store.scrub(str(err)))


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, (MlplatError, Stopped)):
        return exc.one_line()
    if isinstance(exc, KeyboardInterrupt):
        return "stopped by SIGINT"
    return str(exc)
