"""DVC remotes and MLflow artifacts on S3-compatible storage, by configuration only.

The S3 server is moto's standalone server on 127.0.0.1 (from `.ci/services.sh` through
MLPLAT_TEST_S3_ENDPOINT, else started here): it speaks the S3 API that DVC (s3fs) and MLflow
(boto3) use, and keeps objects in memory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import mlplat
from tests.dvc_support import BIN
from tests.s3_support import FAKE_KEYS, bucket, keys, s3_endpoint

__all__ = ["bucket", "s3_endpoint"]  # fixtures, used by name


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ}
    )
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_dvc_remote_on_s3_round_trips_the_example_data(
    project: Path, s3_endpoint: str, bucket: tuple[str, Any]
) -> None:
    from mlplat.core.io import md5_file

    name, s3 = bucket
    dvc = str(BIN / "dvc")
    run("git", "init", "-q", cwd=project)
    run(dvc, "init", "-q", cwd=project)
    run(dvc, "add", "-q", "data/churn.csv", cwd=project)
    run(dvc, "remote", "add", "-d", "storage", f"s3://{name}/dvc", cwd=project)
    run(dvc, "remote", "modify", "storage", "endpointurl", s3_endpoint, cwd=project)
    original = md5_file(project / "data/churn.csv")
    run(dvc, "push", "-q", cwd=project)
    assert len(keys(s3, name, "dvc/")) == 1, "the data file is one object in the remote"
    (project / "data/churn.csv").unlink()
    shutil.rmtree(project / ".dvc/cache")
    run(dvc, "pull", "-q", cwd=project)
    assert md5_file(project / "data/churn.csv") == original


@pytest.mark.slow
def test_mlflow_artifacts_and_registry_models_live_in_s3(
    project: Path, s3_endpoint: str, bucket: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    from mlflow import MlflowClient

    from tests.conftest import tracking_uri

    name, s3 = bucket
    env = {**FAKE_KEYS, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint}
    done = mlplat(
        "run", "+experiment=churn_baseline", "segments=none", "model.num_boost_round=10",
        "gates.fail_exit=false",  # a quick model that loses to the linear baseline: exploring
        f"tracking.artifact_location=s3://{name}/mlflow", cwd=project, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    stored = keys(s3, name, "mlflow/")
    assert any(k.endswith("evaluate/metrics.json") for k in stored)
    assert any(k.endswith("bundle/MANIFEST.json") for k in stored), "the registered bundle"
    assert not (project / "mlruns").exists(), "nothing fell back to the local file store"
    client = MlflowClient(tracking_uri(project))
    version = client.get_model_version_by_alias("telco-churn-lgbm", "challenger")
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_endpoint)
    mlflow.set_tracking_uri(tracking_uri(project))
    local = mlflow.artifacts.download_artifacts(
        f"models:/telco-churn-lgbm/{version.version}", dst_path=str(project / "fetched")
    )
    assert (Path(local) / "artifacts/bundle/MANIFEST.json").is_file()
