"""Planning `mlplat gc` over a store with many runs: wall time and peak memory of the plan, next
to `mlflow gc --older-than` on the same store (which only purges already-deleted runs: here, none).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_retention.py --runs 10000 --artifacts 5

Runs are created through MLflow's client on a sqlite store (half of them 100 days old, every
tenth FAILED); their artifact files are written straight into each run's artifact directory,
as a run's own logging leaves them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAY_MS = 86_400_000


def build(root: Path, runs: int, artifacts: int) -> None:
    from mlflow import MlflowClient

    from mlplat.tracking.runs import seed_sqlite_store

    uri = f"sqlite:///{root / 'mlflow.db'}"
    seed_sqlite_store(uri)
    client = MlflowClient(uri)
    experiment = client.create_experiment("bench", artifact_location=str(root / "mlruns" / "1"))
    now = int(time.time() * 1000)
    for i in range(runs):
        run = client.create_run(experiment, start_time=now - (i % 2) * 100 * DAY_MS)
        where = Path(run.info.artifact_uri)
        where.mkdir(parents=True)
        for k in range(artifacts):
            (where / f"artifact-{k}.bin").write_bytes(b"x" * 1000)
        client.log_metric(run.info.run_id, "auc", (i % 997) / 997)
        client.set_terminated(run.info.run_id, "FAILED" if i % 10 == 0 else "FINISHED")


def plan_once(root: Path) -> dict[str, float]:
    """The plan in a fresh process, so the peak memory is the plan's own."""
    code = (
        "import json, resource, time, sys\n"
        "from pathlib import Path\n"
        "from mlplat.pipeline.compose import compose\n"
        "from mlplat.ops.gc import make_plan\n"
        "root = Path(sys.argv[1])\n"
        "import mlflow  # the import (seconds) is not the plan's: every mlplat command pays it\n"
        "cfg = compose(root, [])\n"
        "t = time.perf_counter()\n"
        "planned = make_plan(root, cfg)\n"
        "wall = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'plan_seconds': wall, 'peak_mb': peak,"
        " 'items': len(planned.plan.items), 'going': sum(t.going for t in planned.plan.totals)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def mlflow_gc(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "gc",
            "--older-than",
            "30d",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
        ],
        capture_output=True,
        check=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"},
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--artifacts", type=int, default=5)
    args = parser.parse_args()
    from tests.conftest import make_project

    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "proj", rows=200)
        started = time.perf_counter()
        build(root, args.runs, args.artifacts)
        built = time.perf_counter() - started
        result = {"runs": args.runs, "artifacts_per_run": args.artifacts, "build_seconds": built}
        result.update(plan_once(root))
        result["mlflow_gc_older_than_seconds"] = mlflow_gc(root)
        result["bench_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
