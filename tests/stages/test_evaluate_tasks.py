"""The whole evaluation (segments, baselines, lift, discovery, curves, report) for every task."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlplat.core.config import PlatformConfig
from mlplat.core.config.contract import FeatureConfig, FeaturesConfig
from mlplat.core.config.data import DataConfig
from mlplat.core.config.model import ModelConfig
from mlplat.core.config.validation import SegmentConfig, SegmentsConfig
from mlplat.core.features import fit_spec
from mlplat.stages.evaluate import curves, report
from mlplat.stages.evaluate.stage import bootstrap_thread, evaluate_holdout

ROWS = 1200


def _frame(task: str, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose target depends on x; returns the frame and a good model's predictions."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=ROWS)
    frame = pd.DataFrame({"x": x, "shop": rng.choice(["a", "b", "c"], ROWS)})
    if task == "regression":
        frame["y"] = 3 * x + rng.normal(0, 0.5, ROWS)
        return frame, 3 * x
    if task == "binary":
        prob = 1 / (1 + np.exp(-3 * x))
        frame["y"] = (rng.random(ROWS) < prob).astype(int)
        return frame, prob
    logits = np.column_stack([-2 * x, np.zeros(ROWS), 2 * x])
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame["y"] = [
        ["high", "low", "mid"][k] for k in (prob.cumsum(1) > rng.random((ROWS, 1))).argmax(1)
    ]
    return frame, prob  # columns follow the sorted labels: high, low, mid


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_task_evaluates_end_to_end(task: str) -> None:
    frame, predictions = _frame(task)
    train, holdout = frame.iloc[:600], frame.iloc[600:].reset_index(drop=True)
    cfg = PlatformConfig(
        data=DataConfig(path="unused.csv", target="y"),
        features=FeaturesConfig(
            definitions={
                "x": FeatureConfig(column="x"),
                "shop": FeatureConfig(kind="category", column="shop"),
            }
        ),
        model=ModelConfig(task=task),
        segments=SegmentsConfig(
            min_support=50,
            bootstrap=30,
            slices={"shop": SegmentConfig(column="shop", each_value=True)},
        ),
    )
    spec: dict[str, Any] = fit_spec(cfg.features.definitions, train)
    spec["target"] = {"column": "y", "task": task}
    if task == "multiclass":
        spec["target"]["classes"] = ["high", "low", "mid"]
    result = evaluate_holdout(cfg, spec, train, holdout, predictions[600:])

    primary = {"binary": "auc", "multiclass": "log_loss", "regression": "rmse"}[task]
    assert result["primary_metric"] == primary
    assert set(result["baselines"]) == {"constant", "linear"}
    assert result["lift"]["constant"] > 0  # the true model beats the prior, in the right direction
    assert [r["segment"] for r in result["segments"]] == ["shop.a", "shop.b", "shop.c"]
    assert all(primary in r["ci"] for r in result["segments"])
    found = curves.curves(task, _truth(task, holdout), predictions[600:])
    assert "calibration" in found
    html = report.render("demo", result, report.images(result, found, {"x": 2.0, "shop": 1.0}))
    assert html.count("data:image/png;base64,") == len(found) + 2


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_blas_keeps_one_thread_while_the_bootstrap_thread_runs() -> None:
    """Its own threads would spin for the cores the bootstrap thread and the baselines hold; the
    caller's setting comes back afterwards."""
    import scipy.linalg  # noqa: F401  (its BLAS too, as the linear baseline loads it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with bootstrap_thread() as pool:
            inside = pool.submit(_blas_threads).result()
        after = _blas_threads()
    assert before == [2] * len(before) and len(before) >= 1
    assert inside == [1] * len(before)
    assert after == before


def _truth(task: str, holdout: pd.DataFrame) -> np.ndarray:
    if task == "multiclass":
        return holdout["y"].map({"high": 0, "low": 1, "mid": 2}).to_numpy(dtype=float)
    return holdout["y"].to_numpy(dtype=float)
