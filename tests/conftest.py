"""Shared fixtures: a copy of the example project in tmp_path, with its own sqlite MLflow store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.installed_support import Installed, build_installed

REPO = Path(__file__).resolve().parent.parent
MLPLAT = [sys.executable, "-m", "mlplat.cli.main"]
SMALL_ROWS = 4000


def make_project(dest: Path, rows: int = SMALL_ROWS) -> Path:
    """The example project (conf/ + a smaller seeded churn table) in `dest`."""
    from mlplat.example.churn import write

    shutil.copytree(REPO / "conf", dest / "conf")
    write(dest / "data" / "churn.csv", rows=rows)
    return dest


@pytest.fixture(autouse=True)
def _no_leaked_store() -> Iterator[None]:
    """mlflow.set_tracking_uri (any in-process run, in a test or a module fixture) exports
    $MLFLOW_TRACKING_URI, which a project without `tracking.uri` honours: cleared around every
    test, so each project resolves its own store, never the one the last test left behind."""
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield
    os.environ.pop("MLFLOW_TRACKING_URI", None)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh example project as the working directory; MLflow goes to its own sqlite file."""
    root = make_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    yield root


def mlplat(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")
    }
    full_env.update(env or {})
    return subprocess.run(
        [*MLPLAT, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def skip_or_fail(message: str, *, required: bool) -> NoReturn:
    """A missing engine, browser or server skips loudly on a laptop; where CI promised it, fails."""
    if required:
        pytest.fail(f"{message} (required here)")
    pytest.skip(f"SKIPPED LOUDLY: {message}")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def tracking_uri(root: Path) -> str:
    return f"sqlite:///{root / 'mlflow.db'}"


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """mlplat[serve] pip-installed from a wheel of this checkout into a fresh venv (slow: once)."""
    return build_installed(tmp_path_factory.mktemp("installed"))
