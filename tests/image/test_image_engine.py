"""A real image in a real engine: build through the API, run it, score, inspect, record.

Needs a Docker engine (DOCKER_HOST) and a base image (MLPLAT_TEST_BASE_IMAGE); skips loudly
without them, fails instead when MLPLAT_REQUIRE_DOCKER=1 (.ci/run).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import mlplat
from tests.image_support import MODEL_NAME, MODEL_URI, Trained, base_or_skip, engine_or_skip, train


@dataclass(frozen=True)
class Built:
    client: Any
    tag: str
    trained: Trained


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    client = engine_or_skip()
    base = base_or_skip(client)
    trained = train(tmp_path_factory)
    tag = f"mlplat-test/{MODEL_NAME}:{uuid.uuid4().hex[:8]}"
    done = mlplat(
        "image",
        "build",
        "--model",
        MODEL_URI,
        "--base",
        base,
        "--tag",
        tag,
        cwd=trained.root,
        env=trained.env,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield Built(client, tag, trained)
    client.images.remove(tag, force=True)


def test_image_test_passes(built: Built) -> None:
    done = mlplat("image", "test", built.tag, cwd=built.trained.root)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "20 sample rows match the bundle" in " ".join(done.stderr.split())


def test_labels_identify_the_model(built: Built) -> None:
    labels = built.client.images.get(built.tag).labels
    assert labels["io.mlplat.model.name"] == MODEL_NAME
    assert labels["io.mlplat.model.version"] == "1"
    assert len(labels["io.mlplat.bundle.sha256"]) == 64
    for key in ("model.run_id", "model.git_sha", "model.config_hash"):
        assert labels[f"io.mlplat.{key}"], key
    assert labels["org.opencontainers.image.title"] == MODEL_NAME


def test_runs_as_non_root_with_a_healthcheck(built: Built) -> None:
    config = built.client.images.get(built.tag).attrs["Config"]
    assert config["User"] == "10001:10001"
    assert config["StopSignal"] == "SIGTERM"
    assert "8080/tcp" in config["ExposedPorts"]
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
    assert config["Cmd"][:4] == ["mlplat", "serve", "--model", "/opt/model"]


def test_no_wheelhouse_or_pip_in_the_final_image(built: Built) -> None:
    probe = (
        "import glob, importlib.util as u, os; "
        # (the base's own ensurepip wheels under /usr/share/python-wheels are not ours)
        "ours = [p for r in ('/opt', '/usr', '/tmp', '/var', '/home', '/root') "
        "for p in glob.glob(r + '/**/*.whl', recursive=True) if 'python-wheels' not in p]; "
        "wheels = len(ours); "
        "print(wheels, os.path.exists('/build'), "
        "u.find_spec('pip') is not None, u.find_spec('mlflow') is not None, "
        "u.find_spec('dvc') is not None)"
    )
    out = built.client.containers.run(
        built.tag, ["python", "-c", probe], network_mode="none", remove=True
    )
    assert out.decode().split() == ["0", "False", "False", "False", "False"]


def test_tag_and_digest_recorded_on_the_version(built: Built) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=built.trained.env["MLFLOW_TRACKING_URI"])
    tags = client.get_model_version(MODEL_NAME, "1").tags
    assert tags["mlplat.image.tag"] == built.tag
    assert tags["mlplat.image.digest"] == built.client.images.get(built.tag).id
