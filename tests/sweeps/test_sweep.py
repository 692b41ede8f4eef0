"""`mlplat run -m`: parallel trials on a fresh store, one parent run, and budget-aware stopping."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from omegaconf import open_dict

from tests.conftest import REPO, mlplat, tracking_uri

# 10 rounds lose to the linear baseline (a failed gate, exit 1); these tests are about sweeps
FAST = [
    "run",
    "-m",
    "+experiment=churn_baseline",
    "segments=none",
    "model.num_boost_round=10",
    "gates.fail_exit=false",
]
JOBLIB = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")


def client(root: Path) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri(root))


def sweep_runs(root: Path) -> tuple[Any, list[Any], list[Any]]:
    """(the one parent run, its child runs, every run of the store in any experiment)."""
    c = client(root)
    experiments = c.search_experiments()
    every = c.search_runs([e.experiment_id for e in experiments], max_results=1000)
    [parent] = [r for r in every if r.data.tags.get("mlplat.sweep") == "parent"]
    children = [r for r in every if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    return parent, children, every


def compose_sweep(*overrides: str) -> Any:
    from hydra import compose

    return compose("config", ["+experiment=churn_baseline", *overrides], return_hydra_config=True)


@pytest.fixture
def hydra_conf() -> Any:
    from hydra import initialize_config_dir

    from mlplat.core.config import register_schemas

    register_schemas()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        yield


def test_trials_get_the_sweep_ids_in_their_own_job_config(hydra_conf: None) -> None:
    """Whatever launcher runs a trial (a pre-started joblib worker, SLURM, Ray), Hydra composes
    its config from the sweep's hydra overrides: that is where the parent run's ids travel."""
    from hydra.core.global_hydra import GlobalHydra

    from mlplat.sweeps import sweep

    loader = GlobalHydra.instance().config_loader()
    for ids in (
        {sweep.PARENT_ENV: "12e4", sweep.EXPERIMENT_ENV: "3"},  # 12e4 must not become a float
        {sweep.IDS_ENV: "/tmp/mlplat-sweep-x/ids.json"},  # joblib: where a worker publishes them
    ):
        master = compose_sweep()
        sweep._hand_to_trials(master, ids)
        trial = loader.load_sweep_config(master, ["model.params.num_leaves=7"])
        assert dict(trial.hydra.job.env_set) == ids
        assert trial.model.params.num_leaves == 7


def test_joblib_trials_wait_for_the_ids_a_worker_publishes(tmp_path: Path) -> None:
    """Joblib trials start while a worker still creates the parent run: they wait for its ids,
    and a failure to create it reaches them as an error, not a wait without end."""
    import threading
    import time

    from mlplat.sweeps import sweep

    path = tmp_path / "ids.json"
    ids = sweep.SweepIds("sqlite:///x.db", "3", "12e4")
    later = threading.Timer(0.3, sweep.publish, (path, ids))
    started = time.monotonic()
    later.start()
    assert sweep.published(path) == ids
    assert time.monotonic() - started >= 0.3
    failed = tmp_path / "failed.json"
    sweep.publish(failed, error="OperationalError: unable to open database file")
    with pytest.raises(RuntimeError, match="could not create its parent run: OperationalError"):
        sweep.published(failed)
    with pytest.raises(RuntimeError, match=r"did not appear in .*never\.json within 0 s"):
        sweep.published(tmp_path / "never.json", wait=0.05)


def test_a_sweep_whose_end_fails_leaves_its_parent_run_failed(
    hydra_conf: None, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlplat.sweeps import sweep

    master = compose_sweep()
    assert sweep.start(master, project) is None  # the basic launcher: made here, now

    def gone(*args: object) -> None:
        raise OSError("the tracking store went away")

    monkeypatch.setattr(sweep, "trial_rows", gone)
    with pytest.raises(OSError, match="went away"):
        sweep.finish(master, project, "auc", "maximize")
    parent, children, _ = sweep_runs(project)
    assert parent.info.status == "FAILED" and not children
    assert sweep.IDS_ENV not in os.environ  # nothing left for `abandon` to wait on


def test_joblib_workers_started_early_are_the_ones_the_launcher_uses(
    hydra_conf: None, tmp_path: Path
) -> None:
    from hydra.utils import instantiate
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
    from joblib import Parallel, cpu_count, delayed
    from joblib.externals.loky import reusable_executor
    from joblib.externals.loky.backend.context import set_start_method

    from mlplat.sweeps import sweep

    master = compose_sweep(*JOBLIB)
    with open_dict(master):
        master.hydra.sweep.dir = str(tmp_path)
    environ = dict(os.environ)
    threads = environ.get("OMP_NUM_THREADS", str(max(cpu_count() // 2, 1)))  # joblib's rule
    try:
        pool = sweep.prewarm(master)
        assert pool is not None
        pool.start()
        assert pool.thread is not None
        pool.thread.join(120)
        warmed = reusable_executor._executor
        assert warmed is not None and len(warmed._processes) == 2
        # what Hydra's joblib launcher does with its config (hydra_joblib_launcher._core.launch)
        options = instantiate(master.hydra.launcher).joblib
        options["backend"] = "loky"
        process_joblib_cfg(options)
        pids = Parallel(**options)(delayed(os.getpid)() for _ in range(4))
        assert reusable_executor._executor is warmed, "the launcher restarted the workers"
        assert set(pids) <= set(warmed._processes)
        # forked from the warm server: the trial modules are loaded, the thread limits joblib
        # gives its workers hold, and the heap of imports is frozen
        [state] = set(Parallel(**options)(delayed(worker_state)() for _ in range(2)))
        assert state == (True, threads, True)
        # the sweep's end (registering the best trial) runs in one of those workers too
        assert pool.run(os.getpid) in set(warmed._processes)
        assert reusable_executor._executor is warmed
    finally:
        reusable_executor._executor.shutdown(kill_workers=True)
        set_start_method(None, force=True)
        os.environ.clear()
        os.environ.update(environ)
    assert sweep.prewarm(compose_sweep()) is None  # the basic launcher: nothing to start


@pytest.mark.parametrize(
    ("args", "workers"),
    [
        pytest.param(["+experiment=churn_baseline"], None, id="basic"),
        pytest.param(["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], 2, id="joblib"),
        pytest.param(["hydra/launcher=parallel"], 2, id="preset"),  # its n_jobs: 2
        pytest.param(["hydra/launcher=parallel", "hydra.launcher.n_jobs=1"], 1, id="override"),
        pytest.param(["hydra/launcher=slurm"], None, id="slurm"),
        pytest.param(["hydra/launcher=nosuch"], None, id="unknown"),
    ],
)
def test_the_command_line_tells_how_many_joblib_workers_to_start_early(
    args: list[str], workers: int | None
) -> None:
    from mlplat.sweeps import sweep

    assert sweep._joblib_workers(REPO, ["-m", *args]) == workers


def test_a_project_launcher_preset_wins_over_the_one_mlplat_ships(tmp_path: Path) -> None:
    from mlplat.sweeps import sweep

    mine = tmp_path / "conf" / "hydra" / "launcher" / "parallel.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("defaults:\n  - joblib\nn_jobs: 1\n")
    assert sweep._joblib_workers(tmp_path, ["-m", "hydra/launcher=parallel"]) == 1
    mine.write_text("defaults:\n  - basic\n")
    assert sweep._joblib_workers(tmp_path, ["-m", "hydra/launcher=parallel"]) is None


def test_a_fork_server_started_early_serves_the_sweep_unless_its_limits_are_wrong() -> None:
    """`mlplat run -m ... hydra/launcher=joblib` starts the fork server as the command line is
    read; the launcher Hydra composes keeps it, or replaces it if it needs other thread limits."""
    from multiprocessing import forkserver

    from joblib.externals.loky.backend.context import set_start_method

    from mlplat.sweeps import sweep

    environ = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.endswith("_NUM_THREADS")]:
            del os.environ[name]  # joblib's limits then follow the cores
        sweep.prestart(REPO, ["-m", *JOBLIB])
        early = forkserver._forkserver._forkserver_pid
        assert early is not None
        assert sweep._SERVING["OMP_NUM_THREADS"] == str(max((os.cpu_count() or 1) // 2, 1))
        assert "OMP_NUM_THREADS" not in os.environ  # the server's, not this process's (yet)
        sweep._fork_workers_from_a_warm_server(2)  # what the composed launcher asks: kept
        assert forkserver._forkserver._forkserver_pid == early
        assert os.environ["OMP_NUM_THREADS"] == sweep._SERVING["OMP_NUM_THREADS"]
        if (os.cpu_count() or 1) > 1:
            os.environ.pop("OMP_NUM_THREADS")
            sweep._fork_workers_from_a_warm_server(1)  # one worker gets every core: replaced
            assert forkserver._forkserver._forkserver_pid is None
            assert os.environ["OMP_NUM_THREADS"] == str(os.cpu_count())
    finally:
        forkserver._forkserver._stop()
        sweep._SERVING.clear()
        set_start_method(None, force=True)
        os.environ.clear()
        os.environ.update(environ)


def worker_state() -> tuple[bool, str | None, bool]:
    import gc
    import sys

    return "lightgbm" in sys.modules, os.environ.get("OMP_NUM_THREADS"), gc.get_freeze_count() > 0


@pytest.mark.slow
def test_eight_parallel_trials_on_a_fresh_store_lose_and_misplace_nothing(project: Path) -> None:
    assert not (project / "mlflow.db").exists()
    done = mlplat(
        *FAST,
        "model.params.num_leaves=7,15,31,63",
        "model.params.learning_rate=0.05,0.1",
        *JOBLIB,
        cwd=project,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    parent, children, every = sweep_runs(project)
    experiment = client(project).get_experiment_by_name("churn_baseline")
    assert len(every) == 9, "8 trials + 1 parent, nothing in Default or elsewhere"
    assert len(children) == 8
    assert {r.info.experiment_id for r in every} == {experiment.experiment_id}
    assert {r.info.status for r in every} == {"FINISHED"}
    assert sorted(int(r.data.tags["mlplat.trial"]) for r in children) == list(range(8))
    assert len({r.data.tags["mlplat.overrides"] for r in children}) == 8
    # the parent: best trial, comparison of all trials, total cost
    best = max(children, key=lambda r: r.data.metrics["auc"])
    assert parent.data.tags["mlplat.best_run_id"] == best.info.run_id
    assert parent.data.metrics["sweep.trials"] == 8
    total = sum(r.data.metrics["cost.total.money"] for r in children)
    assert parent.data.metrics["cost.total.money"] == pytest.approx(total)
    summary = client(project).download_artifacts(parent.info.run_id, "sweep/summary.json")
    assert len(json.loads(Path(summary).read_text())["trials"]) == 8
    # trials kept their own artifacts; only the best trial was registered
    trial_dirs = list((project / "artifacts/churn_baseline/trials" / parent.info.run_id).iterdir())
    assert len(trial_dirs) == 8 and all((d / "cost.json").is_file() for d in trial_dirs)
    [version] = client(project).search_model_versions("name='telco-churn-lgbm'")
    assert version.run_id == best.info.run_id
    # logged after the trial's metrics, yet a model of the trial's run like a single run's
    from mlflow.entities import LoggedModelStatus

    model = client(project).get_logged_model(version.source.removeprefix("models:/"))
    assert model.source_run_id == best.info.run_id and model.status == LoggedModelStatus.READY
    outputs = client(project).get_run(best.info.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [model.model_id]
    local = Path(model.artifact_location.removeprefix("file://"))
    assert (local / "MLmodel").is_file() and (local / "artifacts/bundle/MANIFEST.json").is_file()
    assert "best trial" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("budget", "expected", "reason"),
    [
        pytest.param("budget.sweep.max_trials=2", 2, "max_trials", id="max-trials"),
        pytest.param("budget.sweep.max_total_cost=0.0000001", 1, "max_total_cost", id="max-cost"),
        pytest.param("budget.sweep.max_total_wall=0.001", 1, "max_total_wall", id="max-wall"),
    ],
)
def test_optuna_sweeper_stops_launching_at_the_sweep_budget(
    project: Path, budget: str, expected: int, reason: str
) -> None:
    done = mlplat(
        *FAST,
        "hydra/sweeper=mlplat_optuna",
        "hydra.sweeper.n_trials=4",
        "model.params.num_leaves=choice(7,15,31)",
        "model.params.learning_rate=tag(log,interval(0.03,0.3))",
        "registry.register=false",
        budget,
        cwd=project,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    parent, children, _ = sweep_runs(project)
    assert len(children) == expected
    assert reason in parent.data.tags["mlplat.sweep_stopped"]
    assert f"sweep stopped early: budget.sweep.{reason} reached" in " ".join(done.stderr.split())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("launcher", "started"),
    [
        pytest.param((), {2}, id="basic"),  # runs its batch, then stops on the failure
        # a worker creates the parent run; joblib cancels what has not started after a failure
        pytest.param(JOBLIB, {1, 2}, id="joblib"),
    ],
)
def test_a_failed_trial_leaves_no_run_running(
    project: Path, launcher: tuple[str, ...], started: set[int]
) -> None:
    done = mlplat(
        *FAST,
        "model.params.num_leaves=7,15",
        "budget.max_peak_memory_mb.limit=1",
        *launcher,
        cwd=project,
    )
    assert done.returncode == 1
    assert "budget max_peak_memory_mb exceeded in stage 'validate'" in " ".join(done.stderr.split())
    parent, children, every = sweep_runs(project)
    assert parent.info.status == "FAILED"
    assert {r.info.status for r in every} == {"FAILED"}
    assert len(children) in started


@pytest.mark.slow
@pytest.mark.parametrize("launcher", [(), JOBLIB], ids=["basic", "joblib"])
def test_a_sweep_that_cannot_make_its_parent_run_says_why(
    project: Path, launcher: tuple[str, ...]
) -> None:
    """At once: neither a trial nor the sweep's cleanup waits for a parent run never made."""
    under_a_file = project / "data" / "churn.csv" / "mlflow.db"
    done = mlplat(
        *FAST,
        "model.params.num_leaves=7,15",
        f"tracking.uri=sqlite:///{under_a_file}",
        *launcher,
        cwd=project,
        timeout=120,
    )
    assert done.returncode == 1
    assert "the sweep could not create its parent run" in done.stderr
    assert not (project / "mlflow.db").exists()
    assert not (project / "artifacts/churn_baseline/trials").exists()


@pytest.mark.parametrize(
    ("task", "metric", "direction", "expected"),
    [
        ("binary", None, None, ("auc", "maximize")),
        ("multiclass", None, None, ("log_loss", "minimize")),
        ("regression", None, None, ("rmse", "minimize")),
        ("regression", "r2", None, ("r2", "maximize")),
        ("binary", "brier", None, ("brier", "minimize")),
        ("binary", "auc", "minimize", ("auc", "minimize")),  # declared: kept
    ],
)
def test_the_sweep_objective_defaults_to_the_task_primary_metric(
    task: str, metric: str | None, direction: str | None, expected: tuple[str, str]
) -> None:
    from mlplat.sweeps import sweep

    assert sweep.objective(task, metric, direction) == expected


def test_a_bad_sweep_direction_names_its_key(project: Path) -> None:
    done = mlplat(
        *FAST, "model.params.num_leaves=7", "hydra.callbacks.mlplat_sweep.direction=up", cwd=project
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert (
        "error: [key 'hydra.callbacks.mlplat_sweep.direction'] must be maximize or minimize, "
        "not 'up'" in done.stderr
    )
    assert not (project / "mlflow.db").exists()  # refused before any run


@pytest.mark.slow
def test_a_misnamed_sweep_metric_fails_the_sweep_and_registers_nothing(project: Path) -> None:
    done = mlplat(
        *FAST, "model.params.num_leaves=7", "hydra.callbacks.mlplat_sweep.metric=acu", cwd=project
    )
    assert done.returncode == 2, done.stderr[-2000:]
    line = " ".join(done.stderr.split())
    assert "error: [key 'hydra.callbacks.mlplat_sweep.metric'] no finished trial logged" in line
    assert "the trials' metrics: accuracy, auc, brier" in line
    parent, children, _ = sweep_runs(project)
    assert parent.info.status == "FAILED"
    assert [c.info.status for c in children] == ["FINISHED"]
    assert client(project).search_registered_models() == []


@pytest.mark.slow
def test_a_misnamed_optuna_metric_stops_the_search_naming_its_key(project: Path) -> None:
    done = mlplat(
        *FAST,
        "hydra/sweeper=mlplat_optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.metric=acu",
        "model.params.num_leaves=choice(7,15)",
        "registry.register=false",
        cwd=project,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    line = " ".join(done.stderr.split())
    assert "error: [key 'hydra.sweeper.metric'] the trial finished without a metric 'acu'" in line
    parent, children, _ = sweep_runs(project)
    assert parent.info.status == "FAILED"
    assert [c.info.status for c in children] == ["FINISHED"]  # stopped after the first trial


@pytest.mark.slow
def test_a_config_naming_the_callback_by_its_old_path_still_sweeps(project: Path) -> None:
    """conf/config.yaml written before runner/ was split names `mlplat.runner.sweep_callback`."""
    config = project / "conf" / "config.yaml"
    text = config.read_text()
    assert "mlplat.sweeps.callback.SweepCallback" in text
    config.write_text(text.replace("mlplat.sweeps.callback", "mlplat.runner.sweep_callback"))
    done = mlplat(*FAST, "model.params.num_leaves=7,15", cwd=project)
    assert done.returncode == 0, done.stderr[-3000:]
    parent, children, _ = sweep_runs(project)
    assert parent.info.status == "FINISHED" and len(children) == 2
