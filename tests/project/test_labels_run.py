"""A user's own data through `mlplat init` and `mlplat run`: the task and labels are right, rows
without a target are counted, gates protect and exit 1, an identical re-run registers nothing.

The data come from scikit-learn's bundled sets (breast cancer as Yes/No with gaps, wine with its
class names, diabetes) and two constructed honestly: a purely linear target with few rows (a
linear model must beat LightGBM there) and a rare class with no signal (the model never predicts
it).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from tests.conftest import tracking_uri
from tests.dvc_support import mlplat, repro

RUN = ("run", "+experiment=baseline")
MISSING_EVERY = 25  # one target in 25 blanked: 23 of breast cancer's 569 rows


def _snake(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=lambda c: str(c).replace(" ", "_"))


def _project(where: Path, name: str, frame: pd.DataFrame, target: str) -> Path:
    """`mlplat init` on the frame written as CSV, as a user would."""
    csv = where / f"{name}.csv"
    frame.to_csv(csv, index=False)
    mlplat("init", name, "--data", str(csv), "--target", target, cwd=where)
    return where / name


def _text(output: str) -> str:
    """A printed table's words in order: cells wrap at 80 columns, so drop borders and breaks."""
    return " ".join(output.replace("│", " ").split())


def _client(root: Path) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri(root), registry_uri=tracking_uri(root))


def _versions(root: Path, name: str) -> list[str]:
    return sorted(str(v.version) for v in _client(root).search_model_versions(f"name='{name}'"))


def _aliases(root: Path, name: str) -> dict[str, str]:
    return {k: str(v) for k, v in _client(root).get_registered_model(name).aliases.items()}


def _runs(root: Path, where: str) -> list[Any]:
    client = _client(root)
    experiment = client.get_experiment_by_name("baseline").experiment_id
    return list(client.search_runs([experiment], filter_string=where))


def _bundle_target(root: Path) -> dict[str, Any]:
    spec = json.loads((root / "artifacts/baseline/bundle/feature_spec.json").read_text())
    return dict(spec["target"])


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """Breast cancer with a Yes/No target (Yes: malignant) and 23 targets missing, run once."""
    frame = _snake(load_breast_cancer(as_frame=True).frame).iloc[:, [0, 1, 4, 7, 20, 27, 30]]
    frame = frame.rename(columns={"target": "diagnosis"})
    frame["diagnosis"] = frame["diagnosis"].map({0: "Yes", 1: "No"})
    frame.loc[frame.index[::MISSING_EVERY], "diagnosis"] = None
    root = _project(tmp_path_factory.mktemp("cancer"), "cancer", frame, "diagnosis")
    # nearly linear: logistic regression can beat LightGBM here; the labels are the point
    return root, mlplat(*RUN, "gates.fail_exit=false", cwd=root, check=False)


@pytest.mark.slow
def test_a_yes_no_target_is_binary_with_its_positive_class(cancer: tuple[Path, Any]) -> None:
    root, done = cancer
    assert done.returncode == 0, done.stderr[-3000:]
    assert "positive_class: 'Yes'" in (root / "conf/data/cancer.yaml").read_text()
    assert _bundle_target(root) == {
        "column": "diagnosis",
        "task": "binary",
        "classes": ["No", "Yes"],
        "positive_class": "Yes",
    }
    metrics = json.loads((root / "artifacts/baseline/evaluate/metrics.json").read_text())
    assert metrics["task"] == "binary" and metrics["overall"]["auc"] > 0.9
    assert metrics["target"]["positive_class"] == "Yes"
    assert set(metrics["baselines"]) == {"constant", "linear"}


@pytest.mark.slow
def test_rows_without_a_target_are_dropped_with_a_count(cancer: tuple[Path, Any]) -> None:
    root, done = cancer
    said = "23 row(s) (4.0%) had no value in target 'diagnosis' and were left out"
    assert said in _text(done.stdout)  # the run summary
    metrics = json.loads((root / "artifacts/baseline/evaluate/metrics.json").read_text())
    assert metrics["data"]["missing_target_rows"] == 23
    assert said in html.unescape((root / "artifacts/baseline/report.html").read_text())

    refused = mlplat(*RUN, "data.missing_target=fail", cwd=root, check=False)
    assert refused.returncode == 1, refused.stderr[-2000:]
    assert "[key 'data.missing_target'] 23 row(s) have no value in target" in refused.stderr
    assert "Traceback" not in refused.stderr and _versions(root, "cancer-diagnosis-lgbm") == ["1"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        pytest.param(["data.positive_class=Maybe"], "data.positive_class", id="positive-class"),
        pytest.param(["model.params.objective=regression"], "model.params.objective", id="obj"),
        # the task alone: the declared binary objective is what contradicts it, checked first
        pytest.param(
            ["model.task=regression", "gates.champion_metric=rmse"],
            "model.params.objective",
            id="task-only",
        ),
        pytest.param(
            # the objective follows the task, so only the labels are left to refuse it
            [
                "model.task=regression",
                "model.params.objective=regression",
                "gates.champion_metric=rmse",
            ],
            "model.task",
            id="task",
        ),
    ],
)
def test_a_declaration_the_labels_cannot_meet_exits_2(
    cancer: tuple[Path, Any], overrides: list[str], key: str
) -> None:
    root, _ = cancer
    done = mlplat(*RUN, *overrides, cwd=root, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"[key '{key}']" in done.stderr and "Traceback" not in done.stderr
    assert _versions(root, "cancer-diagnosis-lgbm") == ["1"]  # nothing registered
    assert not _runs(root, "attributes.status = 'RUNNING'")


@pytest.mark.slow
def test_a_multiclass_target_keeps_its_labels(tmp_path: Path) -> None:
    bunch = load_wine(as_frame=True)
    frame = _snake(bunch.frame).iloc[:, [0, 1, 6, 9, 12, 13]]
    frame["target"] = frame["target"].map(dict(enumerate(["barolo", "grignolino", "barbera"])))
    root = _project(tmp_path, "wine", frame.rename(columns={"target": "cultivar"}), "cultivar")
    done = mlplat(*RUN, "gates.fail_exit=false", cwd=root, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _bundle_target(root) == {
        "column": "cultivar",
        "task": "multiclass",
        "classes": ["barbera", "barolo", "grignolino"],
    }
    metrics = json.loads((root / "artifacts/baseline/evaluate/metrics.json").read_text())
    assert metrics["primary_metric"] == "log_loss" and metrics["overall"]["accuracy"] > 0.8


@pytest.mark.slow
def test_an_identical_rerun_registers_nothing_and_proves_reproducibility(tmp_path: Path) -> None:
    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    root = _project(tmp_path, "diabetes", frame, "progression")
    first = mlplat(*RUN, "gates.fail_exit=false", cwd=root, check=False)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "task: regression" in (root / "conf/model/lightgbm.yaml").read_text()
    name = "diabetes-progression-lgbm"
    before = _aliases(root, name)
    again = mlplat(*RUN, "gates.fail_exit=false", cwd=root, check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "identical to version 1; not registered" in _text(again.stdout)
    assert _versions(root, name) == ["1"] and _aliases(root, name) == before
    runs = _runs(root, "attributes.status = 'FINISHED'")
    assert len(runs) == 2  # both runs are kept; only the registry is spared the copy
    assert {r.data.tags.get("mlplat.identical_to") for r in runs} == {None, f"{name}/1"}

    scored = mlplat("score", "--output", "score.json", cwd=root, check=False)
    assert scored.returncode == 0, scored.stderr[-2000:]
    tests = {t["id"]: t for t in json.loads((root / "score.json").read_text())["tests"]}
    assert tests["infra_1"]["points"] == 1.0, tests["infra_1"]


@pytest.fixture(scope="module")
def linear(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A purely linear target, 200 rows: ridge recovers it, LightGBM's steps cannot."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    frame["y"] = x @ np.array([3, -2, 1.5, 1, -1, 0.5, 2, -0.5]) + rng.normal(0, 0.3, 200)
    return _project(tmp_path_factory.mktemp("linear"), "linear", frame, "y")


@pytest.mark.slow
def test_losing_to_the_linear_baseline_fails_the_run_with_exit_1(linear: Path) -> None:
    done = mlplat(*RUN, cwd=linear, check=False)
    assert done.returncode == 1, done.stderr[-3000:]
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("error: [key 'gates'] linear-y-lgbm v1 failed its gates")
    assert "(lift.rmse on best)" in error and "gates.fail_exit=false" in error
    gates = json.loads((linear / "artifacts/baseline/gates.json").read_text())
    (best,) = [v for v in gates["verdicts"] if (v["gate"], v["scope"]) == ("lift", "best")]
    assert best["status"] == "fail" and best["ci"][1] < 0 and "over linear" in best["detail"]
    # as the docs say: the version is registered, @challenger on it, and @champion not moved
    assert _versions(linear, "linear-y-lgbm") == ["1"]
    assert _aliases(linear, "linear-y-lgbm") == {"challenger": "1"}
    version = _client(linear).get_model_version("linear-y-lgbm", "1")
    assert version.tags["mlplat.gates.failed"] == "lift.rmse on best"

    exploring = mlplat(*RUN, "gates.fail_exit=false", cwd=linear, check=False)
    assert exploring.returncode == 0, exploring.stderr[-3000:]
    assert "failed: lift.rmse on best" in exploring.stdout
    assert "champion" not in _aliases(linear, "linear-y-lgbm")


@pytest.mark.slow
def test_a_failed_gate_fails_dvc_repro_and_a_sweep(linear: Path) -> None:
    _, done = repro(linear, check=False)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "failed to reproduce 'baseline-register'" in out and "lift.rmse on best" in out
    swept = mlplat(
        "run",
        "-m",
        "+experiment=baseline",
        "model.params.learning_rate=0.05,0.3",
        cwd=linear,
        check=False,
    )
    assert swept.returncode == 1, swept.stderr[-3000:]
    assert "failed its gates (lift.rmse on best)" in swept.stderr
    assert "champion" not in _aliases(linear, "linear-y-lgbm")


@pytest.mark.slow
def test_a_model_that_never_predicts_the_rare_class_says_so(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(1500, 3)), columns=["a", "b", "c"])
    frame["fraud"] = np.where(rng.random(1500) < 0.04, "Yes", "No")  # rare, and no signal
    root = _project(tmp_path, "rare", frame, "fraud")
    done = mlplat(*RUN, "gates.fail_exit=false", cwd=root, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = _text(done.stdout)
    assert "it never predicts 'Yes'" in summary and "accuracy is the majority rate" in summary
    metrics = json.loads((root / "artifacts/baseline/evaluate/metrics.json").read_text())
    assert metrics["overall"]["accuracy"] == pytest.approx(1 - metrics["overall"]["positive_rate"])
    assert any("never predicts 'Yes'" in w for w in metrics["warnings"])
