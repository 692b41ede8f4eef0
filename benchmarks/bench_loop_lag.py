"""Why large requests are scored in worker processes and not only in threads: event-loop lag.

    .venv/bin/python benchmarks/bench_loop_lag.py [--seconds 6]

Trains the example model (as bench_serving.py does) and builds a 100,000-row `dataframe_split`
body (9.9 MB, within the default limit). Then, for each stage of the request path, two threads
run that stage back to back while the main thread sleeps 5 ms in a loop and records how late it
wakes up: what an event loop answering `/health` would wait. Last, the server's own arrangement:
three such requests through `mlplat.serving.offload` (parsing, validation and features in worker
processes, prediction and the response in threads) while an asyncio task measures the same lag.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from bench_serving import LOAD_ROWS, example_project

TICK = 0.005


def lag_summary(name: str, lags: list[float]) -> dict[str, Any]:
    ordered = sorted(lags)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)  # noqa: E731
    row = {"stage": name, "ticks": len(ordered), "p50_ms": pick(0.5), "p99_ms": pick(0.99)}
    row["max_ms"] = round(ordered[-1] * 1000, 1)
    print(json.dumps(row), flush=True)
    return row


def in_threads(name: str, work: Callable[[], Any], seconds: float) -> dict[str, Any]:
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            work()

    threads = [threading.Thread(target=loop) for _ in range(2)]
    for thread in threads:
        thread.start()
    lags, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        time.sleep(TICK)
        lags.append(time.perf_counter() - started - TICK)
    stop.set()
    for thread in threads:
        thread.join()
    return lag_summary(f"two threads: {name}", lags)


async def offloaded(model: Any, body: bytes) -> dict[str, Any]:
    from mlplat.serving.metrics import Metrics
    from mlplat.serving.offload import Contract, Offload, Prepared
    from mlplat.serving.payloads import Protocol
    from mlplat.serving.scoring import Target, finish

    bundle, metrics = model.bundle, Metrics()
    contract = Contract(bundle.sha256, bundle.schema, bundle.feature_spec, LOAD_ROWS)
    target, pool = Target.of(bundle), Offload(2)
    await pool.start()

    def predict(prepared: Prepared) -> Any:
        raw = model.predict_matrix(prepared.matrix)
        return finish(model, target, Protocol.MLFLOW, raw, None, None, metrics)

    async def one() -> None:
        prepared = await pool.prepare(contract, Protocol.MLFLOW, "application/json", body, False)
        await pool.run(predict, prepared)

    lags: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            lags.append(time.perf_counter() - started - TICK)

    ticker = asyncio.create_task(tick())
    for _ in range(2):
        await asyncio.gather(*(one() for _ in range(3)))
    done.set()
    await ticker
    pool.close()
    return lag_summary("server: 3 x 2 requests via worker processes + threads", lags)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    from mlplat.serving.model import load_model
    from mlplat.serving.payloads import mlflow_table

    root = example_project(Path(tempfile.mkdtemp(prefix="mlplat-lag-")))
    bundle = root / "artifacts" / "churn_baseline" / "bundle"
    sample = json.loads((bundle / "sample.json").read_text())
    rows = (sample["data"] * LOAD_ROWS)[:LOAD_ROWS]
    body = orjson.dumps({"dataframe_split": {"columns": sample["columns"], "data": rows}})
    model = load_model(bundle, None, str(bundle), LOAD_ROWS)
    table = mlflow_table(body)
    typed = model.validator.validate(table.columns, table.n_rows, False)
    matrix = model.features(typed, table.n_rows)
    stages = {
        "orjson.loads": lambda: orjson.loads(body),
        "validate": lambda: model.validator.validate(table.columns, table.n_rows, False),
        "features": lambda: model.features(typed, table.n_rows),
        "predict": lambda: model.predict_matrix(matrix),
    }
    print(f"body: {len(body):,} bytes, {LOAD_ROWS:,} rows, {matrix.shape[1]} features")
    in_threads("nothing (idle baseline)", lambda: time.sleep(0.01), args.seconds)
    for name, work in stages.items():
        in_threads(name, work, args.seconds)
    asyncio.run(offloaded(model, body))


if __name__ == "__main__":
    main()
