"""What the child-process probe adds to loading a model for a hot swap (issue 20, item 1).

    .venv/bin/python benchmarks/bench_model_load.py [--repeats 7]

Two bundles: the example's own model (`mlplat run +experiment=churn_baseline` in a temporary copy
of the example project: categorical and date features, 100 trees) and a bigger synthetic one
(50 float features, 2,000 trees of 63 leaves). For each, the medians of: `probe()` alone (a
fresh interpreter verifies, parses and scores the sample rows), the load a server did before
the probe (checksums, parse, compile, smoke prediction), and `load_model()` as it is now (both).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def example_bundle(work: Path) -> Path:
    from mlplat.example.churn import write

    project = work / "example"
    shutil.copytree(REPO / "conf", project / "conf")
    write(project / "data" / "churn.csv", rows=20_000)
    command = [sys.executable, "-m", "mlplat.cli.main", "run", "+experiment=churn_baseline"]
    subprocess.run(command, cwd=project, check=True, capture_output=True)
    return project / "artifacts" / "churn_baseline" / "bundle"


def big_bundle(work: Path, features: int = 50, trees: int = 2000) -> Path:
    import lightgbm
    import numpy as np
    import pandas as pd

    from mlplat.core.bundle import write_bundle
    from mlplat.core.config.contract import FeatureConfig
    from mlplat.core.features import fit_spec, raw_columns

    rng = np.random.default_rng(7)
    names = [f"x{i:02d}" for i in range(features)]
    frame = pd.DataFrame(rng.normal(size=(20_000, features)), columns=names)
    label = (frame.iloc[:, :5].sum(axis=1) + rng.normal(size=len(frame)) > 0).astype(int)
    spec = fit_spec({n: FeatureConfig(kind="passthrough", column=n) for n in names}, frame)
    params = {"objective": "binary", "verbosity": -1, "num_leaves": 63, "num_threads": 2}
    booster = lightgbm.train(params, lightgbm.Dataset(frame.to_numpy(), label), trees)
    booster.save_model(str(work / "big.txt"))
    columns = {n: {"dtype": "float", "nullable": False} for n in names}
    parts = {
        "feature_spec": spec,
        "schema": {"input_columns": raw_columns(spec), "strict": True, "columns": columns},
        "metadata": {"task": "binary", "model_name": "bench-big"},
        "sample": {"columns": names, "data": frame.head(20).to_numpy().tolist()},
    }
    write_bundle(work / "big", work / "big.txt", parts)
    return work / "big"


def without_probe(directory: Path) -> None:
    """The load before the probe existed: the same steps as `load_model`, in this process."""
    from mlplat.core.bundle import load_bundle
    from mlplat.core.fastfeatures import compile_spec
    from mlplat.serving.model import ServedModel, smoke_check, with_fast_predict
    from mlplat.serving.validation import compile_schema

    bundle = load_bundle(directory)
    model = ServedModel(
        bundle, "1", compile_schema(bundle.schema), compile_spec(bundle.feature_spec), "bench"
    )
    smoke_check(model)
    with_fast_predict(model)


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from mlplat.core.probe import probe
    from mlplat.serving.model import load_model

    with tempfile.TemporaryDirectory(prefix="mlplat-bench-load-") as tmp:
        bundles = {"example": example_bundle(Path(tmp)), "big": big_bundle(Path(tmp))}
        print("| bundle | model.txt | probe alone | load before | load_model now | added |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, directory in bundles.items():
            without_probe(directory)  # warm: imports and the page cache, as in a running server
            alone = median_seconds(lambda d=directory: probe(d), args.repeats)
            before = median_seconds(lambda d=directory: without_probe(d), args.repeats)
            now = median_seconds(
                lambda d=directory: load_model(d, "1", "bench", 100_000), args.repeats
            )
            size = (directory / "model.txt").stat().st_size / 1e6
            print(
                f"| {name} | {size:.1f} MB | {alone * 1000:.0f} ms | {before * 1000:.0f} ms "
                f"| {now * 1000:.0f} ms | {(now - before) * 1000:+.0f} ms |"
            )


if __name__ == "__main__":
    main()
