"""Does compiled tree inference pay off for serving? lleaves vs LightGBM on the serving model.

    python -m venv /tmp/trees && /tmp/trees/bin/pip install -e '.[serve]' lleaves 'llvmlite<0.45'
    /tmp/trees/bin/python benchmarks/bench_compiled_trees.py

(a separate virtualenv: lleaves needs llvmlite<0.45 and is not an mlplat dependency).

The model is the one `bench_serving.py` serves (30 float features, 100 trees). Prints the median
time to predict 1 row and 1,000 rows with `Booster.predict`, mlplat's prebuilt predictor and
lleaves, the compile time, and the largest difference between the outputs.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench_serving import make_bundle  # the served model (this script's directory is on sys.path)

from mlplat.serving.model import make_predict


def median_us(call: Callable[[], object], repeats: int) -> float:
    call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def main() -> None:
    try:
        import lleaves
    except ImportError:
        sys.exit("needs lleaves: see this script's docstring (a separate virtualenv)")
    import lightgbm

    bundle = make_bundle(Path(tempfile.mkdtemp(prefix="mlplat-bench-trees-")))
    model_file = str(bundle / "model.txt")
    booster = lightgbm.Booster(model_file=model_file)
    row = np.random.default_rng(3).normal(size=(1, booster.num_feature()))
    batch = np.repeat(row, 1000, axis=0) + np.random.default_rng(4).normal(size=(1000, 1)) * 0.1
    started = time.perf_counter()
    compiled = lleaves.Model(model_file=model_file)
    compiled.compile()
    print(f"lleaves compile: {time.perf_counter() - started:.1f} s")
    prebuilt = make_predict(booster)
    rows = (("1 row", row, 3000), ("1,000 rows", batch, 300))
    for name, matrix, repeats in rows:
        lgb = median_us(lambda m=matrix: booster.predict(m, num_threads=1), repeats)
        fast = median_us(lambda m=matrix: prebuilt(m, 1), repeats)
        ll = median_us(lambda m=matrix: compiled.predict(m, n_jobs=1), repeats)
        print(
            f"{name}: Booster.predict {lgb:.1f} us, prebuilt predictor {fast:.1f} us, "
            f"lleaves {ll:.1f} us ({lgb / ll:.1f}x)"
        )
    diff = np.max(np.abs(booster.predict(batch) - compiled.predict(batch)))
    print(f"largest output difference: {diff:.2e}")


if __name__ == "__main__":
    main()
