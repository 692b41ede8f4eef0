"""`mlplat profile`: latency per batch size, peak memory and sizing, logged on the model's run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_project, mlplat, tracking_uri

PROFILE = ["profile", "--data", "data/churn.csv", "--seconds", "0.05"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One registered model, shared by the tests below (they only read it and log metrics)."""
    root = make_project(tmp_path_factory.mktemp("profile") / "proj", rows=1500)
    done = mlplat(
        "run",
        "+experiment=churn_baseline",
        "segments=none",
        "model.num_boost_round=10",
        "gates.fail_exit=false",  # a quick model that loses to the linear baseline: exploring
        cwd=root,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield root


@pytest.mark.slow
def test_profile_a_registered_model_logs_on_its_run(trained: Path) -> None:
    from mlflow import MlflowClient

    done = mlplat(*PROFILE, "--model", "models:/telco-churn-lgbm@challenger", cwd=trained)
    assert done.returncode == 0, done.stderr[-3000:]
    text = " ".join(done.stderr.split())
    assert "recommendation for 100.0 QPS: workers=" in text and "p99 ms" in text
    client = MlflowClient(tracking_uri(trained))
    run_id = client.get_model_version_by_alias("telco-churn-lgbm", "challenger").run_id
    metrics = client.get_run(run_id).data.metrics
    for batch in (1, 10, 100, 1000):
        assert (
            metrics[f"profile.batch_{batch}.p99_ms"] >= metrics[f"profile.batch_{batch}.p50_ms"] > 0
        )
    assert metrics["profile.peak_rss_mb"] > 50 and metrics["profile.recommended.workers"] >= 1
    report = json.loads(
        Path(client.download_artifacts(run_id, "profile/deployment.json")).read_text()
    )
    assert [b["batch"] for b in report["batches"]] == [1, 10, 100, 1000]


@pytest.mark.slow
def test_profile_a_bundle_dir_against_an_impossible_slo(trained: Path) -> None:
    bundle = "artifacts/churn_baseline/bundle"
    done = mlplat(*PROFILE, "--model", bundle, "--slo", "serving.slo.p99_ms=0.000001", cwd=trained)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "misses the SLO" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(
            ["--model", "nowhere", "--data", "data/churn.csv"], "key 'model'", id="no-bundle"
        ),
        pytest.param(
            ["--model", "artifacts/churn_baseline/bundle", "--data", "missing.csv"],
            "missing.csv",
            id="no-data",
        ),
    ],
)
def test_bad_input_names_the_option(trained: Path, args: list[str], needle: str) -> None:
    done = mlplat("profile", *args, cwd=trained)
    assert done.returncode == 2, done.stderr[-3000:]
    assert needle in done.stderr
