"""Drift checks on 1,000,000 rows x 30 features against a reference profile (medians):
mlplat's checks (PSI, KS, null/out-of-range skew, inf) on the stored reference bins, a naive
per-column numpy PSI (quantiles + histograms recomputed per column), and, when a Python with
Evidently is given, Evidently's DataDriftPreset on the same data in the same run.

    .venv/bin/python benchmarks/bench_drift.py [--rows 1000000] [--repeats 5] \
        [--evidently-python /tmp/evvenv/bin/python]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mlplat.core import invariants
from mlplat.core.bounds import family_alpha
from mlplat.core.config.contract import LearnedConfig
from mlplat.core.config.ops import MonitoringConfig
from mlplat.core.invariants import Rules
from mlplat.core.reference_stats import build_profile, column_profile
from mlplat.stages.monitor import drift

FEATURES = 30
REFERENCE_ROWS = 100_000
EVIDENTLY = """
import sys, time, numpy as np, pandas as pd
FEATURES = int(sys.argv[3])
from evidently import Report
from evidently.presets import DataDriftPreset
ref = pd.DataFrame(np.load(sys.argv[1]), columns=[f"f{i}" for i in range(FEATURES)])
cur = pd.DataFrame(np.load(sys.argv[2]), columns=ref.columns)
t = time.perf_counter(); Report([DataDriftPreset()]).run(cur, ref); print(time.perf_counter() - t)
"""


def data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current: mixed shapes, half the current columns shifted, 1% NaN."""
    rng = np.random.default_rng(0)

    def draw(n: int, shift: float) -> np.ndarray:
        cols = [
            rng.normal(shift * (i % 2), 1 + i / 10, n)
            if i % 3
            else rng.exponential(1 + i / 10, n) + shift * (i % 2)
            for i in range(FEATURES)
        ]
        out = np.column_stack(cols)
        out[rng.random(out.shape) < 0.01] = np.nan
        return out

    return draw(REFERENCE_ROWS, 0.0), draw(rows, 0.2)


def naive_psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> list[float]:
    out = []
    for i in range(reference.shape[1]):
        r, c = reference[:, i], current[:, i]
        r, c = r[~np.isnan(r)], c[~np.isnan(c)]
        edges = np.quantile(r, np.linspace(0, 1, bins + 1))
        edges[0], edges[-1] = -np.inf, np.inf
        rs = np.maximum(np.histogram(r, edges)[0] / r.size, 1e-4)
        cs = np.maximum(np.histogram(c, edges)[0] / c.size, 1e-4)
        out.append(float(np.sum((cs - rs) * np.log(cs / rs))))
    return out


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--evidently-python", default=None)
    args = parser.parse_args()
    reference, current = data(args.rows)
    spec = {"features": [{"name": f"f{i}", "kind": "passthrough"} for i in range(FEATURES)]}
    profile = build_profile(spec, reference, np.zeros(REFERENCE_ROWS))
    cfg = MonitoringConfig()
    alpha = family_alpha(cfg.confidence, FEATURES + 1)
    checks = lambda: drift.feature_drift(spec, profile, current, {}, cfg, alpha)  # noqa: E731
    found = checks()
    drifting = sorted(
        f.name for f in found if any(c.breached and c.group == "drift" for c in f.checks)
    )
    print(
        f"{args.rows:,} rows x {FEATURES} features; {len(drifting)} columns drift "
        f"(expected {FEATURES // 2})"
    )
    ours = timed(checks, args.repeats)
    naive = timed(lambda: naive_psi(reference, current), args.repeats)
    print(f"mlplat drift checks (PSI+KS+skew)  median {ours:.3f} s")
    names = [f"f{i}" for i in range(FEATURES)]
    columns = column_profile(pd.DataFrame(reference, columns=names))
    frame = pd.DataFrame(current, columns=names)
    rules = Rules(LearnedConfig())
    learned = timed(lambda: invariants.check(columns, frame, rules), args.repeats)
    print(f"learned invariants (30 columns)   median {learned:.3f} s")
    print(f"naive per-column numpy PSI         median {naive:.3f} s  ({naive / ours:.1f}x)")
    if args.evidently_python:
        with tempfile.TemporaryDirectory() as tmp:
            np.save(Path(tmp) / "ref.npy", reference)
            np.save(Path(tmp) / "cur.npy", current)
            done = subprocess.run(
                [
                    args.evidently_python,
                    "-c",
                    EVIDENTLY,
                    str(Path(tmp) / "ref.npy"),
                    str(Path(tmp) / "cur.npy"),
                    str(FEATURES),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode:
            print(f"Evidently failed: {done.stderr.strip().splitlines()[-1:]}")
        else:
            seconds = float(done.stdout.strip().splitlines()[-1])
            print(f"Evidently DataDriftPreset (1 run)  {seconds:.3f} s  ({seconds / ours:.0f}x)")


if __name__ == "__main__":
    main()
