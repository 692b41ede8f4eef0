"""moto's standalone S3-compatible server on 127.0.0.1 (from `.ci/services.sh` through
MLPLAT_TEST_S3_ENDPOINT, else started here): it speaks the S3 API that DVC (s3fs) and MLflow
(boto3) use, and keeps objects in memory."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mlplat.image.smoke import free_port
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
