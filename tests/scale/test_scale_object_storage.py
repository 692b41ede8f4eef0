"""DVC remotes and MLflow artifacts on S3-compatible storage, by configuration only.

The S3 server is moto's standalone server on 127.0.0.1 (from `.ci/services.sh` through
MLPLAT_TEST_S3_ENDPOINT, else started here): it speaks the S3 API that DVC (s3fs) and MLflow
(boto3) use, and keeps objects in memory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlplat.image.smoke import free_port
from tests.conftest import mlplat
from tests.dvc_support import BIN

# moto accepts any keys; these keep boto3 from looking for real ones anywhere else.
FAKE_KEYS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    if os.environ.get("MLPLAT_TEST_S3_ENDPOINT"):
        yield os.environ["MLPLAT_TEST_S3_ENDPOINT"]
        return
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "moto_server exited"
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"moto_server did not answer at {url}")


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    import boto3

    for key, value in FAKE_KEYS.items():
        monkeypatch.setenv(key, value)
    name = f"mlplat-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket=name)
    return name, s3


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


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
