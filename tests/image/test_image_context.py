"""Image build contexts without an engine: golden Dockerfile, context contents, clear errors."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from mlplat.core.bundle import verify
from mlplat.image.context import labels
from mlplat.image.dockerfile import ImageSpec, render
from mlplat.image.source import ModelSource
from tests.conftest import REPO, mlplat
from tests.image_support import MODEL_NAME, MODEL_URI, Trained, train

GOLDEN = REPO / "tests" / "golden" / "image" / "Dockerfile"
REGENERATE = (
    "MLPLAT_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest"
    " tests/image/test_image_context.py -k golden"
)
FORBIDDEN = ("dvc", "mlflow", "mlflow_skinny", "hydra_core", "scikit_learn", "pandera", "docker")

SOURCE = ModelSource(
    bundle_dir=Path("/nowhere"),
    bundle_sha256="ab" * 32,
    metadata={
        "git_sha": "0123abc",
        "config_hash": "feedbeef",
        "created_at": "2026-01-01T00:00:00+00:00",
    },
    uri="models:/telco-churn-lgbm@champion",
    name="telco-churn-lgbm",
    version="7",
    run_id="r1",
)


def test_dockerfile_matches_golden() -> None:
    base = "python:3.11-slim@sha256:" + "0" * 64
    text = render(ImageSpec(base=base, labels=labels(SOURCE, base), workers=2))
    if os.environ.get("MLPLAT_REGENERATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), text.splitlines(keepends=True), "golden", "rendered"
        )
    )
    assert not diff, (
        f"the Dockerfile changed; if intended, regenerate with:\n  {REGENERATE}\n{diff}"
    )


@pytest.mark.parametrize(
    "needle",
    [
        pytest.param("USER 10001:10001", id="non-root"),
        pytest.param("STOPSIGNAL SIGTERM", id="stopsignal"),
        pytest.param("EXPOSE 8080", id="expose"),
        pytest.param("HEALTHCHECK", id="healthcheck"),
        pytest.param("--no-index", id="offline-install"),
        pytest.param(
            'CMD ["mlplat", "serve", "--model", "/opt/model"', id="serves-the-baked-bundle"
        ),
    ],
)
def test_dockerfile_hardening(needle: str) -> None:
    assert needle in render(ImageSpec(base="b", labels=labels(SOURCE, "b")))


def test_final_stage_gets_no_wheels() -> None:
    final = render(ImageSpec(base="b", labels={})).split("FROM b\n", 1)[1]
    assert "wheels" not in final and "pip" not in final and "/build" not in final


def test_labels_name_the_model() -> None:
    found = labels(SOURCE, "base:1")
    assert found["io.mlplat.model.name"] == "telco-churn-lgbm"
    assert found["io.mlplat.model.version"] == "7" == found["org.opencontainers.image.version"]
    assert found["io.mlplat.model.run_id"] == "r1"
    assert (
        found["io.mlplat.model.git_sha"] == "0123abc" == found["org.opencontainers.image.revision"]
    )
    assert found["io.mlplat.model.config_hash"] == "feedbeef"
    assert found["io.mlplat.bundle.sha256"] == "ab" * 32
    assert found["org.opencontainers.image.base.name"] == "base:1"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return train(tmp_path_factory)


@pytest.mark.slow
def test_context_only_from_the_registry(trained: Trained) -> None:
    done = mlplat(
        "image",
        "build",
        "--model",
        MODEL_URI,
        "--context-only",
        "ctx",
        cwd=trained.root,
        env=trained.env,
    )
    assert done.returncode == 0, done.stderr
    ctx = trained.root / "ctx"
    digest = verify(ctx / "bundle")
    dockerfile = (ctx / "Dockerfile").read_text()
    assert f'io.mlplat.bundle.sha256="{digest}"' in dockerfile
    assert f'io.mlplat.model.name="{MODEL_NAME}"' in dockerfile
    assert 'io.mlplat.model.version="1"' in dockerfile
    wheels = sorted(p.name.split("-")[0].lower() for p in (ctx / "wheels").glob("*.whl"))
    assert {"lightgbm", "numpy", "pandas", "uvicorn", "starlette"} <= set(wheels)
    assert not set(wheels) & set(FORBIDDEN), wheels
    assert [p.name.split("-")[0] for p in (ctx / "app").glob("*.whl")] == ["mlplat"]


@pytest.mark.slow
def test_context_only_from_a_bundle_dir(trained: Trained) -> None:
    done = mlplat(
        "image",
        "build",
        "--model",
        str(trained.bundle),
        "--base",
        "my/base:1",
        "--context-only",
        "ctx2",
        cwd=trained.root,
    )
    assert done.returncode == 0, done.stderr
    dockerfile = (trained.root / "ctx2" / "Dockerfile").read_text()
    assert "FROM my/base:1 AS build" in dockerfile
    assert 'io.mlplat.model.version="unregistered"' in dockerfile


@pytest.mark.slow
def test_unknown_model_names_it(trained: Trained) -> None:
    done = mlplat(
        "image",
        "build",
        "--model",
        "models:/nope@champion",
        "--context-only",
        "c3",
        cwd=trained.root,
        env=trained.env,
    )
    assert done.returncode == 1
    assert "models:/nope@champion" in done.stderr and not (trained.root / "c3").exists()


@pytest.mark.slow
def test_no_engine_says_how_to_point_at_one(trained: Trained, tmp_path: Path) -> None:
    done = mlplat(
        "image",
        "build",
        "--model",
        str(trained.bundle),
        cwd=trained.root,
        env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"},
    )
    assert done.returncode == 3, done.stderr
    assert "DOCKER_HOST" in done.stderr and "--context-only" in done.stderr
