"""`mlplat image test` on an image whose baked model LightGBM cannot parse (issue 20, item 1).

Needs a Docker engine and a base image; skips loudly without them (fails when
MLPLAT_REQUIRE_DOCKER=1), like tests/image/test_image_engine.py. Without an engine the in-process
half of the smoke test is held by tests/serving/test_serving_faults.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import mlplat
from tests.image_support import MODEL_NAME, Trained, base_or_skip, engine_or_skip, train
from tests.serving_support import malformed_bundle, register


@pytest.fixture(scope="module")
def malformed_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Trained]]:
    client = engine_or_skip()
    base = base_or_skip(client)
    trained = train(tmp_path_factory)
    bundle = malformed_bundle(trained.bundle, tmp_path_factory.mktemp("malformed") / "bundle")
    register(trained.root, bundle, "malformed")
    tag = f"mlplat-test/{MODEL_NAME}:malformed-{uuid.uuid4().hex[:8]}"
    done = mlplat(
        "image",
        "build",
        "--model",
        f"models:/{MODEL_NAME}@malformed",
        "--base",
        base,
        "--tag",
        tag,
        cwd=trained.root,
        env=trained.env,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield tag, trained
    client.images.remove(tag, force=True)


@pytest.mark.slow
def test_image_test_fails_with_the_servers_reason(malformed_image: tuple[str, Trained]) -> None:
    tag, trained = malformed_image
    done = mlplat("image", "test", tag, cwd=trained.root, timeout=300)
    error = " ".join(done.stderr.split())
    assert done.returncode == 1, error[-3000:]
    assert "the image's server is up but not ready" in error and "SIGABRT" in error, error
    assert "Traceback" not in done.stderr
