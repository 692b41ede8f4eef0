"""No-op `dvc repro` of the full example pipeline next to DVC's floor, in the same run.

    .venv/bin/python benchmarks/bench_dvc_noop.py [--repeats 7]

Builds two throwaway git + DVC repositories under a temp directory:
- example: the repo's committed dvc.yaml + params.yaml, conf/, data/ and the mlplat/ code the
  stages depend on, reproduced once so every stage is up to date;
- floor: a trivial 2-stage pipeline (echo > a.txt; cp a.txt b.txt), reproduced once.
Then times `dvc repro` in each, alternating, and prints the medians and their ratio (target:
the example's no-op under 2x the floor). Exits 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FLOOR = """stages:
  a:
    cmd: echo 1 > a.txt
    outs: [a.txt]
  b:
    cmd: cp a.txt b.txt
    deps: [a.txt]
    outs: [b.txt]
"""


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    out.update(
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    out["PATH"] = f"{BIN}{os.pathsep}{out['PATH']}"
    out["DVC_NO_ANALYTICS"] = "1"  # no usage-report daemon: no traffic, nothing left running
    return out


def sh(cwd: Path, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    sh(root, "git", "init", "-q")
    sh(root, str(BIN / "dvc"), "init", "-q")
    (root / ".gitignore").write_text("/artifacts/\n/mlflow.db\n/.mlplat/\n__pycache__/\n")
    with (root / ".dvcignore").open("a") as fh:
        fh.write("__pycache__/\n*.pyc\n")
    return root


def example(root: Path) -> Path:
    repo(root)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("conf", "data", "mlplat"):
        shutil.copytree(REPO / name, root / name, ignore=ignore)
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(REPO / name, root / name)
    return root


def floor(root: Path) -> Path:
    repo(root)
    (root / "dvc.yaml").write_text(FLOOR)
    return root


def prepare(root: Path) -> None:
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-q", "-m", "bench")
    sh(root, str(BIN / "dvc"), "repro")  # the real run: afterwards every stage is up to date


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dvc-", ignore_cleanup_errors=True) as tmp:
        repos = {"example": example(Path(tmp) / "example"), "floor": floor(Path(tmp) / "floor")}
        for root in repos.values():
            prepare(root)
        times: dict[str, list[float]] = {name: [] for name in repos}
        for _ in range(args.repeats):
            for name, root in repos.items():
                times[name].append(sh(root, str(BIN / "dvc"), "repro"))
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["example"] / medians["floor"]
    stages = FLOOR.count("cmd:"), (REPO / "dvc.yaml").read_text().count("cmd:")
    print(f"no-op dvc repro, median of {args.repeats} (alternating):")
    print(f"  floor   ({stages[0]} stages): {medians['floor']:.2f} s")
    print(f"  example ({stages[1]} stages): {medians['example']:.2f} s")
    print(f"  ratio: {ratio:.2f}x (target < 2x) -> {'PASS' if ratio < 2 else 'FAIL'}")
    sys.exit(0 if ratio < 2 else 1)


if __name__ == "__main__":
    main()
