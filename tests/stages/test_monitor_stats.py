"""Drift statistics on reference bins, against scipy's full-sample implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp

from mlplat.core.reference_stats import numeric_profile
from mlplat.stages.monitor import stats


def _binned(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, stats.Binned]:
    profile = numeric_profile(reference)
    edges = np.asarray(profile["edges"])
    return np.asarray(profile["counts"]), stats.bin_column(
        current, edges, profile["min"], profile["max"]
    )


def test_psi_and_ks_are_small_on_the_same_distribution_and_large_on_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=20_000)
    ref, same = _binned(reference, rng.normal(size=5_000))
    _, shifted = _binned(reference, rng.normal(0.5, 1.0, size=5_000))
    assert stats.psi(ref, same.counts) < 0.02
    assert stats.psi(ref, shifted.counts) > 0.2
    assert stats.ks(ref, same.counts)[1] > 0.01
    assert stats.ks(ref, shifted.counts)[1] < 1e-10


def test_ks_at_the_edges_is_a_lower_bound_of_the_full_sample_statistic() -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=5_000), rng.normal(0.2, 1.2, size=3_000)
    ref, cur = _binned(reference, current)
    d, _ = stats.ks(ref, cur.counts)
    full = ks_2samp(reference, current).statistic
    assert 0.5 * full < d <= full + 1e-12


def test_binning_counts_nulls_infinities_and_values_beyond_training() -> None:
    values = np.array([np.nan, np.inf, -np.inf, -5.0, 0.5, 99.0])
    binned = stats.bin_column(values, np.array([0.0, 1.0]), lo=-1.0, hi=2.0)
    assert (binned.nulls, binned.infinite, binned.below_min, binned.above_max) == (3, 2, 1, 1)
    assert binned.counts.tolist() == [1, 1, 1]


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        pytest.param([500, 300, 200], [480, 330, 190], id="close"),
        pytest.param([500, 300, 200], [100, 300, 600], id="far"),
        pytest.param([500, 300, 0, 200], [480, 330, 0, 190], id="empty-category"),
    ],
)
def test_chi2_and_js_match_scipy(reference: list[int], current: list[int]) -> None:
    ref, cur = np.asarray(reference), np.asarray(current)
    statistic, p = stats.chi2(ref, cur)
    table = np.vstack([ref, cur])[:, (ref + cur) > 0]
    expected = chi2_contingency(table, correction=False)
    assert statistic == pytest.approx(expected.statistic)
    assert p == pytest.approx(expected.pvalue)
    assert stats.jensen_shannon(ref, cur) == pytest.approx(jensenshannon(ref, cur, base=2))


def test_block_counting_agrees_with_a_binary_search_per_value() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(200_003, 3))  # not a multiple of the block size
    matrix[rng.random(matrix.shape) < 0.05] = np.nan
    matrix[::1000, 1] = np.inf
    edges = [np.quantile(rng.normal(size=1000), np.linspace(0.1, 0.9, 9)) for _ in range(3)]
    found = stats.bin_matrix(matrix, edges, [-2.0, -2.0, -2.0], [2.0, 2.0, 2.0])
    for j, binned in enumerate(found):
        column = matrix[:, j]
        finite = column[np.isfinite(column)]
        expected = np.bincount(np.searchsorted(edges[j], finite, side="right"), minlength=10)
        assert binned.counts.tolist() == expected.tolist()
        assert binned.nulls == column.size - finite.size
        assert binned.below_min == np.count_nonzero(finite < -2.0)
        assert binned.above_max == np.count_nonzero(finite > 2.0)
