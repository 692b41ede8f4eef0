"""Shared by tests/image/test_image_*.py: a trained, registered example model, and the engine rule.

Tests that need a Docker engine skip loudly when none answers, and fail instead when
MLPLAT_REQUIRE_DOCKER=1 (as .ci/run sets, after starting its own engine).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_project, mlplat, skip_or_fail, tracking_uri

MODEL_NAME = "telco-churn-lgbm"
MODEL_URI = f"models:/{MODEL_NAME}@challenger"


@dataclass(frozen=True)
class Trained:
    root: Path
    env: dict[str, str]  # points MLflow at the project's own store

    @property
    def bundle(self) -> Path:
        return self.root / "artifacts" / "churn_baseline" / "bundle"


_TRAINED: list[Trained] = []  # one trained project per test session, shared by both modules


def train(factory: pytest.TempPathFactory) -> Trained:
    if not _TRAINED:
        root = make_project(factory.mktemp("image") / "proj")
        done = mlplat("run", "+experiment=churn_baseline", cwd=root)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        _TRAINED.append(Trained(root, {"MLFLOW_TRACKING_URI": tracking_uri(root)}))
    return _TRAINED[0]


def engine_or_skip() -> Any:
    """A pinged docker client, or skip (fail when the engine is required)."""
    import docker

    where = os.environ.get("DOCKER_HOST", "the default socket")
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        message = (
            f"NO DOCKER ENGINE at {where} ({type(exc).__name__}): image build/run tests "
            "did not run; .ci/run starts one (set DOCKER_HOST to use yours)"
        )
        skip_or_fail(message, required=os.environ.get("MLPLAT_REQUIRE_DOCKER") == "1")
    return client


def base_or_skip(client: Any) -> str:
    """The base to build on: MLPLAT_TEST_BASE_IMAGE, else the default if already present."""
    import docker

    base = os.environ.get("MLPLAT_TEST_BASE_IMAGE")
    if base is None:
        from mlplat.core.config.ops import ServingConfig

        base = ServingConfig().base_image
    try:
        client.images.get(base)
    except docker.errors.ImageNotFound:
        message = (
            f"NO BASE IMAGE '{base}' in the engine: set MLPLAT_TEST_BASE_IMAGE "
            "(.ci/run builds mlplat-base:test with debootstrap)"
        )
        skip_or_fail(message, required=os.environ.get("MLPLAT_REQUIRE_DOCKER") == "1")
    return base
