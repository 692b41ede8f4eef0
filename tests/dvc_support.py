"""Real git + DVC repositories in tmp_path for the pipeline tests (no mocks: the real binaries)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
# A small experiment for fast pipelines: few boosting rounds, no segments, and no model
# registration (logging a model is the slowest step; `mlplat init`'s test covers it under DVC).
TINY = """# @package _global_
defaults:
  - override /segments: none
experiment_name: churn_tiny
model:
  num_boost_round: 20
registry:
  register: false
"""


def env() -> dict[str, str]:
    """`mlplat` (each stage's cmd) and `dvc` on PATH; MLflow in the repo's own sqlite file."""
    out = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")
    }
    out.update(GIT_ENV)
    out["DVC_NO_ANALYTICS"] = "1"  # no usage reports: tests send no traffic off this machine
    out["PATH"] = f"{BIN}{os.pathsep}{out['PATH']}"
    return out


def sh(
    *args: str, cwd: Path, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        list(args), cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {done.returncode}\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return done


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh(str(BIN / "dvc"), *args, cwd=cwd, check=check)


def mlplat(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh(str(BIN / "mlplat"), *args, cwd=cwd, check=check)


def init_repo(root: Path, experiment: str = "churn_tiny") -> Path:
    """git init + dvc init + a compiled pipeline for `experiment`, committed."""
    (root / "conf" / "experiment" / "churn_tiny.yaml").write_text(TINY, encoding="utf-8")
    (root / ".gitignore").write_text(
        "/mlflow.db\n/mlruns/\n/.mlplat/\n__pycache__/\n", encoding="utf-8"
    )
    sh("git", "init", "-q", "-b", "main", cwd=root)
    dvc("init", "-q", cwd=root)
    with (root / ".dvcignore").open("a", encoding="utf-8") as fh:
        fh.write("__pycache__/\n*.pyc\n")
    mlplat("compile", f"+experiment={experiment}", cwd=root)
    commit(root, "pipeline")
    return root


def commit(root: Path, message: str) -> None:
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-q", "-m", message, cwd=root)


def clone(origin: Path, dest: Path) -> Path:
    sh("git", "clone", "-q", str(origin), str(dest), cwd=origin.parent)
    return dest


def repro(
    root: Path, *args: str, check: bool = True
) -> tuple[list[str], subprocess.CompletedProcess[str]]:
    """Run `dvc repro`; returns the names of the stages that actually ran."""
    done = dvc("repro", *args, cwd=root, check=check)
    return re.findall(r"Running stage '([^']+)'", done.stdout + done.stderr), done
