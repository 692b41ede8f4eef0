"""mlplat as our users have it: a wheel of this checkout, pip-installed (not editable) into a
fresh virtual environment outside the repository. Built once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Installed:
    """A fresh venv with mlplat[serve] installed from a wheel."""

    root: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The user's shell: the venv first on PATH, none of this repository's settings."""
        drop = ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR", "PYTHONPATH", "VIRTUAL_ENV")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.root))
        env.update(extra or {})
        return env

    def run(
        self, *args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`args[0]` from the venv's bin (mlplat, dvc, python), as a user would type it."""
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        pytest.fail(f"pip {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _source(base: Path) -> Path:
    """The files a release is built from, copied out: building in the checkout would leave a
    `build/` directory whose stale modules a later wheel could pick up."""
    src = base / "src"
    for name in ("mlplat", "hydra_plugins"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    return src


def build_installed(base: Path) -> Installed:
    """Wheel from the checkout (no editable install anywhere), then `pip install` into a venv."""
    dist = base / "dist"
    _pip(Path(sys.executable), "wheel", "--no-deps", "-q", "-w", str(dist), str(_source(base)))
    (wheel,) = dist.glob("mlplat-*.whl")
    root = base / "venv"
    venv.create(root, with_pip=True)
    _pip(root / "bin" / "python", "install", "-q", f"{wheel}[serve]")
    return Installed(root=root, wheel=wheel)
