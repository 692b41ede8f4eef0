"""Issue 6 benchmarks: parallel sweeps, cost-profiler overhead, `mlplat run` vs bare LightGBM.

    .venv/bin/python benchmarks/bench_cost_sweeps.py            # prints a markdown table
    .venv/bin/python benchmarks/bench_cost_sweeps.py --repeats 3 --sweep-repeats 1

1. An 8-trial sweep (num_leaves x learning_rate) of the example experiment as it is declared
   (segments, gates, the best trial registered), fresh sqlite store each time: Hydra's basic
   launcher (sequential, in process) vs `hydra/launcher=joblib` with 2 jobs, alternated.
   Trials use `model.params.num_threads=1` in both, so two parallel trials do not oversubscribe
   the 2 cores. Target: >= 1.6x.
2. Profiler overhead: the train and evaluate stages in process, with and without the cost
   sampler around them, alternated; plus the measured cost of one sample. Target: < 3%.
3. `mlplat run` (a subprocess, end to end) vs a bare script that reads the same CSV, computes
   the same 16 features by hand, splits the same way, trains LightGBM with the same parameters
   and early stopping and predicts the holdout (checked: the same holdout AUC). Three variants:
   the example as declared, without its segments, and the same train and predict (no segments,
   no registration). Target: < 1.3x.
   Two references say what any MLflow-tracked run must cost on this machine: the bare script
   that also logs its parameters, AUC and model file to a sqlite store (`bare_mlflow`), and the
   MLflow half alone (`mlflow_only`: import, store, one run with the same logging). A tracked
   run does the bare script's work and MLflow's: on N cores, split over processes, it takes at
   least max(bare wall, (bare CPU + MLflow CPU) / N); in one process it takes what `bare_mlflow`
   takes. `floor` is the smaller of the two.
"""

from __future__ import annotations

import argparse
import atexit
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MLPLAT = [sys.executable, "-m", "mlplat.cli.main"]
SWEEP = [
    "run",
    "-m",
    "+experiment=churn_baseline",
    "model.params.num_leaves=7,15,31,63",
    "model.params.learning_rate=0.05,0.1",
    "model.params.num_threads=1",
]
# What a data scientist writes without a platform: the example's 16 features, split, model and
# holdout predictions exactly as `mlplat run +experiment=churn_baseline` makes them, by hand in
# pandas. The benchmark checks both score the holdout with the same AUC: the same work was done.
BARE = """
import sys
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

frame = pd.read_csv(sys.argv[1], low_memory=False)
frame = frame[frame["churn"].notna()].reset_index(drop=True)
rows = np.arange(len(frame))
split = train_test_split(rows, test_size=0.2, random_state=42, stratify=frame["churn"])
train_rows, test_rows = split
train, test = frame.iloc[np.sort(train_rows)], frame.iloc[np.sort(test_rows)]
categorical = ["region", "plan", "contract", "payment_method"]
levels = {c: sorted(train[c].dropna().astype(str).unique()) for c in categorical}
plan_share = train["plan"].dropna().astype(str).value_counts(normalize=True)


def features(part):
    signup = pd.to_datetime(part["signup_date"], errors="coerce")
    out = {
        "tenure_days": (pd.Timestamp("2024-07-01") - signup).dt.total_seconds() / 86400.0,
        "signup_month": signup.dt.month.astype(float),
    }
    for column in categorical:
        codes = pd.Categorical(part[column].astype(str), categories=levels[column]).codes
        out[column] = np.where(codes < 0, np.nan, codes)
    out["plan_frequency"] = part["plan"].astype(str).map(plan_share).fillna(0.0)
    out["num_lines"] = part["num_lines"]
    out["monthly_charges"] = part["monthly_charges"]
    out["total_charges_log"] = np.log1p(part["total_charges"].clip(lower=0))
    ratio = part["total_charges"] / part["monthly_charges"]
    out["charges_ratio"] = ratio.where(np.isfinite(ratio))
    out["data_usage_gb"] = part["data_usage_gb"].clip(0, 200)
    out["support_calls"] = part["support_calls"]
    out["dropped_calls"] = part["dropped_calls"]
    age = part["age"].to_numpy(dtype=float)
    out["age_band"] = np.where(np.isnan(age), np.nan, np.digitize(age, [25, 35, 50, 65]))
    out["paperless_billing"] = part["paperless_billing"].astype(float)
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in out.items()})


x_train, y_train = features(train), train["churn"].to_numpy(dtype=float)
valid = np.random.default_rng(42).random(len(y_train)) < 0.1
params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 40,
          "feature_fraction": 0.9, "bagging_fraction": 0.9, "bagging_freq": 1, "lambda_l2": 1.0,
          "seed": 42, "deterministic": True, "num_threads": 2, "verbosity": -1}
names = list(x_train.columns)
fit = lgb.Dataset(x_train.to_numpy()[~valid], y_train[~valid], feature_name=names,
                  categorical_feature=categorical)
stop = lgb.Dataset(x_train.to_numpy()[valid], y_train[valid], reference=fit)
booster = lgb.train(params, fit, num_boost_round=300, valid_sets=[stop],
                    callbacks=[lgb.early_stopping(30, verbose=False)])
predictions = booster.predict(features(test).to_numpy(), num_iteration=booster.best_iteration)
pd.DataFrame({"p": predictions}).to_parquet(sys.argv[2])
auc = roc_auc_score(test["churn"], predictions)
print(f"auc={auc:.12f}")
"""
# The same script, tracked as a data scientist would track it by hand: its parameters, the
# holdout AUC and the model file, in a sqlite store (the last argument).
TRACKING = """
import mlflow

mlflow.set_tracking_uri(sys.argv[-1])
mlflow.set_experiment("bare")
with mlflow.start_run():
    mlflow.log_params(params)
    mlflow.log_metric("auc", auc)
    mlflow.log_artifact("model.txt")
"""
BARE_MLFLOW = BARE + '\nbooster.save_model("model.txt")\n' + TRACKING
# MLflow's part of it alone (its imports, the store, one run with the same logging): the fixed
# cost of tracking, whatever the size of the data.
MLFLOW_ONLY = (
    """
import sys
from pathlib import Path

params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "seed": 42}
auc = 0.5
Path("model.txt").write_text("tree\\n" * 10000)
"""
    + TRACKING
)
# The example as declared, then without its declared slices, then the same train and predict
# as the bare script: validation, tracking, overall metrics with intervals, baselines, the
# report and the bundle, but no segments and no registration.
VARIANTS = {
    "full": ["+experiment=churn_baseline"],
    "no_segments": ["+experiment=churn_baseline", "segments=none"],
    "train_predict": ["+experiment=churn_baseline", "segments=none", "registry.register=false"],
}


def project(rows: int | None) -> Path:
    """A fresh copy of the example project (the example's data/churn.csv unless `rows`)."""
    scratch = tempfile.mkdtemp(prefix="mlplat-bench-cost-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    root = Path(scratch) / "proj"
    shutil.copytree(REPO / "conf", root / "conf")
    if rows:
        from mlplat.example.churn import write

        write(root / "data" / "churn.csv", rows=rows)
    else:
        (root / "data").mkdir()
        shutil.copy(REPO / "data" / "churn.csv", root / "data" / "churn.csv")
    return root


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (Linux's /proc/stat: user, nice, system,
    irq, softirq) since boot."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed(command: list[str], cwd: Path, machine: bool = False) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree): CPU shows the work under outside load.

    `machine`: the CPU seconds of the whole machine instead, for commands whose processes are
    not all reaped by the command (a joblib sweep's workers are children of multiprocessing's
    fork server, which outlives the command's wait); exact on an otherwise idle machine."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")
    }
    before, busy = resource.getrusage(resource.RUSAGE_CHILDREN), machine_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after, busy = resource.getrusage(resource.RUSAGE_CHILDREN), machine_cpu() - busy
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, busy if machine else cpu


def median_of(repeats: int, measure: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """Medians of wall and of CPU seconds."""
    samples = [measure() for _ in range(repeats)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def bench_sweeps(repeats: int, rows: int) -> dict[str, float]:
    """Sequential and joblib sweeps alternated, so both see the same machine; medians.

    Also what bounds the speed-up: a sequential sweep keeps `seq_cores` cores busy on average
    (the machine's CPU seconds over the wall time: the evaluate stage's bootstrap thread and
    Arrow's writer threads run beside the main thread), so N processes doing the same CPU work
    finish at best N / seq_cores times sooner (`ceiling`); `par_busy` is the share of the N
    cores busy during the parallel sweep."""
    pairs = []
    for _ in range(repeats):
        sequential = timed([*MLPLAT, *SWEEP], project(rows), machine=True)
        parallel = timed(
            [*MLPLAT, *SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
            project(rows),
            machine=True,
        )
        pairs.append((sequential, parallel))
        print(
            f"  sweep pair: sequential {sequential[0]:.1f}s [{sequential[1]:.1f}s CPU], "
            f"joblib {parallel[0]:.1f}s [{parallel[1]:.1f}s CPU]",
            flush=True,
        )
    cores = os.cpu_count() or 1
    return {
        "sequential_s": statistics.median(s[0] for s, _ in pairs),
        "joblib2_s": statistics.median(p[0] for _, p in pairs),
        "sequential_cpu_s": statistics.median(s[1] for s, _ in pairs),
        "joblib2_cpu_s": statistics.median(p[1] for _, p in pairs),
        "speedup": statistics.median(s[0] / p[0] for s, p in pairs),
        "seq_cores": statistics.median(s[1] / s[0] for s, _ in pairs),
        "ceiling": statistics.median(cores * s[0] / s[1] for s, _ in pairs),
        "par_busy": statistics.median(p[1] / p[0] / cores for _, p in pairs),
    }


def bench_overhead(repeats: int, rows: int) -> dict[str, float]:
    """train + evaluate in process, bare vs inside RunCost.stage (sampler thread on)."""
    from mlplat.core import cost
    from mlplat.core.stage import ArtifactPaths
    from mlplat.pipeline import graph
    from mlplat.pipeline.compose import compose
    from mlplat.pipeline.cost import RunCost

    root = project(rows)
    os.chdir(root)
    cfg = compose(root, ["+experiment=churn_baseline", "segments=none"])
    paths = ArtifactPaths.for_config(cfg, root)
    stages = graph.in_order()
    for stage in stages[:2]:  # validate, featurize: the inputs of train
        stage.run(cfg, paths)
    work = [s for s in stages if s.name in ("train", "evaluate")]

    def bare() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for stage in work:
            stage.run(cfg, paths)
        return time.perf_counter() - wall, time.process_time() - cpu

    def profiled() -> tuple[float, float]:
        run_cost = RunCost(cfg.budget)
        wall, cpu = time.perf_counter(), time.process_time()
        for stage in work:
            with run_cost.stage(stage.name):
                stage.run(cfg, paths)
        return time.perf_counter() - wall, time.process_time() - cpu

    def abba(first: Callable[[], tuple[float, float]], second: Callable[[], tuple[float, float]]):
        out = []
        for i in range(repeats):  # ABBA: each mode goes first in half the pairs
            if i % 2:
                b, a = second(), first()
                out.append((a, b))
            else:
                out.append((first(), second()))
        return out

    def pct(runs: list[tuple[tuple[float, float], ...]], i: int) -> float:
        """Median of the per-pair ratios: each pair ran back to back, on one machine state."""
        return 100 * (statistics.median(p[1][i] / p[0][i] for p in runs) - 1)

    bare()  # warm-up: imports, page cache
    pairs = abba(bare, profiled)
    control = abba(bare, bare)  # the same code twice: how far apart noise alone puts two runs
    sampler = cost.Sampler()
    started = time.perf_counter()
    for _ in range(200):
        sampler.sample()
    per_sample = (time.perf_counter() - started) / 200
    bare_s, profiled_s = (statistics.median(p[i][0] for p in pairs) for i in (0, 1))
    # CPU time of the whole process (every thread, the sampler's too) is robust to other load
    bare_cpu, profiled_cpu = (statistics.median(p[i][1] for p in pairs) for i in (0, 1))
    return {
        "bare_s": bare_s,
        "profiled_s": profiled_s,
        "overhead_pct": pct(pairs, 0),
        "bare_cpu_s": bare_cpu,
        "profiled_cpu_s": profiled_cpu,
        "cpu_overhead_pct": pct(pairs, 1),
        "noise_pct": pct(control, 0),
        "cpu_noise_pct": pct(control, 1),
        "sample_ms": per_sample * 1000,
        "sampling_cpu_pct": 100 * per_sample / cost.SAMPLE_SECONDS,
        "sample_hz": 1 / cost.SAMPLE_SECONDS,
    }


def _auc(root: Path) -> float:
    import json

    metrics = json.loads((root / "artifacts/churn_baseline/evaluate/metrics.json").read_text())
    return float(metrics["overall"]["auc"])


def bench_run_vs_bare(repeats: int, rows: int) -> dict[str, dict[str, float]]:
    """The bare script, its two MLflow references and each variant alternated, `repeats`
    rounds; each variant in its own project, after one untimed run of everything (the stores
    exist and a champion is registered, as on a team's second run). Medians of wall, CPU, and of
    the per-round wall ratio to the bare script; `floor` is the per-round floor (docstring)."""
    source = project(rows)
    scripts = {"bare": BARE, "bare_mlflow": BARE_MLFLOW, "mlflow_only": MLFLOW_ONLY}
    for name, text in scripts.items():
        (source / f"{name}.py").write_text(text)
    store = f"sqlite:///{source / 'mlflow.db'}"
    commands = {
        "bare": ([sys.executable, "bare.py", "data/churn.csv", "bare.parquet"], source),
        "bare_mlflow": (
            [sys.executable, "bare_mlflow.py", "data/churn.csv", "bare.parquet", store],
            source,
        ),
        "mlflow_only": ([sys.executable, "mlflow_only.py", store], source),
        **{name: ([*MLPLAT, "run", *args], project(rows)) for name, args in VARIANTS.items()},
    }
    for command, cwd in commands.values():
        timed(command, cwd)
    out = subprocess.run(
        [sys.executable, "bare.py", "data/churn.csv", "bare.parquet"],
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    )
    bare_auc = float(out.stdout.strip().removeprefix("auc="))
    for name in VARIANTS:  # the same features, split and model: the same AUC
        root = commands[name][1]
        if abs(_auc(root) - bare_auc) > 1e-9:
            raise SystemExit(f"{name}: AUC {_auc(root)} differs from the bare script's {bare_auc}")
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, (command, cwd) in commands.items():
            samples[name].append(timed(command, cwd))
        print(
            "  round: " + ", ".join(f"{k} {v[-1][0]:.1f}s" for k, v in samples.items()), flush=True
        )
    cores = os.cpu_count() or 1
    samples["floor"] = [
        (min(tracked[0], max(bare[0], (bare[1] + alone[1]) / cores)), bare[1] + alone[1])
        for bare, tracked, alone in zip(
            samples["bare"], samples["bare_mlflow"], samples["mlflow_only"], strict=True
        )
    ]
    return {
        name: {
            "wall_s": statistics.median(w for w, _ in runs),
            "cpu_s": statistics.median(c for _, c in runs),
            "ratio": statistics.median(
                w / b for (w, _), (b, _) in zip(runs, samples["bare"], strict=True)
            ),
        }
        for name, runs in samples.items()
    }


def row(name: str, figures: str, target: str) -> None:
    print(f"| {name} | {figures} | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep-repeats", type=int, default=1)
    parser.add_argument(
        "--rows",
        type=int,
        default=0,
        help="rows of a generated table for every part (0: the example's 30,000)",
    )
    parser.add_argument("--only", choices=("sweeps", "overhead", "run"), default=None)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print("| benchmark | figures (medians) | target |\n| --- | --- | --- |")
    if args.only in (None, "overhead"):
        o = bench_overhead(args.repeats, args.rows)
        row(
            f"profiler overhead (train+evaluate, {args.repeats} pairs)",
            f"wall {o['bare_s']:.2f}s vs {o['profiled_s']:.2f}s: **{o['overhead_pct']:+.1f}%**; "
            f"CPU {o['bare_cpu_s']:.2f}s vs {o['profiled_cpu_s']:.2f}s: "
            f"**{o['cpu_overhead_pct']:+.1f}%**; one sample {o['sample_ms']:.2f} ms = "
            f"{o['sampling_cpu_pct']:.2f}% of a core at {o['sample_hz']:g} Hz; the same code "
            f"against itself (noise): wall {o['noise_pct']:+.1f}%, CPU {o['cpu_noise_pct']:+.1f}%",
            "< 3%",
        )
    if args.only in (None, "run"):
        r = bench_run_vs_bare(args.repeats, args.rows)
        figures = "; ".join(
            f"{name} {v['wall_s']:.1f}s [{v['cpu_s']:.1f}s]"
            + ("" if name in ("bare", "mlflow_only") else f": **{v['ratio']:.2f}x**")
            for name, v in r.items()
        )
        row(
            f"`mlplat run` vs bare LightGBM ({args.rows or 30000} rows), wall [CPU]; the floor "
            "of any MLflow-tracked run",
            figures,
            "< 1.3x",
        )
    if args.only in (None, "sweeps"):
        s = bench_sweeps(args.sweep_repeats, args.rows)
        row(
            f"8-trial sweep, {args.rows or 30000} rows",
            f"sequential {s['sequential_s']:.1f}s [{s['sequential_cpu_s']:.1f}s], joblib 2 jobs "
            f"{s['joblib2_s']:.1f}s [{s['joblib2_cpu_s']:.1f}s]: **{s['speedup']:.2f}x**; "
            f"sequential keeps {s['seq_cores']:.2f} cores busy (ceiling {s['ceiling']:.2f}x), "
            f"joblib {100 * s['par_busy']:.0f}% of the cores",
            ">= 1.6x",
        )


if __name__ == "__main__":
    main()
