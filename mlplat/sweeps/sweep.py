"""Hydra multirun sweeps as one MLflow parent run with one child run per trial.

MLflow races on a brand-new sqlite store when parallel workers create it (or the experiment) at
once, and a concurrent `set_experiment` can put a worker's run into the Default experiment. So
one process creates the store, the experiment and the parent run before any trial starts its
run, and each trial starts its run with the explicit experiment id.

On most launchers the sweep's own process does it in `on_multirun_start` and hands the ids to
the trials in their own job config (`hydra.job.env_set`, which Hydra exports around each trial
on whatever launcher runs it: a SLURM job, a Ray task, the basic launcher's loop).

With the joblib launcher the worker processes are started first, forked from a fork server that
imported what a trial needs once (see `forkserver_preload`), and the first of them creates the
store and the parent run while this process composes the trial configs; the ids reach the
trials (all on this machine) through a file named in their job config, which a trial waits for
before it starts its run. The sweep's end (the comparison, the best trial's registration) runs
in a warm worker too, so this process never imports MLflow: on 2 cores that import, the store's
creation and Hydra's composing of every trial config would otherwise follow one another (~6 s)
while the workers wait.

Trials write their artifacts to `artifacts/<experiment>/trials/<parent run id>/<job number>/` so
parallel trials never clobber each other, and they do not register models: at the end of the
sweep only the best trial's bundle is registered (alias `challenger`), from the best trial's run.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import metric_names
from mlplat.core.errors import ConfigError, GateError
from mlplat.core.metric_names import PRIMARY, Direction
from mlplat.core.vocabulary import knows
from mlplat.pipeline.trials import (
    EXPERIMENT_ENV,
    IDS_ENV,
    PARENT_ENV,
    STARTED_ENV,
    STOPPED_ENV,
    SweepIds,
    Trial,
    publish,
    published,
)

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from mlplat.core.config import PlatformConfig
    from mlplat.tracking.registration import Registration
    from mlplat.tracking.tracker import Tracker

# Hydra turns a callback's error into a warning; the sweep's end keeps it here for the command
# to exit with it (`raise_end_failure`).
_end_failure: list[BaseException] = []


@dataclass(frozen=True)
class BestTrial:
    """The sweep's best trial, and what registering it did (None: the registry is off)."""

    trial: int
    run_id: str
    overrides: str
    metric: str
    value: float
    model_version: str | None = None
    identical: bool | None = None
    gate_failure: str | None = None

    def to_json(self) -> dict[str, Any]:
        """sweep/summary.json's `best`: the metric under its own name."""
        found: dict[str, Any] = {
            "trial": self.trial,
            "run_id": self.run_id,
            "overrides": self.overrides,
            self.metric: self.value,
        }
        if self.model_version is not None:
            found.update(
                model_version=self.model_version,
                identical=self.identical,
                gate_failure=self.gate_failure,
            )
        return found


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did: every trial's row, the totals logged on the parent run, the best trial
    (None when no finished trial logged the metric; `logged_metrics` then says what they did)."""

    parent_run_id: str
    experiment_id: str
    metric: str
    direction: str
    currency: str
    totals: dict[str, float]
    stopped: str | None
    trials: tuple[dict[str, Any], ...]
    best: BestTrial | None = None
    logged_metrics: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """sweep/summary.json, as it has always been laid out."""
        return {
            "parent_run_id": self.parent_run_id,
            "experiment_id": self.experiment_id,
            "metric": self.metric,
            "direction": self.direction,
            "currency": self.currency,
            "totals": self.totals,
            "stopped": self.stopped,
            "trials": list(self.trials),
            "best": self.best.to_json() if self.best else None,
        }


@dataclass(frozen=True)
class TrialRow:
    run_id: str
    number: int
    status: str
    overrides: str
    metrics: dict[str, float]

    @classmethod
    def of(cls, run: Any) -> TrialRow:
        """From an MLflow run (`Tracker.client.search_runs`)."""
        tags = run.data.tags
        return cls(
            run.info.run_id,
            int(tags.get("mlplat.trial", -1)),
            run.info.status,
            tags.get("mlplat.overrides", ""),
            dict(run.data.metrics),
        )


def trial_rows(tracker: Tracker, experiment_id: str, parent_run_id: str) -> list[TrialRow]:
    runs = tracker.client.search_runs(
        [experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
        max_results=10000,
    )
    return sorted((TrialRow.of(r) for r in runs), key=lambda row: row.number)


def check_direction(direction: str | None, key: str) -> None:
    if direction is not None and not knows(Direction, direction):
        raise ConfigError(f"must be {' or '.join(Direction)}, not {direction!r}", key=key)


def objective(task: str, metric: str | None, direction: str | None) -> tuple[str, str]:
    """The metric a sweep ranks its trials by and its direction: as declared, else the task's
    primary metric (auc, log_loss, rmse), and the way that metric improves."""
    chosen = metric or PRIMARY[task]
    return chosen, direction or metric_names.direction(chosen)


def best_trial(rows: list[TrialRow], metric: str, direction: str) -> TrialRow | None:
    scored = [r for r in rows if r.status == "FINISHED" and metric in r.metrics]
    if not scored:
        return None
    pick = max if direction == Direction.MAXIMIZE else min
    return pick(scored, key=lambda r: r.metrics[metric])


def _varying(rows: list[TrialRow]) -> dict[str, str]:
    """run id -> only the overrides that differ between trials (the common ones are noise)."""
    split = {r.run_id: r.overrides.split() for r in rows}
    common = set.intersection(*(set(v) for v in split.values())) if split else set()
    return {run_id: " ".join(o for o in ws if o not in common) for run_id, ws in split.items()}


def comparison(rows: list[TrialRow], metric: str) -> list[dict[str, Any]]:
    """One row per trial: the overrides that vary, the sweep metric, and what it cost."""
    varying = _varying(rows) if len(rows) > 1 else {r.run_id: r.overrides for r in rows}
    return [
        {
            "trial": r.number,
            "run_id": r.run_id,
            "status": r.status,
            "overrides": varying[r.run_id],
            metric: r.metrics.get(metric),
            "money": r.metrics.get("cost.total.money"),
            "wall_seconds": r.metrics.get("cost.total.wall_seconds"),
            "cpu_seconds": (
                r.metrics.get("cost.total.cpu_user_seconds", 0.0)
                + r.metrics.get("cost.total.cpu_system_seconds", 0.0)
            ),
            "peak_rss_mb": r.metrics.get("cost.total.peak_rss_mb"),
        }
        for r in rows
    ]


def _platform(config: DictConfig) -> PlatformConfig:
    """The sweep's config without its `hydra` node, typed (as Hydra hands it to each job)."""
    import copy

    from omegaconf import open_dict, read_write

    from mlplat.pipeline.boundary import to_platform

    body = copy.deepcopy(config)
    with read_write(body), open_dict(body):
        body.pop("hydra", None)
    return to_platform(body)


def _create(config: DictConfig, project: Path) -> SweepIds:
    """The store, the experiment and the sweep's parent run (RUNNING until `finish`)."""
    from mlplat.core import provenance
    from mlplat.tracking import runs as tracking

    cfg = _platform(config)
    tracker, experiment_id = tracking.connect(cfg, project)
    tags = {
        "mlplat.sweep": "parent",
        "mlplat.experiment": cfg.experiment_name,
        **{f"mlplat.{k}": v for k, v in provenance.git_state(project).items()},
    }
    name = tracking.run_name(cfg).replace(
        f"-{cfg.model.algorithm}-", f"-{cfg.model.algorithm}-sweep-"
    )
    parent = tracker.client.create_run(experiment_id, run_name=name, tags=tags)
    return SweepIds(tracker.uri, experiment_id, parent.info.run_id)


def _create_and_publish(config: DictConfig, project: Path, path: Path) -> SweepIds:
    """`_create`, then the ids in `path` for the trials (and `abandon`) that wait on it; or the
    error, there first, then raised."""
    try:
        ids = _create(config, project)
    except Exception as exc:
        publish(path, error=f"{type(exc).__name__}: {exc}")
        raise
    publish(path, ids)
    return ids


def _create_in_worker(config: DictConfig, project: Path, path: Path) -> None:
    """`_create_and_publish` in a joblib worker: its error reaches the trials through `path`
    only (raised here, it would make joblib shut down the workers the launcher uses)."""
    with contextlib.suppress(Exception):
        _create_and_publish(config, project, path)


def start(config: DictConfig, project: Path) -> WarmPool | None:
    """Before any trial: the parent run, with its ids handed to the trials.

    With the joblib launcher, returns its workers, started now; the first of them creates the
    parent run. Otherwise this process creates it before returning."""
    path = Path(tempfile.mkdtemp(prefix="mlplat-sweep-")) / "ids.json"
    os.environ[IDS_ENV], os.environ[STARTED_ENV] = str(path), str(time.time())
    pool = prewarm(config)
    if pool is not None:

        def lost(exc: BaseException) -> None:  # the worker died before it could say why
            if not path.exists():
                publish(path, error=f"the worker creating it failed: {exc}")

        _hand_to_trials(config, {IDS_ENV: str(path)})
        pool.start(_create_in_worker, config, project, path, on_failure=lost)
        return pool
    ids = _create_and_publish(config, project, path)  # Hydra makes its error a warning
    _hand_to_trials(config, {PARENT_ENV: ids.parent_run_id, EXPERIMENT_ENV: ids.experiment_id})
    return None


def _hand_to_trials(config: DictConfig, env: dict[str, str]) -> None:
    """Every trial's config is composed from the sweep's hydra overrides plus its own: one more
    hydra override puts `env` in each trial's `hydra.job.env_set`."""
    from omegaconf import open_dict, read_write

    with read_write(config.hydra.overrides), open_dict(config.hydra.overrides):
        for name, value in env.items():  # quoted: a hex run id like 12e4 is not a float
            config.hydra.overrides.hydra.append(f"++hydra.job.env_set.{name}='{value}'")


# What a trial imports lazily (the stages import inside functions to keep `mlplat --help` fast).
TRIAL_MODULES = (
    "mlplat.pipeline.run",
    "mlflow",
    "mlflow.store.tracking.sqlalchemy_store",  # a sqlite/database store (the local default)
    "lightgbm",
    "pandera.pandas",
    "sklearn.metrics",
    "sklearn.linear_model",
    "scipy.stats",
    "matplotlib.figure",
    "jinja2",
)


def import_trial_modules() -> None:
    """Import what a trial needs; an import that fails is left for the trial to report."""
    import importlib

    for name in TRIAL_MODULES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _import_at_low_priority() -> None:
    """On a thread of its own (on Linux niceness is per thread): whoever is on the sweep's
    critical path keeps its core."""
    import sys

    if sys.platform == "linux":
        os.nice(19)
    import_trial_modules()


def _warm() -> int:
    """Run once in each worker: imports are no-ops when it was forked from the warm server."""
    thread = threading.Thread(target=_import_at_low_priority, name="mlplat-warm")
    thread.start()
    thread.join()
    gc.freeze()  # the modules stay for the worker's life: keep them out of every collection
    return os.getpid()


_SERVING: dict[str, str] = {}  # the worker environment a fork server started early was given


def _fork_workers_from_a_warm_server(workers: int, start_now: bool = False) -> None:
    """Have loky fork its workers from multiprocessing's fork server, which imports the trial
    modules once: N workers then cost one set of imports instead of N (~3 s of CPU each here).

    Forked workers miss the thread limits joblib gives the workers it spawns (for 2 jobs on 2
    cores, one BLAS and OpenMP thread each; without them two trials oversubscribe the cores and
    run ~20% slower), so they go in this process's environment, which the fork server inherits.
    A server `start_now` (see `prestart`) for limits that turn out wrong is stopped, and the
    next worker starts a new one.
    """
    import multiprocessing
    from multiprocessing import forkserver

    from joblib._parallel_backends import LokyBackend
    from joblib.externals.loky.backend.context import set_start_method

    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows: workers import
        return
    env = LokyBackend()._prepare_worker_env(workers)  # what this environment does not set
    if _SERVING and env != _SERVING:
        forkserver._forkserver._stop()  # type: ignore[attr-defined]  # no public way to stop it
        _SERVING.clear()
    multiprocessing.set_forkserver_preload(["mlplat.sweeps.forkserver_preload"])
    set_start_method("forkserver", force=True)
    if not start_now:
        os.environ.update(env)
        return
    before = dict(os.environ)
    os.environ.update(env)  # for the server only: the launcher's own check must see the rest
    try:
        forkserver.ensure_running()
    finally:
        os.environ.clear()
        os.environ.update(before)
    _SERVING.update(env)


def _launcher_preset(project: Path, name: str) -> Path | None:
    """The file `hydra/launcher=<name>` composes: the project's, else the one mlplat ships."""
    from mlplat import hydra_presets

    for conf in (project / "conf", Path(hydra_presets.__file__).parent):
        preset = conf / "hydra" / "launcher" / f"{name}.yaml"
        if preset.is_file():
            return preset
    return None


def _joblib_workers(project: Path, args: list[str]) -> int | None:
    """How many workers the command line's joblib launcher will have, read from the command
    line and the launcher preset (None: not a joblib launcher there)."""
    import yaml

    overrides = dict(a.removeprefix("override ").split("=", 1) for a in args if "=" in a)
    name = overrides.get("hydra/launcher")
    if name is None:
        return None
    preset = _launcher_preset(project, name)
    body = yaml.safe_load(preset.read_text()) if preset else None
    body = body if isinstance(body, dict) else {}
    if name != "joblib" and "joblib" not in (body.get("defaults") or []):
        return None
    n_jobs = int(overrides.get("hydra.launcher.n_jobs") or body.get("n_jobs", -1))  # plugin: -1
    from joblib import effective_n_jobs

    return int(effective_n_jobs(n_jobs))


def prestart(project: Path, args: list[str]) -> None:
    """For `mlplat run -m ... hydra/launcher=joblib` (or a preset on it): start the fork server
    as the command line is read, so it imports the trial modules while Hydra composes the sweep
    (0.7-0.9 s here). Only a head start: `prewarm` checks the launcher Hydra composed; a launcher
    chosen elsewhere (an experiment's defaults) starts the server there."""
    try:
        workers = _joblib_workers(project, args)
    except (OSError, ValueError, TypeError, ImportError):  # Hydra reports a bad value itself
        return
    if workers:
        _fork_workers_from_a_warm_server(workers, start_now=True)


@dataclass
class WarmPool:
    """The joblib launcher's workers, started early by `prewarm`: `options` are the exact
    `Parallel` arguments its launcher uses, so `run` reaches the same warm workers."""

    options: dict[str, Any]
    workers: int
    thread: threading.Thread | None = None

    def start(
        self,
        first: Callable[..., Any] | None = None,
        *args: Any,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Start the workers now, on a thread; `first(*args)`, if given, is the first task
        they run (before any trial the launcher sends later); `on_failure` hears its error."""
        from joblib import Parallel, delayed

        tasks = [delayed(first)(*args)] if first else []
        tasks += [delayed(_warm)() for _ in range(self.workers - len(tasks))]

        def start() -> None:
            try:
                Parallel(**self.options)(tasks)
            except BaseException as exc:  # the launcher starts (or reports on) its workers
                if on_failure:
                    on_failure(exc)

        self.thread = threading.Thread(target=start, name="mlplat-sweep-prewarm", daemon=True)
        self.thread.start()

    def run(self, function: Any, *args: Any) -> Any:
        """`function(*args)` in one of the workers; its error is raised here."""
        from joblib import Parallel, delayed

        [result] = Parallel(**self.options)([delayed(function)(*args)])
        return result


def prewarm(config: DictConfig) -> WarmPool | None:
    """The joblib launcher's workers, to be started with `WarmPool.start` with the exact
    arguments its `Parallel` will use (joblib reuses a running executor only when they match),
    forked from a fork server that imports what trials need."""
    launcher = config.hydra.launcher
    if not str(launcher.get("_target_", "")).endswith(".JoblibLauncher"):
        return None
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
    from joblib import effective_n_jobs
    from omegaconf import OmegaConf

    options: dict[str, Any] = OmegaConf.to_container(launcher, resolve=True)  # type: ignore[assignment]
    options.pop("_target_")
    options["backend"] = "loky"  # as the launcher hard-codes it
    process_joblib_cfg(options)
    workers = effective_n_jobs(options["n_jobs"])
    _fork_workers_from_a_warm_server(workers)
    return WarmPool(options, workers)


def _register_best(
    cfg: PlatformConfig, project: Path, tracker: Tracker, best: TrialRow, parent_run_id: str
) -> Registration:
    """Gate, log and register the best trial's bundle on the best trial's own run, as
    `mlplat run` does for a single run (the champion moves only if every gate passes; an
    identical model registers nothing)."""
    from rich.console import Console

    from mlplat.core import provenance
    from mlplat.tracking import gating, registration
    from mlplat.tracking import runs as tracking

    paths = Trial(parent_run_id, "", best.number, "").paths(cfg, project)
    name = provenance.model_name(cfg)
    run = tracker.client.get_run(best.run_id)
    model_uri = tracking.log_bundle_after(tracker, run, paths["bundle"])  # outside the run
    with tracking.resumed(best.run_id):
        verdict = gating.judge(cfg, tracker, paths, name)
        return registration.register(
            cfg,
            tracker,
            paths,
            name,
            verdict,
            lambda: model_uri,
            {
                "run_id": best.run_id,
                "sweep_parent_run_id": parent_run_id,
                "config_hash": run.data.tags.get("mlplat.config_hash", provenance.config_hash(cfg)),
                "data_md5": run.data.tags.get("mlplat.data_md5", ""),
                "git_sha": provenance.git_state(project)["git_sha"],
            },
            Console(stderr=True),
        )


def finish(
    config: DictConfig, project: Path, metric: str, direction: str, pool: WarmPool | None = None
) -> SweepSummary:
    """Summarize the trials on the parent run, register the best, end the parent run; in one
    of the `pool`'s warm workers when there is one (joblib)."""
    path = Path(os.environ.pop(IDS_ENV))
    ids = published(path)
    shutil.rmtree(path.parent, ignore_errors=True)
    started = float(os.environ.pop(STARTED_ENV, time.time()))
    stopped = os.environ.pop(STOPPED_ENV, None)
    for name in (PARENT_ENV, EXPERIMENT_ENV):  # the basic launcher sets them in this process
        os.environ.pop(name, None)
    args = (config, project, metric, direction, ids, time.time() - started, stopped)
    try:
        return pool.run(_summarize, *args) if pool else _summarize(*args)
    except BaseException:
        _end_failed(ids)
        raise


def _summarize(
    config: DictConfig,
    project: Path,
    metric: str,
    direction: str,
    ids: SweepIds,
    seconds: float,
    stopped: str | None,
) -> SweepSummary:
    from mlplat.tracking.tracker import Tracker

    tracker = Tracker(ids.tracking_uri).activate()  # a worker may have run no trial
    cfg, client, parent_run_id = _platform(config), tracker.client, ids.parent_run_id
    rows = trial_rows(tracker, ids.experiment_id, parent_run_id)
    best = best_trial(rows, metric, direction)
    summary = _summary(cfg, ids, metric, direction, rows, seconds, stopped)
    for key, value in summary.totals.items():
        client.log_metric(parent_run_id, key, float(value))
    if stopped:
        client.set_tag(parent_run_id, "mlplat.sweep_stopped", stopped)
    if best is not None:
        found = _log_best(cfg, project, tracker, best, metric, parent_run_id)
        summary = replace(summary, best=found)
    client.log_dict(parent_run_id, summary.to_json(), "sweep/summary.json")
    finished = [r for r in rows if r.status == "FINISHED"]
    if best is None and finished:  # every trial ran, none logged the metric: it is misnamed
        logged = tuple(sorted(k for k in finished[0].metrics if "." not in k))
        summary = replace(summary, logged_metrics=logged)
    client.set_terminated(parent_run_id, "FINISHED" if best is not None else "FAILED")
    return summary


def _summary(
    cfg: PlatformConfig,
    ids: SweepIds,
    metric: str,
    direction: str,
    rows: list[TrialRow],
    seconds: float,
    stopped: str | None,
) -> SweepSummary:
    """The sweep's summary (sweep/summary.json) before its best trial is known."""
    table = comparison(rows, metric)
    totals = {
        "sweep.trials": len(rows),
        "sweep.failed": sum(r.status != "FINISHED" for r in rows),
        "sweep.wall_seconds": seconds,
        "cost.total.money": sum(row["money"] or 0.0 for row in table),
        "cost.total.cpu_seconds": sum(row["cpu_seconds"] or 0.0 for row in table),
    }
    return SweepSummary(
        ids.parent_run_id,
        ids.experiment_id,
        metric,
        direction,
        cfg.budget.currency,
        totals,
        stopped,
        tuple(table),
    )


def _log_best(
    cfg: PlatformConfig,
    project: Path,
    tracker: Tracker,
    best: TrialRow,
    metric: str,
    parent_run_id: str,
) -> BestTrial:
    """The best trial on the parent run, and registered when the registry is on."""
    found = BestTrial(best.number, best.run_id, best.overrides, metric, best.metrics[metric])
    client = tracker.client
    client.log_metric(parent_run_id, f"best.{metric}", best.metrics[metric])
    client.set_tag(parent_run_id, "mlplat.best_run_id", best.run_id)
    client.set_tag(parent_run_id, "mlplat.best_overrides", best.overrides)
    if cfg.registry.register:
        from mlplat.tracking.registration import failure

        registered = _register_best(cfg, project, tracker, best, parent_run_id)
        found = replace(
            found,
            model_version=registered.version,
            identical=registered.identical,
            gate_failure=failure(cfg, registered),
        )
    return found


def check_best(summary: SweepSummary, key: str) -> None:
    """A sweep whose finished trials never logged its metric fails, naming the metrics they did;
    one whose best trial failed its gates fails too (exit 1, unless gates.fail_exit=false)."""
    if summary.best is not None and summary.best.gate_failure:
        raise GateError(summary.best.gate_failure, key="gates")
    if summary.logged_metrics:
        raise ConfigError(
            f"no finished trial logged the metric {summary.metric!r}: no best trial, nothing "
            f"registered, the parent run is FAILED; the trials' metrics: "
            + ", ".join(summary.logged_metrics),
            key=key,
        )


def note_end_failure(exc: BaseException) -> None:
    _end_failure.append(exc)


def raise_end_failure() -> None:
    """The sweep's end failed (summary, registration, metric): the command fails with it."""
    if _end_failure:
        failure = _end_failure[-1]
        _end_failure.clear()
        raise failure


def abandon() -> None:
    """A sweep that died (a trial failed, Ctrl-C): end the parent run FAILED, never RUNNING."""
    path = os.environ.pop(IDS_ENV, None)
    for name in (PARENT_ENV, EXPERIMENT_ENV, STARTED_ENV, STOPPED_ENV):
        os.environ.pop(name, None)
    if not path:
        return
    try:  # a worker may still be creating it: a bad override fails before it is done
        ids = published(Path(path))
    except RuntimeError:  # none was made
        return
    finally:
        shutil.rmtree(Path(path).parent, ignore_errors=True)
    _end_failed(ids)


def _end_failed(ids: SweepIds) -> None:
    """The parent run FAILED if it is still RUNNING: never left RUNNING."""
    from mlplat.tracking.tracker import Tracker

    client = Tracker(ids.tracking_uri).client
    if client.get_run(ids.parent_run_id).info.status == "RUNNING":
        client.set_terminated(ids.parent_run_id, "FAILED")


def note_stop(reason: str) -> None:
    """The sweeper stopped launching trials: `finish` says so on the parent run and in the
    summary."""
    os.environ[STOPPED_ENV] = reason


def platform_config(config: DictConfig) -> PlatformConfig:
    return _platform(config)
