"""`mlplat monitor` and `mlplat retrain` end to end: a real trained bundle, real MLflow store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from mlflow import MlflowClient

from mlplat.core.errors import DataValidationError
from mlplat.stages.monitor.monitor import Assessment
from tests.conftest import make_project, mlplat, tracking_uri

pytestmark = pytest.mark.slow  # every test monitors a model trained here

FAST = ("model.num_boost_round=20", "segments=none")
MODEL = "models:/telco-churn-lgbm@champion"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a champion, a resample of its data and a shifted copy."""
    root = make_project(tmp_path_factory.mktemp("monitor") / "proj")
    done = mlplat("run", "+experiment=churn_baseline", *FAST, cwd=root)
    assert done.returncode == 0, done.stderr
    data = pd.read_csv(root / "data" / "churn.csv")
    same = data.sample(1500, replace=True, random_state=7)
    same.to_csv(root / "same.csv", index=False)
    shifted = same.copy()
    shifted["monthly_charges"] = shifted["monthly_charges"] * 1.6
    shifted["plan"] = np.where(np.arange(len(shifted)) % 4 == 0, "gold", shifted["plan"])
    shifted.to_csv(root / "shifted.csv", index=False)
    return root


def _monitor(root: Path, current: str, out: str, *extra: str) -> tuple[int, dict]:
    done = mlplat(
        "monitor", "--model", MODEL, "--current", current, "--output", out, *extra, cwd=root
    )
    summary = root / out / "summary.json"
    assert summary.is_file(), done.stderr
    return done.returncode, json.loads(summary.read_text())


def test_a_resample_of_the_training_data_is_healthy(trained: Path) -> None:
    code, summary = _monitor(trained, "same.csv", "reports/same")
    assert code == 0, summary["breaches"]
    assert summary["healthy"] is True
    assert {c["group"] for c in summary["checks"]} >= {"drift", "skew", "staleness", "stability"}
    html = (trained / "reports" / "same" / "report.html").read_text()
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_shifted_data_breaches_and_names_the_features(trained: Path) -> None:
    code, summary = _monitor(trained, "shifted.csv", "reports/shifted")
    assert code == 1
    breached = {(c["name"], c["feature"]) for c in summary["checks"] if c["breached"]}
    assert ("psi", "monthly_charges") in breached
    assert ("unseen", "plan") in breached
    assert ("schema", "") in breached  # "gold" is not in the schema's isin
    untouched = {f for _, f in breached} - {
        "monthly_charges",
        "plan",
        "plan_frequency",
        "charges_ratio",
        "prediction",
        "",
    }
    assert not untouched
    severities = [f["severity"] for f in summary["features"]]
    assert severities == sorted(severities, reverse=True)
    runs = MlflowClient(tracking_uri(trained)).search_runs(
        [
            MlflowClient(tracking_uri(trained))
            .get_experiment_by_name("mlplat-monitor")
            .experiment_id
        ],
        filter_string="tags.`mlplat.monitor.healthy` = 'false'",
    )
    assert runs and runs[0].data.metrics["monitor.breaches"] == len(summary["breaches"])


def _assess(root: Path, current: str, *overrides: str) -> Assessment:
    from mlplat.ops import monitoring
    from mlplat.pipeline.compose import compose

    cfg = compose(root, list(overrides))
    return monitoring.assess(cfg, MODEL, str(root / current), tracking_uri(root))[0]


def test_per_feature_thresholds_override_the_global_ones(trained: Path) -> None:
    loose = "+monitoring.feature_thresholds.monthly_charges={psi_threshold: 100, ks_pvalue: 0}"
    rows = {(c.name, c.feature): c for c in _assess(trained, "shifted.csv", loose).checks}
    assert rows[("psi", "monthly_charges")].breached is False
    assert rows[("psi", "monthly_charges")].threshold == 100
    assert rows[("psi", "charges_ratio")].breached is True


def test_request_logs_are_read_and_a_served_prediction_that_differs_is_skew(
    trained: Path,
) -> None:
    frame = pd.read_csv(trained / "same.csv").head(300)
    logs = trained / "requests"
    logs.mkdir()
    records = json.loads(frame.drop(columns=["churn"]).to_json(orient="records"))
    columns = {name: [record[name] for record in records] for name in records[0]}
    lines = [  # three requests of 100 rows, as `mlplat serve --request-log-dir` writes them
        orjson.dumps(
            {
                "ts": "2026-11-27T21:00:00+00:00",
                "request_id": f"r{start}",
                "model_name": "telco-churn-lgbm",
                "model_version": "1",
                "latency_ms": 1.0,
                "rows": 100,
                "inputs": {name: values[start : start + 100] for name, values in columns.items()},
                "predictions": [0.5] * 100,
            }
        )
        for start in (0, 100, 200)
    ]
    (logs / "requests-1.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (logs / "requests-2.jsonl.part").write_bytes(b"{half a rec")  # still being written
    assessment = _assess(trained, "requests")
    assert assessment.rows == 300
    assert "skew.prediction=" in " ".join(c.line() for c in assessment.breaches)


def test_a_stale_model_breaches(trained: Path) -> None:
    from mlplat.ops import monitoring
    from mlplat.pipeline.compose import compose

    cfg = compose(trained, [])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=45)
    assessment, _ = monitoring.assess(
        cfg, MODEL, str(trained / "same.csv"), tracking_uri(trained), now=later
    )
    assert [c.name for c in assessment.breaches] == ["model_age_days"]


def test_current_data_without_a_model_column_is_a_clear_error(trained: Path) -> None:
    pd.read_csv(trained / "same.csv").drop(columns=["plan"]).to_csv(
        trained / "noplan.csv", index=False
    )
    with pytest.raises(DataValidationError, match=r"lacks column\(s\) the model reads: plan"):
        _assess(trained, "noplan.csv")


def test_retrain_if_drift_runs_only_on_a_breach_and_records_why(trained: Path) -> None:
    client = MlflowClient(tracking_uri(trained))
    before = len(client.search_model_versions("name='telco-churn-lgbm'"))
    quiet = mlplat(
        "retrain",
        "+experiment=churn_baseline",
        *FAST,
        "--if-drift",
        "--current",
        "same.csv",
        cwd=trained,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "no retrain" in quiet.stderr
    assert len(client.search_model_versions("name='telco-churn-lgbm'")) == before
    # the data changed since (here: most of it, reshuffled): the same data and config again
    # would be the same model, and register nothing
    data = pd.read_csv(trained / "data" / "churn.csv")
    data.sample(frac=0.9, random_state=1).to_csv(trained / "newer.csv", index=False)
    fired = mlplat(
        "retrain",
        "+experiment=churn_baseline",
        *FAST,
        "data.path=newer.csv",
        # 20 rounds, judged on rows the champion trained on: it fails its gates; this test is
        # about why a retrain ran, not about the model
        "gates.fail_exit=false",
        "--if-drift",
        "--current",
        "shifted.csv",
        cwd=trained,
    )
    assert fired.returncode == 0, fired.stderr
    versions = client.search_model_versions("name='telco-churn-lgbm'")
    assert len(versions) == before + 1
    newest = max(versions, key=lambda v: int(v.version))
    reason = client.get_run(newest.run_id).data.tags["mlplat.retrain_reason"]
    assert "drift.psi[monthly_charges]" in reason


def test_the_request_logs_of_a_real_server_monitor_clean(trained: Path) -> None:
    """`mlplat serve --request-log-dir` writes the logs; the monitor reads them back and the
    served predictions equal the bundle's (no training/serving skew)."""
    from tests.serving_support import request, running_server

    rows = pd.read_csv(trained / "same.csv").drop(columns=["churn"]).head(250)
    body = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))})
    args = ("--model", MODEL, "--request-log-dir", "served")
    with running_server(trained, *args) as (_, port):
        status, _, _ = request(
            port, "POST", "/invocations", body, {"Content-Type": "application/json"}
        )
        assert status == 200
    assessment = _assess(trained, "served")
    assert assessment.rows == 250
    skew = next(c for c in assessment.checks if (c.group, c.name) == ("skew", "prediction"))
    assert skew.value is not None and skew.value < 1e-6 and not skew.breached
