"""Foundation benchmark: `mlplat --help` start-up next to `mlflow --version`, and the wall time of
`mlplat run +experiment=churn_baseline` split by stage (medians).

    .venv/bin/python benchmarks/bench_cli.py [--repeats 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wall(command: list[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def startup(repeats: int) -> dict[str, float]:
    commands = {
        "mlplat --help": [str(BIN / "mlplat"), "--help"],
        "mlflow --version": [str(BIN / "mlflow"), "--version"],
    }
    return {
        name: statistics.median(wall(cmd) for _ in range(repeats)) for name, cmd in commands.items()
    }


def stage_times(runs: int) -> dict[str, float]:
    import mlflow

    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            shutil.copytree(REPO / "conf", root / "conf")
            shutil.copytree(REPO / "data", root / "data")
            total = wall([str(BIN / "mlplat"), "run", "+experiment=churn_baseline"], cwd=root)
            client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
            experiment = client.get_experiment_by_name("churn_baseline")
            (run,) = client.search_runs([experiment.experiment_id])
            for key, value in run.data.metrics.items():
                if key.startswith("time."):
                    samples.setdefault(
                        key.removeprefix("time.").removesuffix("_seconds"), []
                    ).append(value)
            samples.setdefault("total wall (process)", []).append(total)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"## start-up (median of {args.repeats})\n\n| command | seconds |\n|---|---|")
    for name, seconds in startup(args.repeats).items():
        print(f"| `{name}` | {seconds:.3f} |")
    print(f"\n## mlplat run +experiment=churn_baseline (median of {args.runs})\n")
    print("| stage | seconds |\n|---|---|")
    for name, seconds in stage_times(args.runs).items():
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
