"""The resampling metrics agree with scikit-learn; bootstrap intervals behave."""

from __future__ import annotations

import numpy as np
import pytest

from mlplat.stages.evaluate import bootstrap, curves, fast, metrics, weighted


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


def _task_data(task: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    if task == "binary":
        y = (rng.random(n) < 0.3).astype(float)
        return y, np.round(rng.random(n), 2)  # mostly ties, as a coarse model's scores are
    if task == "binary-few-ties":  # mostly distinct scores, as a boosted model's are
        y = (rng.random(n) < 0.3).astype(float)
        p = rng.random(n)
        p[rng.integers(0, n, n // 10)] = p[rng.integers(0, n, n // 10)]  # a few tied groups
        return y, p
    if task == "multiclass":
        y = rng.integers(0, 3, n).astype(float)
        raw = rng.random((n, 3)) + np.eye(3)[y.astype(int)]
        return y, raw / raw.sum(axis=1, keepdims=True)
    y = rng.normal(1000.0, 2.0, n)  # a large mean: the spread must not cancel away
    return y, y + rng.normal(0, 0.5, n)


@pytest.mark.parametrize(
    ("data", "seed"),
    [
        pytest.param(t, s, id=f"{t}-seed{s}")
        for t in [*fast.TASKS, "binary-few-ties"]
        for s in range(4)
    ],
)
def test_weighted_metrics_of_a_block_equal_the_metrics_of_each_resample(
    data: str, seed: int
) -> None:
    """The bootstrap scores a block of draws from row counts; each draw's values must be what
    `fast.compute` gives on the resampled rows themselves (the same draws, in order; positions
    index the scorer's order of the rows)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    y, p = _task_data(data, rng, n)
    task = data.removesuffix("-few-ties")
    scorer = weighted.Scorer(task, y, p, 0.4)
    if data == "binary-few-ties" and n > 20:  # the sums over rows, corrected in tied groups
        assert scorer.ranking is not None and not scorer.ranking.grouped
        assert scorer.ranking.tied.size > 0
    replay = np.random.default_rng(seed + 100)
    got = [scorer.values(c) for c in weighted.count_blocks(n, 30, seed + 100)]
    draws = 0
    for block in got:
        for j in range(len(next(iter(block.values())))):
            rows = scorer.order[replay.integers(0, n, size=n)]
            want = fast.compute(task, y[rows], p[rows], 0.4)
            for name in block:
                value = block[name][j]
                if name in want:
                    assert value == pytest.approx(want[name], rel=1e-9, abs=1e-12), name
                else:  # undefined on this draw (one class, or no spread)
                    assert np.isnan(value), name
            draws += 1
    assert draws == 30


def test_count_blocks_split_large_slices_into_bounded_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(weighted, "BLOCK_CELLS", 1000)
    blocks = list(weighted.count_blocks(300, 10, seed=0))
    assert [b.shape for b in blocks] == [(3, 300)] * 3 + [(1, 300)]
    assert all((b.sum(axis=1) == 300).all() for b in blocks)


def test_a_draw_of_one_class_has_no_ranking_metrics() -> None:
    y, p = np.array([0.0, 1.0]), np.array([0.2, 0.9])
    scorer = weighted.Scorer("binary", y, p, 0.5)
    assert list(scorer.order) == [1, 0]  # by descending score
    found = scorer.values(np.array([[0, 2], [1, 1]]))  # row 0 twice; each row once
    assert np.isnan(found["auc"][0]) and found["auc"][1] == 1.0
    assert found["log_loss"][0] == pytest.approx(-np.log(0.8))


def test_a_paired_draw_takes_the_same_rows_for_both_models() -> None:
    """Two models rank the rows differently; the paired delta must still score one set of rows."""
    rng = np.random.default_rng(7)
    y = (rng.random(200) < 0.4).astype(float)
    new, old = rng.random(200), rng.random(200)
    first, second = weighted.Scorer("binary", y, new, 0.5), weighted.Scorer("binary", y, old, 0.5)
    counts = next(weighted.count_blocks(200, 5, seed=3))
    got = second.values(counts[:, first.aligned(second)])["auc"]
    for j in range(5):
        rows = np.repeat(first.order, counts[j])  # the rows the draw took, as row numbers
        assert got[j] == pytest.approx(fast.binary(y[rows], old[rows])["auc"], rel=1e-12)


def test_paired_delta_with_no_resamples_has_no_interval() -> None:
    y, p = _binary()
    delta, (low, high) = bootstrap.paired_delta("binary", "auc", y, p, p, 0.5, 0, 0.95, seed=1)
    assert delta == 0.0 and np.isnan(low) and np.isnan(high)
