"""Helpers for tests that start `mlplat run` as a background process and watch or stop it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.conftest import MLPLAT, tracking_uri

EXPERIMENT = "churn_baseline"
MODEL = "telco-churn-lgbm"


def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`mlplat ARGS` in the background, in its own session (a terminal's process group)."""
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")
    }
    full_env.update(env or {})
    return subprocess.Popen(
        [*MLPLAT, *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run_dirs(root: Path) -> list[Path]:
    return sorted((root / "artifacts" / EXPERIMENT / ".runs").glob("*/lease.json"))


def read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:  # replaced or removed meanwhile
        return None


def wait_for(check: Any, what: str, process: subprocess.Popen[str], timeout: float = 300) -> Any:
    """Poll `check()` (every millisecond: a stage may last a tenth of a second) until it returns
    something true; fail if `process` ends first."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"mlplat ended ({process.returncode}) before {what}:\n{err}")
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.001)


def lease_of(root: Path) -> dict[str, Any] | None:
    for lease in run_dirs(root):
        text = read(lease)
        if text:
            return dict(json.loads(text))
    return None


def client(root: Path) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri(root))


def runs(root: Path) -> list[Any]:
    """The project's runs, oldest first."""
    found = client(root).get_experiment_by_name(EXPERIMENT)
    if found is None:
        return []
    return list(
        client(root).search_runs([found.experiment_id], order_by=["attributes.start_time ASC"])
    )


def published(root: Path) -> dict[str, str]:
    """Every file under artifacts/<experiment>/ but the runs' own directories: its digest."""
    base = root / "artifacts" / EXPERIMENT
    return {
        str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(base.rglob("*"))
        if p.is_file() and ".runs" not in p.relative_to(base).parts
    }


def registered_bundle(root: Path, version: str) -> Path:
    """The bundle a registered version holds, where the project's local store keeps it."""
    found = client(root).get_model_version(MODEL, version)
    model = client(root).get_logged_model(found.source.removeprefix("models:/"))
    return Path(model.artifact_location.removeprefix("file://")) / "artifacts" / "bundle"


def stage_process(process: subprocess.Popen[str]) -> Any:
    """The stage process `mlplat run` started (a multiprocessing spawn), as a psutil.Process."""
    import psutil

    tree = psutil.Process(process.pid).children(recursive=True)
    [found] = [p for p in tree if "spawn_main" in " ".join(p.cmdline())]
    return found
