"""The foundation slice: CLI, typed config errors, a real run against a real MLflow store."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, mlplat, tracking_uri

HEAVY = ("mlflow", "lightgbm", "pandas", "pandera", "sklearn", "hydra")
FAST = ("model.num_boost_round=25",)


def _runs(root: Path, experiment: str = "churn_baseline") -> list:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri(root))
    found = client.get_experiment_by_name(experiment)
    return [] if found is None else client.search_runs([found.experiment_id])


def _running(root: Path) -> list[str]:
    from mlflow import MlflowClient

    if not (root / "mlflow.db").exists():
        return []
    client = MlflowClient(tracking_uri(root))
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, filter_string="attributes.status = 'RUNNING'")
    return [r.info.run_id for r in runs]


def test_help_starts_without_heavy_imports() -> None:
    code = (
        "import sys\n"
        "from mlplat.cli.main import main\n"
        "sys.argv = ['mlplat', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "run" in out.stdout and "validate" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


@pytest.mark.slow
def test_run_end_to_end_tracks_registers_and_loads_back(project: Path) -> None:
    done = mlplat("run", "+experiment=churn_baseline", *FAST, cwd=project)
    assert done.returncode == 0, done.stderr
    assert f"mlflow ui --backend-store-uri {tracking_uri(project)}" in done.stdout

    (run,) = _runs(project)
    assert run.info.status == "FINISHED"
    assert re.fullmatch(r"churn_baseline-lgbm-\d{8}-\d{6}", run.info.run_name)
    assert {"mlplat.git_sha", "mlplat.git_dirty", "mlplat.config_hash", "mlplat.data_md5"} <= set(
        run.data.tags
    )
    assert run.data.metrics["auc"] > 0.6
    assert run.data.params["model.num_boost_round"] == "25"

    import mlflow
    import pandas as pd

    from mlplat.core.bundle import load_bundle

    mlflow.set_tracking_uri(tracking_uri(project))
    version = mlflow.MlflowClient().get_model_version_by_alias("telco-churn-lgbm", "challenger")
    assert version.run_id == run.info.run_id
    holdout = pd.read_parquet(project / "artifacts/churn_baseline/featurize/test.parquet")
    raw = holdout.drop(columns=["churn"]).head(200)
    loaded = mlflow.pyfunc.load_model("models:/telco-churn-lgbm@challenger")
    in_process = load_bundle(project / "artifacts/churn_baseline/bundle").predict(raw)
    assert list(loaded.predict(raw)) == pytest.approx(list(in_process), abs=1e-12)


@pytest.mark.slow
def test_tracking_uri_from_environment(project: Path, tmp_path: Path) -> None:
    store = tmp_path / "elsewhere.db"
    done = mlplat(
        "run",
        "+experiment=churn_baseline",
        *FAST,
        "registry.register=false",
        cwd=project,
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{store}"},
    )
    assert done.returncode == 0, done.stderr
    assert store.exists() and not (project / "mlflow.db").exists()


def _write(root: Path, rel: str, text: str) -> None:
    (root / rel).write_text(text, encoding="utf-8")


BAD = [
    pytest.param(["model.num_boost_round=abc"], None, "model.num_boost_round", id="wrong-type"),
    pytest.param(["seed=1.5"], None, "seed", id="float-for-int"),
    pytest.param(["model.nonsense=1"], None, "nonsense", id="unknown-key-override"),
    pytest.param(["+experiment=nope"], None, "experiment/nope", id="unknown-experiment"),
    pytest.param(["data=nope"], None, "data/nope", id="unknown-group-option"),
    pytest.param(["data.path=missing.csv"], None, "data.path", id="missing-data-file"),
    pytest.param(["data.target=???"], None, "target", id="missing-required"),
    pytest.param(
        ["model.params.num_leaves=["], None, "model.params.num_leaves", id="bad-override-syntax"
    ),
    pytest.param(
        ["registry.model_name=BadName"], None, "registry.model_name", id="model-name-pattern"
    ),
    pytest.param(["model.task=ranking"], None, "model.task", id="unknown-task"),
    pytest.param(["data.split.test_size=1.5"], None, "data.split.test_size", id="bad-test-size"),
    pytest.param(
        ["model=bad"],
        ("conf/model/bad.yaml", "algorithm: lgbm\nnum_leafs: 3\n"),
        "model.num_leafs",
        id="unknown-key-in-file",
    ),
    pytest.param(
        ["model=broken"],
        ("conf/model/broken.yaml", "params: [1\n"),
        "broken.yaml",
        id="invalid-yaml",
    ),
    pytest.param(
        ["features.definitions.x.kind=nope", "+features.definitions.x.column=age"],
        None,
        "features.definitions.x",
        id="unknown-feature-kind",
    ),
]


@pytest.mark.parametrize(("overrides", "extra_file", "named"), BAD)
def test_bad_config_is_one_clear_line(
    project: Path, overrides: list[str], extra_file: tuple[str, str] | None, named: str
) -> None:
    if extra_file:
        _write(project, *extra_file)
    done = mlplat("run", "+experiment=churn_baseline", *overrides, cwd=project)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 2
    assert _running(project) == []


def test_debug_shows_the_traceback(project: Path) -> None:
    done = mlplat(
        "--debug", "run", "+experiment=churn_baseline", "data.path=missing.csv", cwd=project
    )
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_hydra_cfg_job_and_help(project: Path) -> None:
    job = mlplat(
        "run",
        "+experiment=churn_baseline",
        "model.params.num_leaves=7",
        "--cfg",
        "job",
        cwd=project,
    )
    assert job.returncode == 0, job.stderr
    assert "experiment_name: churn_baseline" in job.stdout and "num_leaves: 7" in job.stdout
    helped = mlplat("run", "--help", cwd=project)
    assert helped.returncode == 0 and "experiment: churn_baseline" in helped.stdout


def test_not_a_project_is_a_clear_error(tmp_path: Path) -> None:
    done = mlplat("run", "+experiment=churn_baseline", cwd=tmp_path)
    assert done.returncode == 2 and "conf/config.yaml" in done.stderr


def test_bundled_data_matches_its_generator(tmp_path: Path) -> None:
    from mlplat.core.io import md5_file
    from mlplat.example.churn import write

    assert md5_file(write(tmp_path / "churn.csv")) == md5_file(REPO / "data" / "churn.csv")


def test_a_vocabulary_word_is_its_plain_string_wherever_it_is_written() -> None:
    """Configs, JSON files, MLflow tags and tables keep the plain words: code names the Enum."""
    import json

    from mlplat.core.vocabulary import GateStatus, Task, choices, knows

    assert Task.BINARY == "binary" and {"binary": 1}[Task.BINARY] == 1
    assert json.dumps({"status": GateStatus.FAIL}) == '{"status": "fail"}'
    assert f"{GateStatus.WARN}" == str(GateStatus.WARN) == "warn"
    assert knows(Task, "regression") and not knows(Task, "Regression") and not knows(Task, 1)
    assert choices(Task) == "binary, multiclass, regression"
