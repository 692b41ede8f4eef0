"""Every stop is recorded (issue 20, item 3): SIGTERM, SIGINT (a terminal's Ctrl-C, to the whole
process group) and SIGHUP at any stage end the stage process and the MLflow run KILLED with the
signal as a tag; a stop during registration lets it finish whole; SIGKILL leaves the run RUNNING
until the next run in the project marks it FAILED with the reason. No process outlives the
command, and nothing is half published (docs/reliability.md).

To stop a run at a given stage, the test watches the stage file of the run's own directory and
freezes (SIGSTOP) the stage process the moment it names that stage, then waits for the MLflow run
to exist; for registration (this process's own work) it freezes the whole process group. The
signal is sent to the frozen command, which is then let go (SIGCONT).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import make_project, mlplat
from tests.run_support import (
    EXPERIMENT,
    MODEL,
    client,
    lease_of,
    published,
    read,
    registered_bundle,
    run_dirs,
    stage_process,
    start,
    wait_for,
)

FAST = ("run", f"+experiment={EXPERIMENT}", "model.num_boost_round=60")
STAGES = ("validate", "featurize", "train", "bundle", "evaluate", "register")
PARENT_STAGES = ("register",)  # the command's own work after the stage process's
ATTEMPTS = 3  # a stage of a tenth of a second can end before the test freezes it


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project after one successful run: its published outputs must survive every stop."""
    root = make_project(tmp_path_factory.mktemp("stops") / "proj")
    # one round fewer than the stopped runs: an identical re-run registers nothing, and a run
    # stopped during registration must have a new version to register
    done = mlplat(*FAST, "model.num_boost_round=59", cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    return root


@dataclass
class Frozen:
    root: Path
    process: subprocess.Popen[str]
    tree: list[psutil.Process]  # the command and every process it started
    run_id: str
    before: dict[str, str]  # what was published before it started


def _stage(root: Path) -> str | None:
    dirs = run_dirs(root)
    return read(dirs[0].parent / "stage") if dirs else None


def _freeze(root: Path, stage: str) -> Frozen | None:
    before = published(root)
    process = start(*FAST, cwd=root)
    wait_for(lambda: _stage(root) == stage, f"stage {stage}", process)
    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    if stage in PARENT_STAGES:
        os.killpg(process.pid, signal.SIGSTOP)
    else:
        stage_process(process).suspend()
    if _stage(root) != stage:  # too late: it had moved on
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None
    run_id = wait_for(lambda: (lease_of(root) or {}).get("run_id"), "the MLflow run", process)
    return Frozen(root, process, tree, run_id, before)


@pytest.fixture
def frozen_at(baseline: Path, tmp_path: Path) -> Iterator[Any]:
    made: list[Frozen] = []

    def freeze(stage: str) -> Frozen:
        for attempt in range(ATTEMPTS):
            root = Path(shutil.copytree(baseline, tmp_path / f"proj{attempt}"))
            found = _freeze(root, stage)
            if found:
                made.append(found)
                return found
        raise AssertionError(f"stage {stage} ended before it could be frozen, {ATTEMPTS} times")

    yield freeze
    for left in made:  # a failed assertion must not leave a frozen command behind
        if left.process.poll() is None:
            os.killpg(left.process.pid, signal.SIGKILL)


def _stop(frozen: Frozen, name: str) -> subprocess.CompletedProcess[str]:
    number = getattr(signal, name)
    if number == signal.SIGINT:  # Ctrl-C in a terminal: the whole foreground process group
        os.killpg(frozen.process.pid, number)
    else:
        os.kill(frozen.process.pid, number)
    with contextlib.suppress(ProcessLookupError):  # SIGKILL took the whole group
        os.killpg(frozen.process.pid, signal.SIGCONT)
    out, err = frozen.process.communicate(timeout=300)
    return subprocess.CompletedProcess(frozen.process.args, frozen.process.returncode, out, err)


def _no_orphans(frozen: Frozen) -> None:
    _, alive = psutil.wait_procs(frozen.tree, timeout=30)
    assert alive == [], f"outlived the command: {[(p.pid, p.cmdline()) for p in alive]}"


CASES = [
    pytest.param(stage, sig, id=f"{sig}-{stage}")
    for stage in STAGES
    for sig in ("SIGTERM", "SIGINT")
] + [pytest.param("train", "SIGHUP", id="SIGHUP-train")]


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "sig"), CASES)
def test_a_stop_ends_the_stage_process_and_the_run_killed(
    frozen_at: Any, stage: str, sig: str
) -> None:
    frozen = frozen_at(stage)
    done = _stop(frozen, sig)
    assert done.returncode == 128 + getattr(signal, sig), done.stderr[-3000:]
    _no_orphans(frozen)
    run = client(frozen.root).get_run(frozen.run_id)
    assert run.data.tags["mlplat.stop_signal"] == sig
    if stage in PARENT_STAGES:  # registration is never cut in half: it finished, then stopped
        assert run.info.status == "FINISHED"
        assert f"stopped by {sig} during registration" in done.stderr
        [found] = client(frozen.root).search_model_versions(f"run_id='{frozen.run_id}'")
        version = client(frozen.root).get_model_version(MODEL, found.version)
        assert "challenger" in version.aliases
        _published_whole(frozen, version.version)
        return
    assert run.info.status == "KILLED"
    assert f"stopped by {sig} during stage {stage} of run {run.info.run_name}" in done.stderr
    assert f"stage {stage}" in run.data.tags["mlplat.error"]
    assert client(frozen.root).search_model_versions(f"run_id='{frozen.run_id}'") == []
    assert published(frozen.root) == frozen.before  # nothing of the stopped run published


def _published_whole(frozen: Frozen, version: str) -> None:
    """What is published is the stopped run's: its bundle as registered (metadata.json holds its
    time of making), its cost profile; the same config trains the same model as before."""
    now = published(frozen.root)
    assert now.keys() == frozen.before.keys()
    for path in registered_bundle(frozen.root, version).iterdir():
        assert (frozen.root / "artifacts" / EXPERIMENT / "bundle" / path.name).read_bytes() == (
            path.read_bytes()
        )
    assert now["cost.json"] != frozen.before["cost.json"]  # its timings, not the previous run's
    assert now["train/model.txt"] == now["bundle/model.txt"]


@pytest.mark.slow
@pytest.mark.parametrize("stage", [pytest.param(s, id=f"SIGKILL-{s}") for s in STAGES])
def test_a_run_killed_outright_is_found_and_failed_by_the_next(frozen_at: Any, stage: str) -> None:
    frozen = frozen_at(stage)
    lease = lease_of(frozen.root)
    assert lease is not None
    done = _stop(frozen, "SIGKILL")
    assert done.returncode == -signal.SIGKILL
    _no_orphans(frozen)  # the stage process died with it (Linux's parent-death signal)
    assert client(frozen.root).get_run(frozen.run_id).info.status == "RUNNING"
    journal = [p for p in run_dirs(frozen.root) if (p.parent / "publish.json").is_file()]
    # nothing published, unless the kill fell between the renames of the publication (which
    # registration precedes): then its journal is there for the next run to finish
    assert published(frozen.root) == frozen.before or journal

    after = mlplat(*FAST, "model.num_boost_round=5", "registry.register=false", cwd=frozen.root)
    assert after.returncode == 0, after.stderr[-3000:]
    run = client(frozen.root).get_run(frozen.run_id)
    assert run.info.status == "FAILED"
    reason = run.data.tags["mlplat.error"]
    assert f"pid {lease['pid']}" in reason and f"during {stage}" in reason, reason
    assert f"run {run.info.run_name} marked FAILED" in " ".join(after.stderr.split())
    assert run_dirs(frozen.root) == []  # its directory went with it


def _lease(**changes: Any) -> Any:
    from dataclasses import replace

    from mlplat.pipeline.rundir import Lease

    return replace(Lease.mine(), **changes)


def test_a_lease_tells_a_process_that_is_gone_from_one_at_work() -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    assert not _lease().gone()  # this process
    assert _lease(pid=ended.pid).gone()  # ended (and its pid free, or soon another's)
    assert _lease(started=_lease().started - 3600).gone()  # the pid, reused by a newer process
    assert not _lease(pid=ended.pid, host="elsewhere").gone()  # another host's: not judged
