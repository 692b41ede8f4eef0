"""`dvc repro` of a compiled pipeline in a real git + DVC repository: what reruns, and when."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import make_project
from tests.dvc_support import BIN, clone, dvc, env, init_repo, mlplat, repro

pytestmark = pytest.mark.slow
EXP = "churn_tiny"
ALL = [f"{EXP}-{s}" for s in ("validate", "featurize", "train", "bundle", "evaluate", "register")]


def in_dag_order(ran: list[str], stages: list[str]) -> bool:
    """`ran` is `stages` in an order DVC may pick: bundle and evaluate both follow train only."""
    free = {f"{EXP}-bundle", f"{EXP}-evaluate"}
    fixed = [s for s in ran if s not in free]
    return sorted(ran) == sorted(stages) and fixed == [s for s in stages if s not in free]


ROWS = 2000
# A `mlplat stage train` process spends ~1.8 s of CPU importing; 600 unstopped rounds on these
# rows take ~3 s more, so a kill at 2.3 s of CPU lands in training.
IMPORT_CPU_SECONDS = 2.3


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_repo(make_project(tmp_path_factory.mktemp("origin") / "repo", rows=ROWS))


@pytest.fixture(scope="module")
def reproduced(origin: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A fresh clone and the stages its first `dvc repro` ran."""
    root = clone(origin, tmp_path_factory.mktemp("clone") / "repo")
    ran, _ = repro(root)
    return root, ran


def restore(root: Path) -> None:
    """Back to the committed state; DVC's run cache restores outputs without rerunning."""
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True, env=env())
    repro(root)
    assert "up to date" in dvc("status", cwd=root).stdout


def test_fresh_clone_runs_every_stage_then_none(reproduced: tuple[Path, list[str]]) -> None:
    root, first = reproduced
    assert in_dag_order(first, ALL)
    second, done = repro(root)
    assert second == [], done.stdout
    assert "up to date" in dvc("status", cwd=root).stdout


def test_each_stage_profiles_itself_and_register_adds_them_up(
    reproduced: tuple[Path, list[str]],
) -> None:
    """Under `dvc repro` every stage is its own process: each writes cost/<stage>.json, a DVC
    metrics file, and the register stage sums them into cost.json and the MLflow run."""
    from mlflow import MlflowClient

    root, _ = reproduced
    shown = json.loads(dvc("metrics", "show", "--json", cwd=root).stdout)
    files = next(iter(shown.values()))["data"]
    stages = [s.removeprefix(f"{EXP}-") for s in ALL if not s.endswith("register")]
    for name in [*stages, "register"]:
        usage = files[f"artifacts/{EXP}/cost/{name}.json"]["data"]
        assert usage["wall_seconds"] > 0 and usage["peak_rss_mb"] > 0, name
    total = files[f"artifacts/{EXP}/cost.json"]["data"]
    assert sorted(total["stages"]) == sorted(stages)
    walls = sum(files[f"artifacts/{EXP}/cost/{n}.json"]["data"]["wall_seconds"] for n in stages)
    assert abs(total["total"]["wall_seconds"] - walls) < 1e-3
    registered = json.loads((root / "artifacts" / EXP / "register" / "run.json").read_text())
    run = MlflowClient(registered["tracking_uri"]).get_run(registered["run_id"])
    assert run.data.metrics["cost.train.wall_seconds"] > 0
    assert run.data.metrics["cost.total.money"] > 0


def test_artifacts_equal_mlplat_run(
    origin: Path, reproduced: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, _ = reproduced
    in_process = make_project(tmp_path / "run", rows=ROWS)
    (in_process / "conf" / "experiment" / f"{EXP}.yaml").write_bytes(
        (origin / "conf" / "experiment" / f"{EXP}.yaml").read_bytes()
    )
    mlplat("run", f"+experiment={EXP}", cwd=in_process)
    for rel in ("train/model.txt", "evaluate/metrics.json"):
        a = (root / "artifacts" / EXP / rel).read_bytes()
        b = (in_process / "artifacts" / EXP / rel).read_bytes()
        assert a == b, rel
    registered = json.loads((root / "artifacts" / EXP / "register" / "run.json").read_text())
    assert registered["run_id"] and registered["model_version"] is None  # registration is off


def test_model_param_reruns_train_and_downstream_only(reproduced: tuple[Path, list[str]]) -> None:
    root, _ = reproduced
    params = root / "params.yaml"
    params.write_text(
        params.read_text().replace("num_leaves: 31", "num_leaves: 7"), encoding="utf-8"
    )
    ran, _ = repro(root)
    assert in_dag_order(ran, [f"{EXP}-{s}" for s in ("train", "bundle", "evaluate", "register")])
    restore(root)


def test_data_change_reruns_everything(reproduced: tuple[Path, list[str]]) -> None:
    from mlplat.example.churn import write

    root, _ = reproduced
    write(root / "data" / "churn.csv", rows=ROWS, seed=8)
    ran, _ = repro(root)
    assert in_dag_order(ran, ALL)
    restore(root)


def _stage_process(parent: psutil.Process, name: str) -> psutil.Process | None:
    for child in parent.children(recursive=True):
        try:
            if "stage" in child.cmdline() and name in child.cmdline():
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def _wait_for_cpu(process: psutil.Process, seconds: float) -> None:
    """CPU time, not wall time, marks progress: it does not stretch when the machine is busy."""
    while sum(process.cpu_times()[:2]) < seconds:
        time.sleep(0.01)


def test_sigkill_mid_stage_leaves_nothing_dvc_accepts(reproduced: tuple[Path, list[str]]) -> None:
    root, _ = reproduced
    params = root / "params.yaml"
    # long enough that the kill below lands in training, well before the stage could finish
    slow = params.read_text().replace("num_boost_round: 20", "num_boost_round: 4000")
    params.write_text(slow.replace("early_stopping_rounds: 30", "early_stopping_rounds: null"))
    proc = subprocess.Popen(
        [str(BIN / "dvc"), "repro"],
        cwd=root,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, victim = time.monotonic() + 120, None
        while victim is None and time.monotonic() < deadline:
            victim = _stage_process(psutil.Process(proc.pid), "train")
            time.sleep(0.05)
        assert victim is not None, "the train stage never started"
        _wait_for_cpu(victim, IMPORT_CPU_SECONDS)  # past the imports, into training
        victim.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=120) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    status = json.loads(dvc("status", "--json", cwd=root).stdout)
    assert f"{EXP}-train" in status, status
    ran, _ = repro(root)
    assert ran[0] == f"{EXP}-train"
    assert "up to date" in dvc("status", cwd=root).stdout
    restore(root)
