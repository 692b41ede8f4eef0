"""`mlplat init`: a new project runs in process and as a DVC pipeline with no edits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlplat.core.errors import ConfigError
from mlplat.project import inference, scaffold
from tests.dvc_support import dvc, mlplat, repro

STAGES = ["validate", "featurize", "train", "bundle", "evaluate", "register"]


def _runs_with_no_edits(root: Path) -> None:
    for rel in (
        "conf/config.yaml",
        "conf/experiment/baseline.yaml",
        "Makefile",
        ".dvcignore",
        ".github/workflows/ci.yml",
        ".pre-commit-config.yaml",
        ".gitignore",
        "dvc.yaml",
        "params.yaml",
        ".dvc/config",
        ".git/HEAD",
    ):
        assert (root / rel).is_file(), rel
    for group in (
        "data",
        "schema",
        "features",
        "model",
        "segments",
        "gates",
        "budget",
        "tracking",
        "registry",
        "serving",
        "monitoring",
        "online",
        "retention",
        "card",
        "notify",
        "experiment",
    ):
        assert list((root / "conf" / group).glob("*.yaml")), group
    assert mlplat("lint", cwd=root).returncode == 0
    mlplat("compile", "--check", cwd=root)
    mlplat("run", "+experiment=baseline", cwd=root)
    ran, _ = repro(root)
    # bundle and evaluate depend on train alone: DVC may run them in either order
    assert sorted(ran) == sorted(f"baseline-{s}" for s in STAGES)
    assert ran[:3] == [f"baseline-{s}" for s in STAGES[:3]] and ran[-1] == "baseline-register"
    assert "up to date" in dvc("status", cwd=root).stdout
    registered = json.loads((root / "artifacts/baseline/register/run.json").read_text())
    # `mlplat run` registered version 1; the pipeline trained the same model on the same data
    assert registered["model_version"] == "1"


@pytest.mark.slow
def test_init_with_the_sample_data(tmp_path: Path) -> None:
    mlplat("init", "new_churn", cwd=tmp_path)
    root = tmp_path / "new_churn"
    schema = (root / "conf/schema/new_churn.yaml").read_text()
    assert "dtype: datetime" in schema and "- month_to_month" in schema
    _runs_with_no_edits(root)


@pytest.mark.slow
def test_init_with_own_parquet_data(tmp_path: Path) -> None:
    from mlplat.example.churn import generate

    frame = generate(rows=3000).rename(
        columns={"customer_id": "CustomerID", "plan": "Plan Type", "churn": "churned"}
    )
    frame["churned"] = frame["churned"].astype(bool)
    frame.to_parquet(tmp_path / "mine.parquet", index=False)
    mlplat(
        "init",
        "acme",
        "--data",
        str(tmp_path / "mine.parquet"),
        "--target",
        "churned",
        cwd=tmp_path,
    )
    root = tmp_path / "acme"
    groups = scaffold.draft("acme", frame, "churned", "data/mine.parquet").groups
    assert groups["data"]["id_column"] == "CustomerID" and groups["model"]["task"] == "binary"
    assert groups["features"]["definitions"]["plan_type"] == {
        "kind": "category",
        "column": "Plan Type",
        "min_frequency": 5,
    }
    _runs_with_no_edits(root)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([1, 2, None], {"dtype": "int", "nullable": True}, id="nullable-int"),
        pytest.param([0.5, 1.5], {"dtype": "float", "nullable": False}, id="float"),
        pytest.param(
            ["b", "a", "b"],
            {"dtype": "str", "nullable": False, "isin": ["a", "b"], "unseen": "unknown"},
            id="category",
        ),
        pytest.param(
            ["2024-01-02", "2024-02-03"], {"dtype": "datetime", "nullable": False}, id="date"
        ),
        pytest.param([True, False], {"dtype": "bool", "nullable": False}, id="bool"),
    ],
)
def test_infer_column(values: list[object], expected: dict[str, object]) -> None:
    import pandas as pd

    series = pd.Series(values).astype("Int64") if values[-1] is None else pd.Series(values)
    assert inference.infer_column(series) == expected


def test_unknown_target_names_the_columns() -> None:
    import pandas as pd

    with pytest.raises(ConfigError, match="target column 'y' is not in the data; columns: a, b"):
        scaffold.draft("p", pd.DataFrame({"a": [1], "b": [2]}), "y", "data/x.csv")


def test_refuses_a_non_empty_directory_and_data_without_target(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    done = mlplat("init", "full", cwd=tmp_path, check=False)
    assert done.returncode == 2 and "not empty" in done.stderr
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    done = mlplat("init", "new", "--data", "d.csv", cwd=tmp_path, check=False)
    assert done.returncode == 2 and "--target" in done.stderr
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_a_new_regression_project_sweeps_by_its_primary_metric(tmp_path: Path) -> None:
    """`mlplat run -m` works in a project `mlplat init` made, with the parallel preset mlplat
    ships: trials ranked by rmse, lowest best; the optuna sweeper minimizes it too."""
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient

    rng = np.random.default_rng(7)
    homes = pd.DataFrame(
        {
            "sqm": rng.uniform(20, 200, 3000).round(1),
            "rooms": rng.integers(1, 7, 3000),
            "city": rng.choice(["north", "south", "east"], 3000),
        }
    )
    homes["price"] = homes.sqm * 3 + homes.rooms * 10 + rng.normal(0, 20, 3000)
    homes.to_csv(tmp_path / "homes.csv", index=False)
    mlplat(
        "init", "homes", "--data", str(tmp_path / "homes.csv"), "--target", "price", cwd=tmp_path
    )
    root = tmp_path / "homes"
    # a linear price: 30 rounds of LightGBM lose to the linear baseline, and this test is about
    # the sweep, not the model (`gates.fail_exit=false`: exploring)
    fast = [
        "run",
        "-m",
        "+experiment=baseline",
        "model.num_boost_round=30",
        "gates.fail_exit=false",
    ]
    mlplat(*fast, "model.params.num_leaves=3,31", "hydra/launcher=parallel", cwd=root)
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    [parent] = [r for r in runs if r.data.tags.get("mlplat.sweep") == "parent"]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    best = min(trials, key=lambda r: r.data.metrics["rmse"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlplat.best_run_id"] == best.info.run_id
    assert parent.data.metrics["best.rmse"] == best.data.metrics["rmse"]
    [version] = client.search_model_versions()
    assert version.run_id == best.info.run_id

    done = mlplat(
        *fast,
        "hydra/sweeper=mlplat_optuna",
        "hydra.sweeper.n_trials=2",
        "model.params.num_leaves=choice(3,31)",
        "registry.register=false",
        cwd=root,
    )
    found = re.search(r"mlplat_optuna: best rmse=([\d.]+)", done.stdout + done.stderr)
    assert found, done.stdout[-2000:]
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    [newest] = [r for r in runs if r.data.tags.get("mlplat.sweep") == "parent"][:1]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == newest.info.run_id]
    assert len(trials) == 2
    assert float(found.group(1)) == pytest.approx(min(r.data.metrics["rmse"] for r in trials), 1e-3)
