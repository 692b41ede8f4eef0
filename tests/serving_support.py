"""Shared by the serving tests: a trained example project, and a real `mlplat serve` subprocess."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlplat.image.smoke import free_port
from tests.conftest import MLPLAT, make_project, mlplat, tracking_uri

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


def two_versions(dest: Path) -> Path:
    """A trained project with version 1 @champion and version 2 (the same bundle, registered
    again) @challenger: the two arms of an online experiment."""
    root = trained_project(dest)
    register(root, bundle_dir(root), "challenger")
    client(root).set_registered_model_alias(MODEL, "champion", "1")
    return root


def shared_project(factory: Any) -> Path:
    """One trained project per test session for the modules that only read its bundle."""
    root = factory.getbasetemp() / "serving-shared"
    if not (bundle_dir(root) / "MANIFEST.json").is_file():
        return trained_project(root)
    return root


def bundle_dir(root: Path) -> Path:
    return root / "artifacts" / "churn_baseline" / "bundle"


def client(root: Path) -> Any:
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(root))
    return mlflow.MlflowClient()


def register(root: Path, bundle: Path, alias: str) -> str:
    """Register a bundle the way `mlplat run` does (models-from-code pyfunc, no pickle). The
    model keeps the directory's name, and servers look for `artifacts/bundle`: copied as such."""
    import tempfile

    import mlflow

    from mlplat.tracking import runs as tracking
    from mlplat.tracking.tracker import Tracker

    client(root)
    mlflow.set_experiment("churn_baseline")
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run():
        named = shutil.copytree(bundle, Path(tmp) / "bundle")
        return tracking.register(
            Tracker(mlflow.get_tracking_uri()), tracking.log_bundle(named), MODEL, {}, alias=alias
        )


def rehash(bundle: Path) -> None:
    """Rewrite the manifest so the bundle's checksums match its (edited) files again."""
    from mlplat.core.io import sha256_file

    manifest = bundle / "MANIFEST.json"
    files = sorted(p.name for p in bundle.iterdir() if p.name != manifest.name)
    manifest.write_text(
        json.dumps({"version": 1, "files": {f: sha256_file(bundle / f) for f in files}})
    )


def malformed_bundle(good: Path, dest: Path) -> Path:
    """A copy of `good` whose model.txt lost one `leaf_value=` line, its manifest re-hashed:
    it passes every checksum, and LightGBM aborts the process that parses it."""
    shutil.copytree(good, dest)
    lines = (dest / "model.txt").read_text().splitlines(keepends=True)
    lines.remove(next(line for line in lines if line.startswith("leaf_value=")))
    (dest / "model.txt").write_text("".join(lines))
    rehash(dest)
    return dest


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
    root: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    until: str = "/ready",
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`mlplat serve` on a free loopback port, ready to score (or, with `until="/health"`, up);
    stopped with SIGTERM afterwards."""
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
        wait_ready(proc, port, timeout, until)
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


def wait_ready(
    proc: subprocess.Popen[str], port: int, timeout: float, path: str = "/ready"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}: {output}")
        try:
            status, _, _ = request(port, "GET", path)
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


def _iris(path: Path) -> str:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    frame["species"] = frame["species"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame.to_csv(path, index=False)
    return "species"


def _diabetes(path: Path) -> str:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(
        columns={"target": "progression"}
    )
    frame.to_csv(path, index=False)
    return "progression"


SKLEARN_SETS = {"multiclass": _iris, "regression": _diabetes}


def task_project(dest: Path, task: str) -> Path:
    """A user's project on a data set scikit-learn ships (iris: multiclass, diabetes:
    regression): `mlplat init --data --target`, then one `mlplat run`; its bundle is
    `task_bundle(root)`."""
    dest.mkdir(parents=True)
    data = dest / f"{task}.csv"
    target = SKLEARN_SETS[task](data)
    root = dest / "proj"
    done = mlplat("init", str(root), "--data", str(data), "--target", target, cwd=dest)
    assert done.returncode == 0, done.stdout + done.stderr
    done = mlplat("run", "+experiment=baseline", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def task_bundle(root: Path) -> Path:
    return root / "artifacts" / "baseline" / "bundle"
