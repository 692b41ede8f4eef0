"""`mlplat score` on a real project: evidence from MLflow, the registry and project files."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlplat.ops.score.scoring import score_project
from tests.conftest import make_project, mlplat, tracking_uri

pytestmark = pytest.mark.slow  # the evidence is two training runs and a monitoring run

FAST = ("model.num_boost_round=20",)
CI = """on: [push]
jobs:
  test:
    steps:
      - run: mlplat lint
      - run: pytest
      - run: dvc repro
"""
RETRAIN = """on:
  schedule:
    - cron: "0 3 * * *"
jobs:
  retrain:
    steps:
      - run: mlplat retrain +experiment=churn_baseline --if-drift
"""
TEST = "def test_features():\n    run('+experiment=churn_baseline')  # feature code, model spec\n"
TODAY = dt.date.today()
ATTESTED = f"""
data_5: {{by: alice, date: {TODAY}, evidence: "https://wiki/privacy", valid_days: 30}}
model_1: {{by: bob, date: {TODAY}, evidence: "https://github.com/o/r/pull/7", valid_days: 30}}
"""
EXPECTED = {
    "data_1": 1.0,
    "data_2": 0.5,
    "data_3": 0.0,  # featurize cost profiled, storage never counted
    "data_4": 1.0,
    "data_5": 0.5,
    "data_6": 0.0,
    "data_7": 1.0,
    "model_1": 0.5,
    "model_2": 0.0,
    "model_3": 0.0,
    "model_4": 1.0,
    "model_5": 1.0,
    "model_6": 1.0,
    "model_7": 0.0,
    "infra_1": 1.0,
    "infra_2": 1.0,
    "infra_3": 1.0,
    "infra_4": 1.0,
    "infra_5": 0.0,
    "infra_6": 0.0,
    "infra_7": 0.0,
    "monitoring_1": 1.0,
    "monitoring_2": 1.0,
    "monitoring_3": 1.0,
    "monitoring_4": 1.0,
    "monitoring_5": 1.0,
    "monitoring_6": 0.0,
    "monitoring_7": 1.0,
}


def _train_twice_and_monitor(root: Path) -> None:
    """In process (the CLI itself is tested below and in test_monitor_cli): it saves minutes."""
    from rich.console import Console

    from mlplat.ops import monitoring
    from mlplat.pipeline.compose import compose
    from mlplat.pipeline.run import run_experiment

    previous = Path.cwd()
    os.chdir(root)
    try:
        cfg = compose(root, ["+experiment=churn_baseline", *FAST])
        for _ in range(2):
            run_experiment(cfg, root, Console(quiet=True))
        uri = tracking_uri(root)
        assessment, _ = monitoring.assess(
            cfg, "models:/telco-churn-lgbm@champion", "data/churn.csv", uri
        )
        monitoring.log_reports(assessment, monitoring.write_reports(assessment, root / "r"), uri)
    finally:
        os.chdir(previous)


@pytest.fixture(scope="module")
def evidenced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained twice with one config, monitored once, CI + schedule + bot + tests + attestations."""
    root = make_project(tmp_path_factory.mktemp("score") / "proj")
    _train_twice_and_monitor(root)
    files = {
        ".github/workflows/ci.yml": CI,
        ".github/workflows/retrain.yml": RETRAIN,
        ".github/dependabot.yml": "version: 2\n",
        "tests/test_pipeline.py": TEST,
        "conf/score/attestations.yaml": ATTESTED,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _points(root: Path) -> dict[str, float]:
    from mlplat.pipeline.compose import compose

    result = score_project(compose(root, []), root)
    return {t.id: t.points for t in result.tests}


def test_a_project_with_everything_in_place_scores_what_the_evidence_supports(
    evidenced: Path,
) -> None:
    assert _points(evidenced) == EXPECTED


@pytest.mark.parametrize(
    ("remove", "test"),
    [
        pytest.param(".github/dependabot.yml", "monitoring_1", id="dependency-bot"),
        pytest.param("conf/score/attestations.yaml:data_5", "data_5", id="attestation"),
        pytest.param(".github/workflows/ci.yml:mlplat lint", "data_4", id="lint-in-ci"),
        pytest.param(".github/workflows/ci.yml:dvc repro", "infra_3", id="pipeline-in-ci"),
    ],
)
def test_removing_one_piece_of_evidence_lowers_exactly_that_test(
    evidenced: Path, tmp_path: Path, remove: str, test: str
) -> None:
    copy = tmp_path / "proj"
    shutil.copytree(evidenced, copy)
    name, _, line = remove.partition(":")
    path = copy / name
    if line:
        path.write_text("\n".join(x for x in path.read_text().splitlines() if line not in x))
    else:
        path.unlink()
    expected = dict(EXPECTED)
    expected[test] = {"monitoring_1": 0.0, "data_5": 0.0, "data_4": 0.0, "infra_3": 0.0}[test]
    assert _points(copy) == expected


def test_data_3_is_earned_once_mlplat_gc_has_counted_storage(
    evidenced: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "proj"
    shutil.copytree(evidenced, copy)
    assert _points(copy)["data_3"] == 0.0
    done = mlplat("gc", cwd=copy)  # plans only: the copy's artifact paths are the original's
    assert done.returncode == 0, done.stderr
    # featurize cost profiled without a budget limit (0.5), storage counted by hand (0.5)
    assert _points(copy) == {**EXPECTED, "data_3": 0.5}


def test_the_cli_prints_logs_and_enforces_min_score(evidenced: Path) -> None:
    low = mlplat("score", "--min-score", "0", "--output", "score.json", cwd=evidenced)
    assert low.returncode == 0, low.stderr
    result = json.loads((evidenced / "score.json").read_text())
    assert result["final"] == min(result["sections"].values()) == 3.5  # the model section
    assert "final score 3.5" in low.stdout and "Strong levels of automated" in low.stdout
    assert "rubric: ML Test Score v1" in low.stdout
    high = mlplat("score", "--min-score", "4", cwd=evidenced)
    assert high.returncode == 1
    assert "below --min-score 4" in high.stderr
    client = MlflowClient(tracking_uri(evidenced))
    runs = client.search_runs([client.get_experiment_by_name("mlplat-score").experiment_id])
    assert len(runs) == 2 and runs[0].data.metrics["score.final"] == 3.5
