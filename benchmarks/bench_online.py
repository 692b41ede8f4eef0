"""Online experiments: does shadow scoring slow the champion? `mlplat serve` in modes off,
shadow (every request mirrored to the challenger) and split 50/50, same model pair, same payload.

    .venv/bin/python benchmarks/bench_online.py [--seconds 5] [--rounds 3] [--concurrency 4]

Trains the example project twice in a temporary copy (20 and 60 boosting rounds: versions 1 and
2, champion 1; the challenger's half of a split costs more to score), and adds mode
`split_same`: 50/50 between two arms both on version 1, the split's own cost. Round after round,
so drift hits every mode alike, it serves each mode alone (one worker, 127.0.0.1) and loads it
with `mlplat bench` (keep-alive connections, a 1-row `dataframe_split` with an `x-user-id`-less
body: split assigns at random) twice:

- saturation: a closed loop (`--concurrency`), each mode's maximum QPS (the split target);
- fixed rate: an open loop (`--rate`) at `--load` (default half) of mode off's saturation QPS in
  the first round, the same rate for every mode; p50/p99 from the schedule (the p99 target is
  about latency under a load the server can carry, not at saturation).

Between the two the server is left to finish its shadow queue (`GET /online`), so the fixed-rate
phase does not pay for the saturation phase's backlog. CPU per request is the server process's
(and its children's) user + system CPU seconds during a phase, over the requests answered in it;
in shadow mode that includes the challenger's copy. Prints the median over rounds per mode and
each mode's ratio to off, then every round as JSON.
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
from typing import Any

import psutil

from mlplat.image.smoke import free_port

REPO = Path(__file__).resolve().parents[1]
MLPLAT = [sys.executable, "-m", "mlplat"]
MODEL = "telco-churn-lgbm"
MODES = {
    "off": [],
    "shadow": ["--mode", "shadow", "--split", "1.0"],
    "split": ["--mode", "split", "--split", "0.5"],
    # both arms the same version: what the split itself costs, without the heavier challenger
    "split_same": [
        "--mode",
        "split",
        "--split",
        "0.5",
        "--challenger",
        f"models:/{MODEL}@champion",
    ],
}
PHASES = ("saturation", "fixed_rate")


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


def get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.loads(response.read())


def wait_ready(port: int) -> None:
    for _ in range(300):
        try:
            get(port, "/ready")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server on port {port} never became ready")


def warm(root: Path, port: int, mode: str, seconds: float = 60.0) -> None:
    """One request; in shadow mode, wait until the challenger's process has scored its copy
    (it loads the version first), so no phase pays for the start-up."""
    body = (root / "one.json").read_bytes()
    headers = {"Content-Type": "application/json"}
    url = f"http://127.0.0.1:{port}/invocations"
    urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=5).read()
    until = time.monotonic() + seconds
    while mode == "shadow" and time.monotonic() < until:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            if b'arm="challenger"' in response.read():
                return
        time.sleep(0.2)


def shadow_state(port: int, mode: str) -> dict[str, int]:
    """The shadow queue and its drops (zeros outside shadow mode)."""
    if mode != "shadow":
        return {"queued": 0, "dropped": 0}
    return dict(get(port, "/online")["shadow"])


def settle(port: int, mode: str, seconds: float = 30.0) -> None:
    """Wait for the shadow thread to finish its queue, then a moment for the request log."""
    until = time.monotonic() + seconds
    while shadow_state(port, mode)["queued"] and time.monotonic() < until:
        time.sleep(0.1)
    time.sleep(0.5)


def cpu_seconds(server: psutil.Process) -> float:
    """User + system CPU of the server and its live children (offload workers, if any)."""
    total = 0.0
    for proc in [server, *server.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def load(root: Path, port: int, seconds: float, how: list[str]) -> dict[str, Any]:
    out = run(
        "bench",
        "--url",
        f"http://127.0.0.1:{port}/invocations",
        "--payload",
        str(root / "one.json"),
        "--duration",
        str(seconds),
        *how,
        "--json",
        cwd=root,
    )
    return dict(json.loads(out))


def phase(
    root: Path, port: int, mode: str, seconds: float, how: list[str], server: psutil.Process
) -> dict[str, float]:
    dropped, cpu = shadow_state(port, mode)["dropped"], cpu_seconds(server)
    found = load(root, port, seconds, how)
    cpu = cpu_seconds(server) - cpu  # the bench process is not the server's child
    settle(port, mode)
    answered = found["requests"] - found["errors"]
    return {
        "qps": found["qps"],
        "p50_ms": found["p50_ms"],
        "p99_ms": found["p99_ms"],
        "errors": found["errors"],
        "achieved_rate": found.get("achieved_rate", found["qps"]),
        "cpu_ms_per_request": 1000 * cpu / answered if answered else float("nan"),
        "shadow_dropped": shadow_state(port, mode)["dropped"] - dropped,
    }


def measure(
    root: Path, mode: str, seconds: float, concurrency: int, rate: float | None, share: float
) -> dict[str, dict[str, float]]:
    """One server in `mode`: the saturation phase, then the fixed-rate phase (at `rate`, or at
    `share` of this server's own saturation QPS when no rate is known yet: the first round's
    off)."""
    port = free_port()
    args = ["serve", "--model", f"models:/{MODEL}@champion", "--port", str(port), *MODES[mode]]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    process = subprocess.Popen(
        [*MLPLAT, *args], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(port)
        warm(root, port, mode)
        server = psutil.Process(process.pid)
        closed = ["--concurrency", str(concurrency)]
        saturation = phase(root, port, mode, seconds, closed, server)
        rate = rate or round(share * saturation["qps"])
        open_loop = ["--concurrency", str(concurrency), "--rate", str(rate)]
        fixed_rate = phase(root, port, mode, seconds, open_loop, server)
        return {"saturation": saturation, "fixed_rate": {"rate": rate, **fixed_rate}}
    finally:
        process.terminate()
        process.wait(30)


def medians(rows: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {
        name: {key: statistics.median(row[name][key] for row in rows) for key in rows[0][name]}
        for name in PHASES
    }


def report(by_mode: dict[str, dict[str, dict[str, float]]], rate: float) -> None:
    off = by_mode["off"]
    print("saturation (closed loop):")
    print(f"{'mode':8} {'QPS':>8} {'QPS/off':>8} {'p99 ms':>8} {'CPU ms/req':>10} {'dropped':>8}")
    for mode, m in by_mode.items():
        s = m["saturation"]
        print(
            f"{mode:8} {s['qps']:8.0f} {s['qps'] / off['saturation']['qps']:8.2f} "
            f"{s['p99_ms']:8.2f} {s['cpu_ms_per_request']:10.3f} {s['shadow_dropped']:8.0f}"
        )
    print(f"fixed rate (open loop, {rate:.0f} requests/s):")
    print(
        f"{'mode':8} {'achieved':>8} {'p50 ms':>8} {'p99 ms':>8} {'p50/off':>8} {'p99/off':>8} "
        f"{'CPU ms/req':>10} {'dropped':>8}"
    )
    for mode, m in by_mode.items():
        f, o = m["fixed_rate"], off["fixed_rate"]
        print(
            f"{mode:8} {f['achieved_rate']:8.0f} {f['p50_ms']:8.2f} {f['p99_ms']:8.2f} "
            f"{f['p50_ms'] / o['p50_ms']:8.2f} {f['p99_ms'] / o['p99_ms']:8.2f} "
            f"{f['cpu_ms_per_request']:10.3f} {f['shadow_dropped']:8.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--load", type=float, default=0.5, help="share of off's saturation QPS")
    options = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    results: dict[str, list[dict[str, dict[str, float]]]] = {mode: [] for mode in MODES}
    rate: float | None = None
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp))
        for _ in range(options.rounds):
            for mode in MODES:
                found = measure(
                    root, mode, options.seconds, options.concurrency, rate, options.load
                )
                results[mode].append(found)
                rate = found["fixed_rate"]["rate"]
    by_mode = {mode: medians(rows) for mode, rows in results.items()}
    report(by_mode, rate or 0.0)
    print(json.dumps({"rate": rate, "medians": by_mode, "rounds": results}))


if __name__ == "__main__":
    main()
