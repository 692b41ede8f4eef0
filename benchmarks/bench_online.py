"""Online experiments: does shadow scoring slow the champion? `mlplat serve` in modes off,
shadow (every request mirrored to the challenger) and split 50/50, same model pair, same payload.

    .venv/bin/python benchmarks/bench_online.py [--seconds 5] [--rounds 3] [--concurrency 4]

Trains the example project twice in a temporary copy (20 and 60 boosting rounds: versions 1 and
2, champion 1), then, round after round so drift hits every mode alike, serves each mode alone
(one worker, 127.0.0.1) and loads it with `mlplat bench` (keep-alive connections, a 1-row
`dataframe_split` with an `x-user-id`-less body: split assigns at random). Prints the median
over rounds of QPS, p50 and p99 per mode, and each mode's ratio to off.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from mlplat.image.smoke import free_port

REPO = Path(__file__).resolve().parents[1]
MLPLAT = [sys.executable, "-m", "mlplat"]
MODEL = "telco-churn-lgbm"
MODES = {
    "off": [],
    "shadow": ["--mode", "shadow", "--split", "1.0"],
    "split": ["--mode", "split", "--split", "0.5"],
}


def run(*args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    done = subprocess.run([*MLPLAT, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"mlplat {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def project(work: Path) -> Path:
    from mlplat.example.churn import write

    root = work / "proj"
    shutil.copytree(REPO / "conf", root / "conf")
    write(root / "data" / "churn.csv", rows=5000)
    for rounds in (20, 60):
        run(
            "run",
            "+experiment=churn_baseline",
            f"model.num_boost_round={rounds}",
            "gates.fail_exit=false",
            cwd=root,
        )
    run("promote", MODEL, "1", "--reason", "benchmark champion", cwd=root)
    sample = json.loads((root / "artifacts/churn_baseline/bundle/sample.json").read_text())
    payload = {"dataframe_split": {"columns": sample["columns"], "data": sample["data"][:1]}}
    (root / "one.json").write_text(json.dumps(payload))
    return root


def measure(root: Path, mode: str, seconds: float, concurrency: int) -> dict[str, float]:
    port = free_port()
    args = ["serve", "--model", f"models:/{MODEL}@champion", "--port", str(port), *MODES[mode]]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    server = subprocess.Popen(
        [*MLPLAT, *args], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        out = run(
            "bench",
            "--url",
            f"http://127.0.0.1:{port}/invocations",
            "--payload",
            str(root / "one.json"),
            "--concurrency",
            str(concurrency),
            "--duration",
            str(seconds),
            "--json",
            cwd=root,
        )
        found = json.loads(out)
        return {
            "qps": found["qps"],
            "p50_ms": found["p50_ms"],
            "p99_ms": found["p99_ms"],
            "errors": found["errors"],
        }
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp))
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for _ in range(options.rounds):
            for mode in MODES:
                results[mode].append(measure(root, mode, options.seconds, options.concurrency))
    medians = {
        mode: {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        for mode, rows in results.items()
    }
    off = medians["off"]
    print(f"{'mode':8} {'QPS':>8} {'p50 ms':>8} {'p99 ms':>8} {'QPS/off':>8} {'p99/off':>8} errors")
    for mode, m in medians.items():
        print(
            f"{mode:8} {m['qps']:8.0f} {m['p50_ms']:8.2f} {m['p99_ms']:8.2f} "
            f"{m['qps'] / off['qps']:8.2f} {m['p99_ms'] / off['p99_ms']:8.2f} {m['errors']:.0f}"
        )
    print(json.dumps({"medians": medians, "rounds": results}))


if __name__ == "__main__":
    main()
