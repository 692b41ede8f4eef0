"""`mlplat run` end to end: gates decide the champion; a segment the model fails blocks it.

The data is the example's, except that churn in region `central` is pure noise: the model cannot
be good there, whatever it learns elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_project, mlplat, tracking_uri

NAME = "telco-churn-lgbm"
FAST = ("+experiment=churn_baseline", "model.num_boost_round=25", "segments.bootstrap=50")
# the floor alone decides here: the default segment gap would catch `central` too
SEGMENT_FLOOR = (
    "gates.segment_floors.auc=0.62",
    "gates.segment_min_support=80",
    "gates.segment_max_gap=null",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Two runs: the first becomes champion; the second declares a floor `central` cannot meet,
    so it fails its gates and exits 1 (after registering as @challenger)."""
    root = make_project(tmp_path_factory.mktemp("gates") / "proj")
    frame = pd.read_csv(root / "data" / "churn.csv")
    central = frame["region"] == "central"
    noise = np.random.default_rng(0).random(int(central.sum())) < 0.25
    frame.loc[central, "churn"] = noise.astype(int)
    frame.to_csv(root / "data" / "churn.csv", index=False)
    outputs = []
    for extra, code in ((("gates.segment_floors={}",), 0), (SEGMENT_FLOOR, 1)):
        done = mlplat("run", *FAST, *extra, cwd=root)
        assert done.returncode == code, done.stderr[-3000:]
        outputs.append(done.stderr)
    return root, outputs


@pytest.mark.slow
def test_first_run_passes_floors_and_becomes_champion(runs: tuple[Path, list[str]]) -> None:
    from mlflow import MlflowClient

    root, outputs = runs
    client = MlflowClient(tracking_uri(root), registry_uri=tracking_uri(root))
    first = client.get_model_version(NAME, "1")
    assert first.tags["mlplat.gates"] == "passed"
    assert first.tags["mlplat.gate.floor.overall.auc"].startswith("pass")
    assert {"run_id", "git_sha", "data_md5", "config_hash"} <= set(first.tags)
    assert "champion   telco-churn-lgbm v1: every gate passed (first champion)" in outputs[0]
    history = [e for k, e in client.get_registered_model(NAME).tags.items() if "alias_history" in k]
    assert [json.loads(e)["action"] for e in history] == ["gate"]

    run = client.get_run(first.run_id)
    assert run.data.tags["mlplat.gates"] == "passed"
    assert 0.0 < run.data.metrics["segment.region.south.auc"] <= 1.0
    assert run.data.metrics["segment.region.south.support"] > 100
    logged = {a.path for a in client.list_artifacts(first.run_id, "evaluate")}
    assert {"evaluate/segments_table.json", "evaluate/report.html", "evaluate/plots"} <= logged
    assert "report.html" in {a.path for a in client.list_artifacts(first.run_id)}


@pytest.mark.slow
def test_a_failing_segment_blocks_promotion_and_is_named(runs: tuple[Path, list[str]]) -> None:
    from mlflow import MlflowClient

    root, outputs = runs
    client = MlflowClient(tracking_uri(root), registry_uri=tracking_uri(root))
    assert "not promoted (@champion stays v1): segment_floor.auc on region.central" in outputs[1]
    assert outputs[1].strip().splitlines()[-1] == (
        "error: [key 'gates'] telco-churn-lgbm v2 failed its gates (segment_floor.auc on "
        "region.central): registered as @challenger, @champion stays v1; gates.fail_exit=false "
        "exits 0 while exploring"
    )
    model = client.get_registered_model(NAME)
    assert {k: str(v) for k, v in model.aliases.items()} == {"champion": "1", "challenger": "2"}
    second = client.get_model_version(NAME, "2")
    assert second.tags["mlplat.gates"] == "failed"
    assert second.tags["mlplat.gates.failed"] == "segment_floor.auc on region.central"
    assert second.tags["mlplat.gate.segment_floor.region.central.auc"].startswith("fail")
    # the champion was scored on the same holdout: the same model, so no regression anywhere
    assert second.tags["mlplat.gate.champion.overall.auc"].startswith("pass: +0.0000")

    gates = json.loads((root / "artifacts/churn_baseline/gates.json").read_text())
    assert gates["champion_version"] == "1" and not gates["passed"]
    report = (root / "artifacts/churn_baseline/report.html").read_text()
    assert "Not promoted: segment_floor.auc on region.central" in report
    assert "Comparison with the champion" in report and "version 1" in report
    assert "http://" not in report and "https://" not in report and "<script" not in report
    # the run report reuses the evaluate stage's plots and redraws only the segment plot, where
    # the failed segment is now red
    plots = root / "artifacts/churn_baseline/evaluate/plots"
    uri = {name: _data_uri(plots / f"{name}.png") for name in ("roc", "importance", "segments")}
    assert uri["roc"] in report and uri["importance"] in report
    assert uri["segments"] not in report and report.count("data:image/png;base64,") == 5


def _data_uri(png: Path) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


@pytest.mark.slow
def test_evaluate_outputs_for_dvc(runs: tuple[Path, list[str]]) -> None:
    root, _ = runs
    evaluate = root / "artifacts/churn_baseline/evaluate"
    metrics = json.loads((evaluate / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"constant", "linear"}
    assert metrics["lift"]["constant"] > 0.1  # far better than predicting the base rate
    segments = json.loads((evaluate / "segments.json").read_text())
    assert any(r["segment"] == "region.central" for r in segments["segments"])
    assert segments["discovery"]["tested"] > 10
    for name, x in (("roc", "fpr"), ("pr", "recall"), ("calibration", "predicted")):
        points = json.loads((evaluate / "plots" / f"{name}.json").read_text())[name]
        assert len(points) > 5 and x in points[0]
    assert (evaluate / "report.html").read_text().startswith("<!DOCTYPE html>")
