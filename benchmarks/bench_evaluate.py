"""Evaluate stage cost on the full example (30,000 rows, 6,000 holdout): what segments, bootstrap
intervals, discovery, baselines and the report add, and why the bootstrap uses numpy metrics.

    .venv/bin/python benchmarks/bench_evaluate.py --repeats 3

Prints medians of wall and CPU seconds per part. No target is declared for this stage; the
numbers let a reader see what `segments.bootstrap` and the report cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def sklearn_intervals(y: Any, p: Any, count: int) -> None:
    """The naive bootstrap: scikit-learn metrics on every resample."""
    import numpy as np

    from mlplat.stages.evaluate import metrics

    rng = np.random.default_rng(0)
    for _ in range(count):
        rows = rng.integers(0, y.size, size=y.size)
        metrics.binary(y[rows], p[rows])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=30_000)
    args = parser.parse_args()

    import lightgbm
    import pandas as pd

    from mlplat.core.features import raw_columns, transform
    from mlplat.core.io import read_json
    from mlplat.core.labels import encode_target
    from mlplat.core.stage import ArtifactPaths
    from mlplat.example.churn import write
    from mlplat.pipeline import graph
    from mlplat.pipeline.compose import compose
    from mlplat.stages.evaluate import baselines, bootstrap, curves, discovery, report, segments
    from mlplat.stages.evaluate import stage as evaluate

    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.symlink(repo / "conf", root / "conf")
        write(root / "data" / "churn.csv", rows=args.rows)
        os.chdir(root)
        cfg = compose(root, ["+experiment=churn_baseline"])
        paths = ArtifactPaths.for_config(cfg, root)
        for stage in graph.in_order()[:3]:  # validate, featurize, train
            stage.run(cfg, paths)
        spec = read_json(paths["feature_spec"])
        train, holdout = pd.read_parquet(paths["train_rows"]), pd.read_parquet(paths["test_rows"])
        scores = lightgbm.Booster(model_file=str(paths["model"])).predict(transform(spec, holdout))
        y = encode_target(spec["target"], holdout[cfg.data.target])
        task, seg = cfg.model.task, cfg.segments
        result = evaluate.evaluate_holdout(cfg, spec, train, holdout, scores)
        found = curves.curves(task, y, scores)
        gains = {"a": 1.0}
        y_train = encode_target(spec["target"], train[cfg.data.target])
        base_scores = baselines.predictions(
            task, spec, train, y_train, transform(spec, holdout), 2, cfg.seed
        )
        parts: dict[str, Callable[[], Any]] = {
            "evaluate stage (all of it)": lambda: evaluate.run(cfg, paths),
            "declared segments + intervals": lambda: segments.evaluate(
                holdout, y, scores, task, 0.5, seg, cfg.seed
            ),
            "weak-segment discovery": lambda: discovery.scan(
                holdout, y, scores, task, 0.5, raw_columns(spec), seg.discovery
            ),
            "baselines (constant + logistic)": lambda: baselines.predictions(
                task, spec, train, y_train, transform(spec, holdout), 2, cfg.seed
            ),
            "lift intervals (paired bootstrap, both baselines)": lambda: evaluate.lift_intervals(
                cfg, "auc", y, scores, base_scores
            ),
            "HTML report (5 plots)": lambda: report.render(
                "bench", result, report.images(result, found, gains)
            ),
            f"bootstrap {seg.bootstrap}x overall, numpy metrics": lambda: bootstrap.intervals(
                task, y, scores, 0.5, seg.bootstrap, 0.95, 0
            ),
            f"bootstrap {seg.bootstrap}x overall, scikit-learn metrics": lambda: sklearn_intervals(
                y, scores, seg.bootstrap
            ),
        }
        supported = sum(1 for r in result["segments"] if r["supported"])
        print(
            f"holdout rows: {len(holdout)}; declared slices: {len(result['segments'])} "
            f"({supported} with enough support); bootstrap: {seg.bootstrap}; "
            f"discovery tested {result['discovery']['tested']} slices"
        )
        print(f"{'part':<48} {'wall s':>8} {'CPU s':>8}")
        for name, fn in parts.items():
            wall, cpu = timed(fn, args.repeats)
            print(f"{name:<48} {wall:8.3f} {cpu:8.3f}")


if __name__ == "__main__":
    main()
