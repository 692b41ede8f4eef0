"""Shared by the serving tests: a trained example project, and a real `mlplat serve` subprocess."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlplat.image.smoke import free_port
from tests.conftest import MLPLAT, make_project, mlplat

MODEL = "telco-churn-lgbm"
ROUNDS = "model.num_boost_round=20"
# a quick model on 2,000 rows loses to the linear baseline (a failed gate, exit 1); serving
# tests need a bundle and a version, not a champion
EXPLORING = "gates.fail_exit=false"


def train(root: Path, *overrides: str) -> None:
    done = mlplat("run", "+experiment=churn_baseline", ROUNDS, EXPLORING, *overrides, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr


def trained_project(dest: Path) -> Path:
    """The example project after one real pipeline run: bundle on disk, version 1 @challenger."""
    root = make_project(dest, rows=2000)
    train(root)
    return root


def shared_project(factory: Any) -> Path:
    """One trained project per test session for the modules that only read its bundle."""
    root = factory.getbasetemp() / "serving-shared"
    if not (bundle_dir(root) / "MANIFEST.json").is_file():
        return trained_project(root)
    return root


def bundle_dir(root: Path) -> Path:
    return root / "artifacts" / "churn_baseline" / "bundle"


def sample_split(root: Path, rows: int = 1) -> dict[str, Any]:
    sample = json.loads((bundle_dir(root) / "sample.json").read_text())
    return {"columns": sample["columns"], "data": sample["data"][:rows]}


def env_for(root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")
    }
    env.update(extra or {})
    return env


@contextmanager
def running_server(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`mlplat serve` on a free loopback port, ready to score; stopped with SIGTERM afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [*MLPLAT, "serve", "--port", str(port), *args],
        cwd=root,
        env=env_for(root, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_ready(proc, port, timeout)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def wait_ready(proc: subprocess.Popen[str], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}: {output}")
        try:
            status, _, _ = request(port, "GET", "/ready")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready")


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = body.encode() if isinstance(body, str) else body
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def score(port: int, payload: Any, path: str = "/invocations") -> tuple[int, Any]:
    status, _, body = request(
        port, "POST", path, json.dumps(payload), {"Content-Type": "application/json"}
    )
    return status, json.loads(body)
