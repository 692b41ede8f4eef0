"""Scaling (issue 10): the train stage on the local engine vs lightgbm.dask on a LocalCluster, and
optionally `mlplat run` against the embedded sqlite store vs an MLflow server on PostgreSQL.

    .venv/bin/python benchmarks/bench_scale.py --rows 50000 --rounds 100 --repeats 3
    .venv/bin/python benchmarks/bench_scale.py --tracking "$MLPLAT_TEST_TRACKING_URI" --runs 2

A LocalCluster on one 2-core machine shows the overhead of the distributed path (scheduler,
partition placement, LightGBM's socket sync), not a speed-up: that needs more machines.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import MLPLAT, make_project

FAST = ["+experiment=churn_baseline", "segments=none", "model.early_stopping_rounds=null"]


def cli(root: Path, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([*MLPLAT, *args], cwd=root, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return time.perf_counter() - started


def holdout_auc(cfg: Any, paths: Any, spec: dict[str, Any], booster: Any) -> tuple[float, Any]:
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from mlplat.core.features import transform
    from mlplat.core.labels import encode_target

    frame = pd.read_parquet(paths["test_rows"])
    scores = booster.predict(transform(spec, frame))
    return float(roc_auc_score(encode_target(spec["target"], frame[cfg.data.target]), scores)), (
        scores
    )


def engines(rows: int, rounds: int, repeats: int, threads: int) -> None:
    import numpy as np

    from mlplat.core.io import read_json
    from mlplat.core.stage import ArtifactPaths
    from mlplat.pipeline.compose import compose
    from mlplat.stages.train import stage as train

    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "proj", rows=rows)
        overrides = [*FAST, f"model.num_boost_round={rounds}", "registry.register=false"]
        overrides.append(f"model.params.num_threads={threads}")  # local only; dask: 1 per worker
        cli(root, "run", *overrides)  # featurized rows on disk
        results: dict[str, dict[str, Any]] = {}
        for engine in ("local", "dask"):
            cfg = compose(root, [*overrides, f"model.engine={engine}"])
            paths = ArtifactPaths.for_config(cfg, root)
            spec = read_json(paths["feature_spec"])
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                booster, _ = train.train_booster(cfg, spec, paths)
                times.append(time.perf_counter() - started)
            auc, scores = holdout_auc(cfg, paths, spec, booster)
            results[engine] = {"median_s": statistics.median(times), "auc": auc, "scores": scores}
        local, dask = results["local"], results["dask"]
        print(f"rows={rows} rounds={rounds} repeats={repeats} local threads={threads}")
        for name, r in results.items():
            print(f"  {name:<5} train median {r['median_s']:.2f}s  holdout AUC {r['auc']:.4f}")
        diff = np.abs(dask["scores"] - local["scores"])
        print(
            f"  |AUC delta| {abs(dask['auc'] - local['auc']):.4f}  "
            f"r {np.corrcoef(dask['scores'], local['scores'])[0, 1]:.4f}  "
            f"mean |p delta| {diff.mean():.4f}  max {diff.max():.4f}"
        )


def tracking(uri: str, runs: int) -> None:
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = make_project(Path(tmp) / "sqlite", rows=4000)
        server = make_project(Path(tmp) / "server", rows=4000)
        path = server / "conf/tracking/default.yaml"
        tree = yaml.safe_load(path.read_text())
        tree.update({"uri": uri, "experiment": f"bench-{uuid.uuid4().hex[:8]}"})
        path.write_text(yaml.safe_dump(tree))
        args = ["run", *FAST, "model.num_boost_round=50", "registry.register=false"]
        times: dict[str, list[float]] = {"sqlite": [], "server": []}
        for _ in range(runs):  # interleaved, so load elsewhere hits both alike
            times["sqlite"].append(cli(sqlite, *args))
            times["server"].append(cli(server, *args))
        for name, values in times.items():
            print(f"  mlplat run on {name:<6}: median {statistics.median(values):.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tracking", help="an MLflow server URI: also time runs against it")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="local engine's num_threads")
    args = parser.parse_args()
    engines(args.rows, args.rounds, args.repeats, args.threads)
    if args.tracking:
        tracking(args.tracking, args.runs)


if __name__ == "__main__":
    main()
