"""Score the holdout: overall and per-segment metrics with intervals, baselines, weak segments,
curves and the HTML report. Everything DVC and MLflow read is written here, atomically."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlplat.core import dataio
from mlplat.core.features import raw_columns, transform
from mlplat.core.io import atomic_dir, atomic_path, read_json, write_json, write_text
from mlplat.core.labels import classes_of, encode_target
from mlplat.core.metric_names import PRIMARY
from mlplat.core.split import period
from mlplat.stages.evaluate import (
    baselines,
    bootstrap,
    curves,
    discovery,
    fast,
    metrics,
    notes,
    report,
    segments,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths


# metrics.json: what DVC and MLflow read (DVC shows the numbers and strings, not the lists)
METRICS_KEYS = (
    "task",
    "target",
    "rows",
    "data",
    "primary_metric",
    "overall",
    "overall_ci",
    "baselines",
    "lift",
    "lift_ci",
    "best_baseline",
    "warnings",
)


def classes(spec: dict[str, Any]) -> int:
    return len(classes_of(spec["target"])) or 2


def _lift(
    task: str, metric: str, overall: dict[str, float], base: dict[str, dict[str, float]]
) -> dict[str, float]:
    return {
        name: bootstrap.better_by(metric, overall[metric], found[metric])
        for name, found in base.items()
        if metric in found and metric in overall
    }


def _finite(interval: tuple[float, float]) -> list[float] | None:
    return list(interval) if all(v == v for v in interval) else None


def lift_intervals(
    cfg: PlatformConfig, metric: str, y: np.ndarray, scores: np.ndarray, base: dict[str, Any]
) -> dict[str, list[float] | None]:
    """Baseline -> paired bootstrap interval of the model's lift over it (the lift gates block
    only when the whole interval is below the minimum, as the champion gate does)."""
    seg = cfg.segments
    return {
        name: _finite(
            bootstrap.paired_delta(
                cfg.model.task,
                metric,
                y,
                scores,
                found,
                cfg.model.threshold,
                seg.bootstrap,
                seg.confidence,
                cfg.seed,
            )[1]
        )
        for name, found in base.items()
    }


def best_baseline(lift: dict[str, float]) -> str | None:
    """The baseline that is hardest to beat: the smallest lift over it."""
    return min(lift, key=lambda name: lift[name]) if lift else None


@dataclass(frozen=True)
class Resampling:
    """The bootstrap half of an evaluation (overall intervals, segment rows) on a thread: its
    numpy loops release the GIL, so on a second core they run beside the baselines (numpy and
    BLAS too) instead of before them."""

    overall: Future[dict[str, bootstrap.Interval]]
    segments: Future[list[dict[str, Any]]]

    @classmethod
    def start(
        cls,
        pool: Executor,
        cfg: PlatformConfig,
        holdout: pd.DataFrame,
        y: np.ndarray,
        scores: np.ndarray,
    ) -> Resampling:
        task, threshold, seg = cfg.model.task, cfg.model.threshold, cfg.segments
        return cls(
            pool.submit(
                bootstrap.intervals,
                task,
                y,
                scores,
                threshold,
                seg.bootstrap,
                seg.confidence,
                cfg.seed,
            ),
            pool.submit(segments.evaluate, holdout, y, scores, task, threshold, seg, cfg.seed),
        )


@contextmanager
def bootstrap_thread() -> Iterator[Executor]:
    """The thread `Resampling` runs on, with BLAS held to one thread of its own meanwhile.

    That thread and this one both call BLAS (the bootstrap's count products, the linear
    baseline's fit); each call would wake BLAS's own pool of threads, which then spin for cores
    the other thread holds. On 2 cores, at 1M rows, the bootstrap took 1.5 s instead of 0.7 s and
    the linear baseline 1.4 s instead of 0.5 s."""
    from threadpoolctl import threadpool_limits

    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlplat-bootstrap") as pool,
    ):
        yield pool


def evaluate_holdout(
    cfg: PlatformConfig,
    spec: dict[str, Any],
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    scores: np.ndarray,
    matrix: np.ndarray | None = None,
    resampling: Resampling | None = None,
) -> dict[str, Any]:
    """All numbers of one evaluation, as JSON-ready data (`matrix`: the holdout's features, and
    `resampling`: its bootstrap, if the caller started them already)."""
    task, threshold, seg = cfg.model.task, cfg.model.threshold, cfg.segments
    y = encode_target(spec["target"], holdout[cfg.data.target])
    if resampling is None:
        with bootstrap_thread() as pool:
            started = Resampling.start(pool, cfg, holdout, y, scores)
            return evaluate_holdout(cfg, spec, train, holdout, scores, matrix, started)
    overall = metrics.compute(task, y, scores, threshold)
    y_train = encode_target(spec["target"], train[cfg.data.target])
    x_test = transform(spec, holdout) if matrix is None else matrix
    base_scores = baselines.predictions(task, spec, train, y_train, x_test, classes(spec), cfg.seed)
    base = {name: fast.compute(task, y, p, threshold) for name, p in base_scores.items()}
    primary = cfg.gates.lift_metric or PRIMARY[task]
    lift = _lift(task, primary, overall, base)
    columns = [c for c in raw_columns(spec) if c in holdout.columns]
    found = discovery.scan(holdout, y, scores, task, threshold, columns, seg.discovery)
    measured = resampling.segments.result()
    return {
        "task": task,
        "target": spec["target"],
        "rows": len(holdout),
        "data": {
            "missing_target_rows": int(spec.get("rows", {}).get("missing_target", 0)),
            "training_period": period(train, cfg.data.timestamp_column),
            "holdout_period": period(holdout, cfg.data.timestamp_column),
        },
        "primary_metric": primary,
        "overall": overall,
        "overall_ci": {k: list(v) for k, v in resampling.overall.result().items()},
        "baselines": base,
        "lift": lift,
        "lift_ci": lift_intervals(cfg, primary, y, scores, base_scores),
        "best_baseline": best_baseline(lift),
        "warnings": [
            *notes.dropped_rows(spec),
            *notes.unpredicted_classes(spec["target"], y, scores, threshold),
            *notes.behind_baseline(primary, overall, base),
            *notes.thin_segments(measured),
        ],
        "segments": measured,
        "discovery": found,
    }


def importance(booster: Any) -> dict[str, float]:
    gains = booster.feature_importance(importance_type="gain")
    return {name: float(g) for name, g in zip(booster.feature_name(), gains, strict=True)}


def write_predictions(target: Any, y: np.ndarray, scores: np.ndarray) -> None:
    import pandas as pd

    predictions = pd.DataFrame({"y_true": y})
    if scores.ndim == 1:
        predictions["y_score"] = scores
    else:
        for k in range(scores.shape[1]):
            predictions[f"y_score_{k}"] = scores[:, k]
    with atomic_path(target) as tmp:
        predictions.to_parquet(tmp, index=False)


def write_plots(
    target: Any, found: dict[str, list[dict[str, float]]], pngs: dict[str, bytes]
) -> None:
    """The curves as DVC plot files and every report plot as `<name>.png`."""
    with atomic_dir(target) as tmp:
        tmp.chmod(0o755)  # mkdtemp makes 0700; the plots are for anyone who reads artifacts/
        for name, content in curves.files(found).items():
            write_json(tmp / name, content)
        for name, png in pngs.items():
            (tmp / f"{name}.png").write_bytes(png)


def run(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    import lightgbm

    spec = read_json(paths["feature_spec"])
    train, holdout = dataio.read_table(paths["train_rows"]), dataio.read_table(paths["test_rows"])
    booster = lightgbm.Booster(model_file=str(paths["model"]))
    import numpy as np

    matrix = transform(spec, holdout)
    scores = np.asarray(booster.predict(matrix))
    y = encode_target(spec["target"], holdout[cfg.data.target])
    with bootstrap_thread() as pool:
        resampling = Resampling.start(pool, cfg, holdout, y, scores)
        result = evaluate_holdout(cfg, spec, train, holdout, scores, matrix, resampling)
    # the plots after the bootstrap, not beside it: drawing is Python that holds the GIL, which
    # stalls the bootstrap thread between its numpy calls (1.8 s instead of 0.5 s at 200,000 rows)
    found = curves.curves(cfg.model.task, y, scores)
    pngs = report.curve_images(found, importance(booster))
    segment_png = report.segment_image(result, set())
    if segment_png is not None:
        pngs["segments"] = segment_png
    write_json(paths["metrics"], {k: result[k] for k in METRICS_KEYS})
    write_json(
        paths["segments"], {"segments": result["segments"], "discovery": result["discovery"]}
    )
    write_predictions(paths["predictions"], y, scores)
    write_plots(paths["plots"], found, pngs)
    write_text(paths["report"], report.render(cfg.experiment_name, result, pngs))
