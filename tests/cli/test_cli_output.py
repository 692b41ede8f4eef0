"""Every command that prints a table, at COLUMNS=80 without a TTY (as in a CI log): no identifier
is cut with an ellipsis or split across lines, and `--json` gives the same data (issue 19,
item 10)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import MLPLAT, make_project
from tests.serving_support import running_server, sample_split

EXPERIMENT = "+experiment=churn_baseline"
FAST = "model.num_boost_round=20"
MODEL = "models:/telco-churn-lgbm@champion"


def cli(root: Path, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    """The real CLI as a CI job runs it: output captured (no TTY), 80 columns."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "TERM")}
    env["COLUMNS"] = "80"
    done = subprocess.run(
        [*MLPLAT, *args], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    if code is not None:
        assert done.returncode == code, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def readable(output: str, identifiers: Iterable[str]) -> None:
    """No ellipsis anywhere; each identifier whole on one line."""
    assert "…" not in output, output
    lines = output.splitlines()
    for identifier in {str(i) for i in identifiers if str(i)}:
        assert any(identifier in line for line in lines), (identifier, output)


def both(root: Path, *args: str, code: int = 0) -> tuple[str, Any]:
    """A command's human output (stdout + stderr) and its `--json` document."""
    human = cli(root, *args, code=code)
    as_json = cli(root, *args, "--json", code=code)
    return human.stdout + human.stderr, json.loads(as_json.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained twice (the second run is judged against a champion), with a shifted batch and a
    batch that breaks the schema."""
    root = make_project(tmp_path_factory.mktemp("output") / "proj", rows=2000)
    cli(root, "run", EXPERIMENT, FAST)
    data = pd.read_csv(root / "data" / "churn.csv")
    data.assign(monthly_charges=data["monthly_charges"] * 1.6).to_csv(
        root / "shifted.csv", index=False
    )
    data.assign(region="atlantis", monthly_charges=-data["monthly_charges"]).to_csv(
        root / "broken.csv", index=False
    )
    return root


@pytest.mark.slow
def test_run(project: Path) -> None:
    human = cli(project, "run", EXPERIMENT, FAST)
    output = human.stdout + human.stderr
    line = cli(project, "run", EXPERIMENT, FAST, "--json").stdout.strip().splitlines()[-1]
    result = json.loads(line)
    gates = [  # segments skipped for support are counted in one row, not listed
        v for v in result["gates"]["verdicts"] if not v["detail"].startswith("support")
    ]
    readable(output, [*result["metrics"], result["model_name"]])
    assert re.search(r"churn_baseline-lgbm-\d{8}-\d{6}", output)  # this run's name, whole
    assert re.search(r"\([0-9a-f]{32}\)", output)  # and its id
    readable(output, [v[key] for v in gates for key in ("gate", "scope", "metric")])
    readable(output, [*result["cost"]["stages"], "gates.segment_min_support"])
    assert "Created version" not in output and " INFO " not in output  # MLflow's chatter
    assert "Warning" not in output


@pytest.mark.slow
def test_validate(project: Path) -> None:
    output, report = both(project, "validate", EXPERIMENT, "--data", "broken.csv", code=1)
    assert report["valid"] is False
    readable(output, [f[key] for f in report["failures"] for key in ("column", "check")])
    readable(output, [w for f in report["failures"] for v in f["examples"] for w in str(v).split()])


@pytest.mark.slow
def test_features_list(project: Path) -> None:
    output, rows = both(project, "features", "list")
    readable(output, [r[key] for r in rows for key in ("name", "kind")])
    readable(output, [w for r in rows for w in r["definition"].split()])


@pytest.mark.slow
def test_monitor(project: Path) -> None:
    args = ("monitor", "--model", MODEL, "--current", "shifted.csv")
    output, summary = both(project, *args, code=1)
    shown = summary["checks"][: max(15, len(summary["breaches"]))]
    readable(output, [f"{c['group']}.{c['name']}" for c in shown])
    readable(output, [c["feature"] for c in shown])
    hidden = len(summary["checks"]) - len(shown)
    assert f"{hidden} more checks" in output
    assert "INFO" not in output


@pytest.mark.slow
def test_retrain_if_healthy(project: Path) -> None:
    args = ("retrain", EXPERIMENT, FAST, "--if-drift", "--current", "data/churn.csv")
    output, result = both(project, *args)
    assert result["retrained"] is False and result["monitor"]["healthy"] is True
    readable(output, [c["feature"] for c in result["monitor"]["checks"][:15]])


@pytest.mark.slow
def test_score(project: Path) -> None:
    output, result = both(project, "score")
    readable(output, [t["id"] for t in result["tests"]])
    readable(output, [w for t in result["tests"] for w in t["evidence"].split()])


@pytest.mark.slow
def test_registry_history(project: Path) -> None:
    output, history = both(project, "registry", "history", "telco-churn-lgbm")
    readable(output, [e[key] for e in history["events"] for key in ("alias", "version", "by")])
    readable(output, [w for e in history["events"] for w in e["reason"].split()])


@pytest.mark.slow
def test_profile(project: Path) -> None:
    args = ("profile", "--model", MODEL, "--data", "data/churn.csv", "--seconds", "0.05")
    output, report = both(project, *args)
    readable(output, [report["model"], *(str(b["batch"]) for b in report["batches"])])


@pytest.mark.slow
def test_bench(project: Path) -> None:
    payload = project / "payload.json"
    payload.write_text(json.dumps({"dataframe_split": sample_split(project, 2)}))
    with running_server(project, "--model", MODEL) as (_, port):
        url = f"http://127.0.0.1:{port}/invocations"
        args = ("bench", "--url", url, "--payload", str(payload), "--duration", "0.5")
        output, summary = both(project, *args)
    readable(output, list(summary))
