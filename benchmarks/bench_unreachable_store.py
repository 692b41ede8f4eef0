"""How long `mlplat run` takes to report a tracking store that refuses connections (issue 20):
`tracking.connect` alone (the declared retry budget), and the whole command (start-up included).
Medians and ranges.

    .venv/bin/python benchmarks/bench_unreachable_store.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def refused_uri() -> str:
    with socket.socket() as sock:  # a port nothing listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://alice:secret@127.0.0.1:{port}"


def connect_seconds() -> float:
    from mlplat.core.config import PlatformConfig
    from mlplat.core.errors import TrackingStoreError
    from mlplat.tracking import runs as tracking

    cfg = PlatformConfig()
    cfg.tracking.uri = refused_uri()
    started = time.perf_counter()
    try:
        tracking.connect(cfg, Path.cwd())
    except TrackingStoreError:
        return time.perf_counter() - started
    raise AssertionError("the store answered")


def command_seconds(project: Path) -> float:
    env = {**os.environ, "MLFLOW_TRACKING_URI": refused_uri()}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mlplat.cli.main", "run", "+experiment=churn_baseline"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 1, done.stderr[-2000:]
    return seconds


def summary(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"median {statistics.median(values):.2f} s (min {low:.2f}, max {high:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    sys.path.insert(0, str(REPO))
    import mlflow  # noqa: F401  (imported before timing: the import is start-up, not retries)

    from tests.conftest import make_project

    print(f"tracking.connect: {summary([connect_seconds() for _ in range(repeats)])}")
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "proj")
        print(f"mlplat run:       {summary([command_seconds(project) for _ in range(repeats)])}")
    print(f"load average:     {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
