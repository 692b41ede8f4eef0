"""The resampling metrics agree with scikit-learn; bootstrap intervals behave."""

from __future__ import annotations

import numpy as np
import pytest

from mlplat.stages.evaluate import bootstrap, curves, fast, metrics


def _binary(seed: int = 0, rows: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.3).astype(float)
    p = np.clip(0.3 + 0.3 * (y - 0.3) + rng.normal(0, 0.2, rows), 0.001, 0.999)
    return y, np.round(p, 2)  # rounding makes ties, which the curve code must group like sklearn


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(3)])
def test_fast_binary_matches_sklearn(seed: int) -> None:
    y, p = _binary(seed)
    assert fast.binary(y, p, 0.4) == pytest.approx(metrics.binary(y, p, 0.4), abs=1e-9)


def test_fast_multiclass_and_regression_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 500).astype(float)
    raw = rng.random((500, 3)) + np.eye(3)[y.astype(int)]
    p = raw / raw.sum(axis=1, keepdims=True)
    assert fast.multiclass(y, p) == pytest.approx(metrics.multiclass(y, p), abs=1e-9)
    target = rng.normal(size=400)
    guess = target + rng.normal(0, 0.5, 400)
    assert fast.regression(target, guess) == pytest.approx(
        metrics.regression(target, guess), abs=1e-9
    )


def test_one_class_slice_has_no_auc() -> None:
    found = fast.binary(np.zeros(50), np.linspace(0, 1, 50))
    assert "auc" not in found and "pr_auc" not in found


def test_intervals_cover_the_estimate_and_shrink_with_rows() -> None:
    y, p = _binary(rows=2000)
    wide = bootstrap.intervals("binary", y[:200], p[:200], 0.5, 200, 0.95, seed=3)["auc"]
    narrow = bootstrap.intervals("binary", y, p, 0.5, 200, 0.95, seed=3)["auc"]
    assert narrow[0] <= fast.binary(y, p)["auc"] <= narrow[1]
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_paired_delta_of_a_model_with_itself_is_zero() -> None:
    y, p = _binary()
    delta, (low, high) = bootstrap.paired_delta("binary", "auc", y, p, p, 0.5, 100, 0.95, seed=1)
    assert delta == 0.0 and low == 0.0 and high == 0.0


def test_better_by_follows_the_metric_direction() -> None:
    assert bootstrap.better_by("auc", 0.8, 0.7) == pytest.approx(0.1)
    assert bootstrap.better_by("log_loss", 0.4, 0.5) == pytest.approx(0.1)


def test_curves_are_dvc_plot_files() -> None:
    y, p = _binary()
    files = curves.files(curves.curves("binary", y, p))
    assert set(files) == {"roc.json", "pr.json", "calibration.json"}
    roc = files["roc.json"]["roc"]
    assert roc[0]["fpr"] == 0.0 and roc[-1]["tpr"] == 1.0
    assert len(roc) <= curves.MAX_POINTS
    assert all(np.isfinite(v) for point in roc for v in point.values())


@pytest.mark.parametrize("seed", range(6))
def test_ranking_of_a_resample_from_its_counts_equals_sorting_the_resample(seed: int) -> None:
    """The bootstrap sorts each slice once and weights rows by how often a draw took them."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    y = (rng.random(n) < 0.3).astype(float)
    p = np.round(rng.random(n), 2)  # ties, as real scores have
    ranked = fast.Ranked(y, p)
    for _ in range(20):
        rows = rng.integers(0, n, size=n)
        assert ranked.ranking(np.bincount(rows, minlength=n)) == fast.ranking(y[rows], p[rows])
    assert ranked.ranking(np.zeros(n, dtype=int)) == {}
