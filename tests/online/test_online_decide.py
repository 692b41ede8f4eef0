"""`mlplat online decide`: promote a truly better challenger through the alias history, roll
back on a guardrail breach, step a canary while the test continues."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlplat.serving.reqlog import record_line
from tests.conftest import mlplat
from tests.serving_support import MODEL, client, two_versions

pytestmark = pytest.mark.slow
ONLY_PLAN = "online.decision.segments=[plan]"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return two_versions(tmp_path / "proj")


def simulate(
    root: Path, gap: float, rows: int = 1500, status: int = 200, seed: int = 0, mode: str = "split"
) -> None:
    """A split (or canary) experiment: labels drawn from a known P(churn); the challenger
    predicts it, the champion predicts it blurred by `gap` (0: both the same model)."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.05, 0.95, rows)
    y = (rng.random(rows) < truth).astype(int)
    lines, labels = b"", []
    for i in range(rows):
        arm = "challenger" if rng.random() < 0.5 else "champion"
        p = (
            truth[i]
            if arm == "challenger"
            else float(np.clip(truth[i] + gap * rng.normal(), 0.01, 0.99))
        )
        failed = arm == "challenger" and status != 200
        extra = {
            "arm": arm,
            "experiment": "default",
            "mode": mode,
            "status": status if failed else 200,
        }
        plan = ["basic", "pro"][i % 2]
        inputs, predictions = ({}, []) if failed else ({"plan": [plan]}, [p])
        version = "2" if arm == "challenger" else "1"
        lines += record_line(f"r{i}", MODEL, version, 2.0, inputs, predictions, extra)
        labels.append((f"r{i}", int(y[i])))
    requests = root / "online" / "default" / "requests"
    requests.mkdir(parents=True, exist_ok=True)
    (requests / "requests-1.jsonl").write_bytes(lines)
    pd.DataFrame(labels, columns=["request_id", "label"]).to_csv(root / "labels.csv", index=False)
    done = mlplat("feedback", "--labels", str(root / "labels.csv"), cwd=root)
    assert done.returncode == 0, done.stderr


def decide(root: Path, *overrides: str) -> tuple[int, dict]:
    done = mlplat("online", "decide", "--json", ONLY_PLAN, *overrides, cwd=root)
    assert done.returncode in (0, 1, 3), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_a_better_challenger_is_promoted_with_its_evidence(root: Path) -> None:
    simulate(root, gap=0.35)
    status = mlplat("online", "status", ONLY_PLAN, cwd=root, env={"COLUMNS": "80"})
    shown = status.stdout + status.stderr
    assert status.returncode == 0 and "plan.basic" in shown
    assert all(word in shown for word in ("p99", "log_loss", "labelled", "needed"))
    found = json.loads(mlplat("online", "status", "--json", ONLY_PLAN, cwd=root).stdout)
    arms = {a["arm"]: a for a in found["arms"]}
    assert arms["champion"]["version"] == "1" and arms["challenger"]["version"] == "2"
    assert sum(a["requests"] for a in arms.values()) == 1500
    assert all(a["p99_latency_ms"] == 2.0 and a["errors"] == 0 for a in arms.values())
    assert arms["challenger"]["mean_loss"] < arms["champion"]["mean_loss"]
    assert found["samples_needed"] > 0
    # v1's own run measured its holdout log loss; v2 was registered without a run's metrics
    assert arms["champion"]["offline_loss"] > 0 and arms["challenger"]["offline_loss"] is None
    code, found = decide(root)
    assert code == 0 and found["verdict"] == "promote", found
    assert found["overall"]["effect"] < 0 and found["overall"]["rejected"]
    registry = client(root)
    assert str(registry.get_model_version_by_alias(MODEL, "champion").version) == "2"
    history = mlplat("registry", "history", MODEL, "--json", cwd=root)
    assert '"online"' in history.stdout
    tags = registry.get_model_version(MODEL, "2").tags
    assert json.loads(tags["mlplat.online.evidence"])["verdict"] == "promote"


def test_a_guardrail_breach_stops_the_challenger_and_says_why(root: Path) -> None:
    simulate(root, gap=0.35, status=500)
    code, found = decide(root)
    assert code == 1 and found["verdict"] == "rollback"
    assert "error_rate" in found["reason"]
    arms = {a["arm"]: a for a in found["arms"]}
    assert arms["challenger"]["errors"] == arms["challenger"]["requests"] > 0
    assert arms["challenger"]["error_rate"] == 1.0 and arms["champion"]["errors"] == 0
    state = json.loads((root / "online" / "default" / "state.json").read_text())
    assert "error_rate" in state["stopped"]
    registry = client(root)
    assert str(registry.get_model_version_by_alias(MODEL, "champion").version) == "1"
    # where people look: the alias history (the challenger's alias noted, not moved) ...
    history = json.loads(mlplat("registry", "history", MODEL, "--json", cwd=root).stdout)
    stop = history["events"][-1]
    assert stop["action"] == "online-rollback" and stop["alias"] == "challenger"
    assert stop["version"] == "2" and "error_rate" in stop["reason"]
    assert history["aliases"] == {"champion": "1", "challenger": "2"}
    table = mlplat("registry", "history", MODEL, cwd=root, env={"COLUMNS": "80"}).stdout
    assert "online-rollback" in table and "guardrail breached" in table
    # ... and an MLflow run, linked from the version
    run_id = registry.get_model_version(MODEL, "2").tags["mlplat.online.run_id"]
    run = registry.get_run(run_id)
    assert run.data.tags["mlplat.online.verdict"] == "rollback"
    assert "error_rate" in run.data.tags["mlplat.online.reason"]
    assert run.data.metrics["guardrail.error_rate"] == 1.0
    assert registry.get_experiment(run.info.experiment_id).name == "mlplat-online"


def test_a_canary_steps_up_while_the_test_continues(root: Path) -> None:
    simulate(root, gap=0.0, rows=300, mode="canary")  # what the servers logged steps the ramp
    code, found = decide(root)
    assert code == 3 and found["verdict"] == "continue", found
    assert json.loads((root / "online" / "default" / "state.json").read_text())["step"] == 1
    history = json.loads(mlplat("registry", "history", MODEL, "--json", cwd=root).stdout)
    assert history["events"][-1]["action"] == "online-canary"
    assert "25%" in history["events"][-1]["reason"]
    # a server stopped it (state.json says why): decide does not let it go on, records nothing
    state = root / "online" / "default" / "state.json"
    state.write_text(json.dumps({"step": 1, "stopped": "guardrail breached: error_rate 1 > 0.01"}))
    code, found = decide(root)
    assert code == 1 and found["verdict"] == "keep", found
    assert found["reason"] == "the experiment has ended: guardrail breached: error_rate 1 > 0.01"
    assert found["done"].startswith("challenger traffic already stopped")
    after = json.loads(mlplat("registry", "history", MODEL, "--json", cwd=root).stdout)
    assert after["events"] == history["events"]
