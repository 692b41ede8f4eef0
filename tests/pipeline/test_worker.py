"""The stage worker: stages run in a child process, in order, and their errors come back whole."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from mlplat.core.config import PlatformConfig
from mlplat.core.config.ops import BudgetConfig, LimitConfig
from mlplat.core.errors import BudgetExceededError, ConfigError
from mlplat.core.stage import ArtifactPaths, Stage
from mlplat.pipeline import worker


def _note(cfg: PlatformConfig, paths: ArtifactPaths, name: str) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    with (paths.root / "log.txt").open("a") as log:
        log.write(f"{name} {os.getpid()}\n")


def first(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    _note(cfg, paths, "first")


def second(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    _note(cfg, paths, "second")


def broken(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    raise ConfigError("the stage found a bad key", key="model.params.num_leaves")


class UnpicklableError(Exception):
    def __init__(self, message: str, handle: object) -> None:
        super().__init__(message)
        self.handle = handle

    def __reduce__(self) -> object:
        raise TypeError("cannot pickle a handle")


def strange(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    raise UnpicklableError("odd failure", object())


def slow(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    _note(cfg, paths, "slow")
    time.sleep(60)


def busy(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:
        pass


def train_tiny(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    _fit_tiny()
    _note(cfg, paths, "trained")


def _fit_tiny() -> None:
    import lightgbm

    rng = np.random.default_rng(0)
    x = rng.random((400, 3))
    data = lightgbm.Dataset(x, (x[:, 0] > 0.5).astype(float))
    lightgbm.train({"objective": "binary", "verbosity": -1, "num_threads": 2}, data, 3)


def _stage(fn: object, name: str | None = None) -> Stage:
    return Stage(name or fn.__name__, (), (), (), fn)  # type: ignore[arg-type, attr-defined]


def _paths(tmp_path: Path) -> ArtifactPaths:
    return ArtifactPaths(root=tmp_path / "artifacts", data=tmp_path / "data.csv")


def _log(tmp_path: Path) -> list[list[str]]:
    text = (tmp_path / "artifacts" / "log.txt").read_text()
    return [line.split() for line in text.splitlines()]


def test_stages_run_in_order_in_one_child_process(tmp_path: Path) -> None:
    stages = (_stage(first), _stage(second))
    with worker.StageWorker(PlatformConfig(), _paths(tmp_path), stages) as running:
        assert list(running.finished()) == ["first", "second"]
    log = _log(tmp_path)
    assert [name for name, _ in log] == ["first", "second"]
    assert log[0][1] == log[1][1] != str(os.getpid())  # one child, not this process
    assert set(running.cost.stages) == {"first", "second"}


def test_in_process_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(worker.INPROCESS_ENV, "1")
    with worker.StageWorker(PlatformConfig(), _paths(tmp_path), (_stage(first),)) as running:
        assert list(running.finished()) == ["first"]
    assert _log(tmp_path) == [["first", str(os.getpid())]]


def test_a_stage_error_comes_back_with_its_key_and_the_childs_traceback(tmp_path: Path) -> None:
    stages = (_stage(first), _stage(broken), _stage(second))
    with (
        pytest.raises(ConfigError) as caught,
        worker.StageWorker(PlatformConfig(), _paths(tmp_path), stages) as running,
    ):
        done = []
        for name in running.finished():
            done.append(name)
    assert done == ["first"]
    assert caught.value.key == "model.params.num_leaves"
    assert isinstance(caught.value.__cause__, worker.RemoteTracebackError)
    assert "in broken" in str(caught.value.__cause__)  # the child's own frames
    assert [name for name, _ in _log(tmp_path)] == ["first"]  # nothing ran after the failure
    assert set(running.cost.stages) == {"first", "broken"}  # the failed stage's cost is kept


def test_an_error_that_cannot_cross_processes_is_named(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="UnpicklableError: odd failure"),
        worker.StageWorker(PlatformConfig(), _paths(tmp_path), (_stage(strange),)) as running,
    ):
        list(running.finished())


def test_a_budget_breach_in_the_child_stops_the_stages(tmp_path: Path) -> None:
    limit = LimitConfig(limit=0.1, policy="fail")
    cfg = PlatformConfig(budget=BudgetConfig(max_wall_seconds=limit))
    stages = (_stage(busy), _stage(second))
    with (
        pytest.raises(BudgetExceededError, match="max_wall_seconds"),
        worker.StageWorker(cfg, _paths(tmp_path), stages) as running,
    ):
        list(running.finished())
    assert running.cost.exceeded == {"max_wall_seconds": "fail"}
    assert not (tmp_path / "artifacts" / "log.txt").exists()  # `second` never started


def over_training_time(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    raise BudgetExceededError("training ran over", key="budget.max_train_seconds.limit")


@pytest.mark.parametrize("separate", [True, False], ids=["child", "in-process"])
def test_a_budget_breached_inside_a_stage_is_recorded(tmp_path: Path, separate: bool) -> None:
    """max_train_seconds fails inside the train stage; in process is how a sweep's trials run."""
    stages = (_stage(over_training_time), _stage(second))
    with (
        pytest.raises(BudgetExceededError, match="training ran over"),
        worker.StageWorker(
            PlatformConfig(), _paths(tmp_path), stages, separate_process=separate
        ) as running,
    ):
        list(running.finished())
    assert running.cost.exceeded == {"max_train_seconds": "fail"}
    assert not (tmp_path / "artifacts" / "log.txt").exists()  # `second` never started


def test_a_failure_in_the_parent_stops_the_child(tmp_path: Path) -> None:
    started = time.perf_counter()
    with (
        pytest.raises(KeyError),
        worker.StageWorker(PlatformConfig(), _paths(tmp_path), (_stage(slow),)),
    ):
        child = worker._Child.process
        while not (tmp_path / "artifacts" / "log.txt").exists():
            time.sleep(0.05)
        raise KeyError("the tracking store went away")
    assert time.perf_counter() - started < 30  # not the stage's 60 s
    assert child is not None and not child.is_alive()
    with worker.StageWorker(PlatformConfig(), _paths(tmp_path), (_stage(first),)) as running:
        assert list(running.finished()) == ["first"]  # a new stage process serves the next run


def test_the_stage_process_is_kept_for_the_next_run(tmp_path: Path) -> None:
    for _ in range(2):
        with worker.StageWorker(PlatformConfig(), _paths(tmp_path), (_stage(first),)) as running:
            assert list(running.finished()) == ["first"]
    with (
        pytest.raises(ConfigError),
        worker.StageWorker(PlatformConfig(), _paths(tmp_path), (_stage(broken),)) as running,
    ):
        list(running.finished())
    with worker.StageWorker(PlatformConfig(), _paths(tmp_path), (_stage(second),)) as running:
        assert list(running.finished()) == ["second"]
    pids = {pid for _, pid in _log(tmp_path)}
    assert len(pids) == 1 and str(os.getpid()) not in pids  # one warm child served all four


@pytest.mark.slow
def test_the_child_trains_after_this_process_used_lightgbm(tmp_path: Path) -> None:
    """A forked child would deadlock in LightGBM's OpenMP pool once the parent had used it."""
    _fit_tiny()  # this process now holds an OpenMP thread pool
    with worker.StageWorker(PlatformConfig(), _paths(tmp_path), (_stage(train_tiny),)) as running:
        assert list(running.finished()) == ["train_tiny"]
    assert _log(tmp_path)[0][0] == "trained"


def test_a_prestarted_stage_process_imports_while_it_waits_then_serves_the_run(
    tmp_path: Path,
) -> None:
    worker._Child.discard()
    worker.prestart()
    child = worker._Child.process
    assert child is not None and child.is_alive()
    maps = Path(f"/proc/{child.pid}/maps")
    deadline = time.monotonic() + 120
    while "lib_lightgbm" not in maps.read_text():  # the last of PRELOAD, before any job came
        assert time.monotonic() < deadline, "the stage process never imported LightGBM"
        time.sleep(0.1)
    with worker.StageWorker(PlatformConfig(), _paths(tmp_path), (_stage(first),)) as running:
        assert list(running.finished()) == ["first"]
    assert _log(tmp_path) == [["first", str(child.pid)]]  # the prestarted process ran it
