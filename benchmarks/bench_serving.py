"""Serving benchmark: `mlflow models serve` vs a bare ASGI app vs `mlplat serve`, same model.

    .venv/bin/python benchmarks/bench_serving.py [--seconds 5] [--rounds 3] [--skip-mlflow]
        [--models synthetic,example] [--health-seconds 15]

Two models. `synthetic`: a 30-feature LightGBM model (100 trees) written as an mlplat bundle and
logged to a local MLflow store as the same models-from-code pyfunc `mlplat run` registers.
`example`: the example project's own model (categorical and date features), trained by
`mlplat run +experiment=churn_baseline` in a temporary copy of the project and registered in its
store. Each server runs alone, one worker, on 127.0.0.1; Apache Bench (`ab -t SECONDS -c 8`, new
connection per request, as in the issues) sends a 1-row `dataframe_split`, then `ab -c 2` sends
1,000-row batches. Then `/health` under load: three clients send 100,000-row requests of the
example model (JSON, then CSV; within the default 10 MB limit) while `/health` is probed every
50 ms on a fresh connection. Needs `ab` (apt-get install apache2-utils).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from mlplat.image.smoke import free_port

HERE = Path(__file__).resolve()
PYTHON = sys.executable
FEATURES, ROWS, TREES = 30, 5000, 100
EXAMPLE_ROWS, EXAMPLE_MODEL, LOAD_ROWS = 20_000, "telco-churn-lgbm", 100_000


def make_bundle(work: Path) -> Path:
    """A 30-column numeric table, a real booster, and an mlplat bundle around it."""
    import lightgbm
    import pandas as pd

    from mlplat.core.bundle import write_bundle
    from mlplat.core.config.contract import FeatureConfig
    from mlplat.core.features import fit_spec, raw_columns

    rng = np.random.default_rng(7)
    names = [f"x{i:02d}" for i in range(FEATURES)]
    frame = pd.DataFrame(rng.normal(size=(ROWS, FEATURES)), columns=names)
    label = (frame.iloc[:, :5].sum(axis=1) + rng.normal(size=ROWS) > 0).astype(int)
    spec = fit_spec({n: FeatureConfig(kind="passthrough", column=n) for n in names}, frame)
    booster = lightgbm.train(
        {"objective": "binary", "verbosity": -1, "num_threads": 1},
        lightgbm.Dataset(frame.to_numpy(), label),
        num_boost_round=TREES,
    )
    model_file = work / "model.txt"
    booster.save_model(str(model_file))
    schema = {
        "input_columns": raw_columns(spec),
        "strict": True,
        "columns": {n: {"dtype": "float", "nullable": False, "ge": -100, "le": 100} for n in names},
    }
    sample = {"columns": names, "data": frame.head(20).to_numpy().tolist()}
    target = work / "bundle"
    write_bundle(
        target,
        model_file,
        {
            "feature_spec": spec,
            "schema": schema,
            "profile": {},
            "metadata": {"model_name": "bench-model", "task": "binary"},
            "sample": sample,
        },
    )
    return target


def log_to_mlflow(bundle: Path, work: Path) -> str:
    import mlflow

    from mlplat.tracking.runs import PYFUNC_FILE

    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(PYFUNC_FILE), artifacts={"bundle": str(bundle)}
        )
    return info.model_uri


def payload(bundle: Path, rows: int, work: Path) -> Path:
    sample = json.loads((bundle / "sample.json").read_text())
    data = (sample["data"] * (rows // len(sample["data"]) + 1))[:rows]
    path = work / f"payload-{rows}.json"
    split = {"dataframe_split": {"columns": sample["columns"], "data": data}}
    path.write_text(json.dumps(split, separators=(",", ":")))  # compact: 100k rows fit 10 MB
    return path


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} not ready")


def ab(url: str, body: Path, seconds: float, concurrency: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "ab",
            "-q",
            "-t",
            str(seconds),
            "-n",
            "10000000",
            "-c",
            str(concurrency),
            "-p",
            str(body),
            "-T",
            "application/json",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    qps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {int(p): float(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M)}
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    done = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    return {
        "requests": done,
        "qps": qps,
        "p50_ms": pct[50],
        "p99_ms": pct[99],
        "max_ms": pct[100],
        "errors": failed + (int(non2xx.group(1)) if non2xx else 0),
    }


class Server:
    """One server process, started once and measured in every round."""

    def __init__(
        self,
        name: str,
        cmd: list[str],
        ready: str,
        score: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name, self.score = name, score
        self.log = Path(tempfile.mkstemp(prefix="mlplat-bench-server-", suffix=".log")[1])
        with self.log.open("wb") as sink:
            self.proc = subprocess.Popen(
                cmd,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=cwd,
            )
        try:
            wait_ready(ready, self.proc)
        except RuntimeError:
            self.stop()
            sys.exit(f"{name} did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.unlink(missing_ok=True)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live descendants, from Linux's /proc."""
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])))
    tree = {pid}
    for child, (parent, _) in sorted(table.items()):
        if parent in tree:
            tree.add(child)
    total = sum(table[p][1] for p in tree if p in table)
    return total / os.sysconf("SC_CLK_TCK")


def measure(server: Server, one: Path, batch: Path, seconds: float) -> dict[str, Any]:
    cpu = cpu_seconds(server.proc.pid)
    single = ab(server.score, one, seconds, 8)
    # The server's own CPU per request does not depend on what else the machine runs, unlike
    # req/s and latency on a shared machine.
    single["cpu_us"] = (cpu_seconds(server.proc.pid) - cpu) / max(single["requests"], 1) * 1e6
    many = ab(server.score, batch, seconds, 2)
    result = {
        "server": server.name,
        **single,
        "batch_rows_per_s": many["qps"] * 1000,
        "batch_p99_ms": many["p99_ms"],
        "batch_errors": many["errors"],
    }
    print(json.dumps(result), flush=True)
    return result


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    import statistics

    keys = [k for k in runs[0] if k != "server"]
    return {
        "server": runs[0]["server"],
        **{k: statistics.median(float(r[k]) for r in runs) for k in keys},
    }


BARE_APP = """
import json, sys
import lightgbm, numpy as np
booster = lightgbm.Booster(model_file=sys.argv[1] + "/model.txt")

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] == "POST":
        rows = json.loads(body)["dataframe_split"]["data"]
        out = json.dumps({"predictions": booster.predict(np.asarray(rows, dtype="float64"),
                                                         num_threads=1).tolist()}).encode()
    else:
        out = b"{}"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})

if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def mlflow_server(uri: str, tracking: str) -> Server:
    port = free_port()
    env = {
        "MLFLOW_TRACKING_URI": tracking,
        "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return Server(
        "mlflow models serve",
        [
            str(Path(PYTHON).parent / "mlflow"),
            "models",
            "serve",
            "-m",
            uri,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            "1",
        ],
        f"http://127.0.0.1:{port}/ping",
        f"http://127.0.0.1:{port}/invocations",
        env,
    )


# Runs `mlplat` from another source tree (`--baseline DIR`, e.g. `git archive 3a13b46 mlplat |
# tar -x -C DIR`): the editable install's import hook would otherwise win over sys.path.
BASELINE_LAUNCHER = (
    "import sys; "
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in f.__module__]; "
    "sys.path.insert(0, sys.argv.pop(1)); "
    "from mlplat.cli.main import main; main()"
)


def mlplat_server(
    bundle: Path, work: Path, cwd: Path | None = None, source: Path | None = None
) -> Server:
    port = free_port()
    launch = ["-m", "mlplat.cli.main"] if source is None else ["-c", BASELINE_LAUNCHER, str(source)]
    return Server(
        "mlplat serve" if source is None else f"mlplat serve ({source.name})",
        [
            PYTHON,
            *launch,
            "serve",
            "--model",
            str(bundle),
            "--port",
            str(port),
            "--workers",
            "1",
            "--request-log-dir",
            str(work / "requests"),
        ],
        f"http://127.0.0.1:{port}/ready",
        f"http://127.0.0.1:{port}/invocations",
        cwd=cwd,
    )


def synthetic_servers(
    work: Path, skip_mlflow: bool, baseline: Path | None
) -> tuple[list[Server], Path]:
    bundle = make_bundle(work)
    (work / "bare.py").write_text(BARE_APP)
    servers = []
    if not skip_mlflow:
        servers.append(
            mlflow_server(log_to_mlflow(bundle, work), f"sqlite:///{work / 'mlflow.db'}")
        )
    port = free_port()
    servers.append(
        Server(
            "bare ASGI (Booster.predict)",
            [PYTHON, str(work / "bare.py"), str(bundle), str(port)],
            f"http://127.0.0.1:{port}/",
            f"http://127.0.0.1:{port}/",
        )
    )
    if baseline is not None:
        servers.append(mlplat_server(bundle, work / "baseline", cwd=work, source=baseline))
    servers.append(mlplat_server(bundle, work))
    return servers, bundle


def example_project(work: Path) -> Path:
    """A copy of the example project, trained once: bundle on disk, version 1 registered."""
    from mlplat.example.churn import write

    root = work / "example"
    shutil.copytree(HERE.parent.parent / "conf", root / "conf")
    write(root / "data" / "churn.csv", rows=EXAMPLE_ROWS)
    subprocess.run(
        [PYTHON, "-m", "mlplat.cli.main", "run", "+experiment=churn_baseline"],
        cwd=root,
        check=True,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
    )
    return root


def example_servers(
    root: Path, skip_mlflow: bool, baseline: Path | None
) -> tuple[list[Server], Path]:
    bundle = root / "artifacts" / "churn_baseline" / "bundle"
    servers = []
    if not skip_mlflow:
        tracking = f"sqlite:///{root / 'mlflow.db'}"
        servers.append(mlflow_server(f"models:/{EXAMPLE_MODEL}/1", tracking))
    if baseline is not None:
        # outside the project: an older mlplat may not know every key of today's conf/serving
        servers.append(mlplat_server(bundle, root / "baseline", cwd=root.parent, source=baseline))
    servers.append(mlplat_server(bundle, root, cwd=root))
    return servers, bundle


def run_rounds(
    servers: list[Server], bundle: Path, work: Path, seconds: float, rounds: int
) -> list[dict[str, Any]]:
    one, batch = payload(bundle, 1, work), payload(bundle, 1000, work)
    for server in servers:
        ab(server.score, one, 1, 8)  # warm-up
    runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in servers}
    for _ in range(rounds):  # interleaved, so a noisy neighbour hits every server alike
        for server in servers:
            runs[server.name].append(measure(server, one, batch, seconds))
    return [medians(r) for r in runs.values()]


def csv_body(bundle: Path, rows: int) -> bytes:
    import csv
    import io

    sample = json.loads((bundle / "sample.json").read_text())
    data = (sample["data"] * (rows // len(sample["data"]) + 1))[:rows]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(sample["columns"])
    writer.writerows(
        ["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in r] for r in data
    )
    return out.getvalue().encode()


def health_load(server: Server, bundle: Path, work: Path, seconds: float) -> list[dict[str, Any]]:
    """/health while three clients send 100,000-row requests (JSON, then CSV)."""
    from mlplat.serving.bench import health_under_load

    base = server.score.rsplit("/", 1)[0]
    bodies = {
        "json": ("application/json", payload(bundle, LOAD_ROWS, work).read_bytes()),
        "csv": ("text/csv", csv_body(bundle, LOAD_ROWS)),
    }
    out = []
    for fmt, (content_type, body) in bodies.items():
        result = health_under_load(
            f"{base}/invocations", body, content_type=content_type, clients=3, seconds=seconds
        )
        row = {"server": server.name, "format": fmt, "bytes": len(body), **result.summary()}
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--rounds", type=int, default=3, help="Interleaved rounds; medians reported."
    )
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--models", default="synthetic,example")
    parser.add_argument(
        "--health-seconds", type=float, default=15.0, help="0 skips /health under load"
    )
    parser.add_argument(
        "--baseline", type=Path, help="Also serve with the mlplat package in this directory."
    )
    args = parser.parse_args()
    if shutil.which("ab") is None:
        sys.exit("needs ab: apt-get install apache2-utils")
    work = Path(tempfile.mkdtemp(prefix="mlplat-bench-"))
    for name in args.models.split(","):
        if name == "synthetic":
            servers, bundle = synthetic_servers(work, args.skip_mlflow, args.baseline)
        else:
            servers, bundle = example_servers(
                example_project(work), args.skip_mlflow, args.baseline
            )
        try:
            report(name, run_rounds(servers, bundle, work, args.seconds, args.rounds))
            if name == "example" and args.health_seconds > 0:
                for server in servers:
                    if server.name.startswith("mlplat serve"):
                        health_load(server, bundle, work, args.health_seconds)
        finally:
            for server in servers:
                server.stop()
    shutil.rmtree(work, ignore_errors=True)


def report(model: str, results: list[dict[str, Any]]) -> None:
    by = {r["server"]: r for r in results}
    head = ("server", "req/s", "p50 ms", "p99 ms", "errors", "CPU µs/req", "1000-row rows/s")
    print(f"\nmodel: {model}\n" + "{:30} {:>8} {:>7} {:>7} {:>6} {:>10} {:>16}".format(*head))
    for r in results:
        cells = (r["qps"], r["p50_ms"], r["p99_ms"], r["errors"], r["cpu_us"])
        cells += (r["batch_rows_per_s"],)
        print("{:30} {:8.0f} {:7.0f} {:7.0f} {:6.0f} {:10.0f} {:16.0f}".format(r["server"], *cells))
    ours = by["mlplat serve"]
    bare = by.get("bare ASGI (Booster.predict)")
    if bare:
        print(f"mlplat / bare ASGI QPS: {ours['qps'] / bare['qps']:.2f} (target >= 0.60)")
    if "mlflow models serve" in by:
        ratio = ours["qps"] / by["mlflow models serve"]["qps"]
        print(f"mlplat / mlflow QPS:    {ratio:.1f}x")
    print(f"mlplat p99: {ours['p99_ms']} ms (target < 10 ms); medians of interleaved rounds\n")


if __name__ == "__main__":
    main()
