"""Declared segments expand into the right slices; discovery finds planted weakness, not noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlplat.core.config.validation import DiscoveryConfig, SegmentConfig, SegmentsConfig
from mlplat.core.errors import ConfigError
from mlplat.stages.evaluate import discovery, segments


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["north", "south", "south", "east", None, "north"],
            "plan": ["basic", "basic", "premium", "premium", "basic", "premium"],
            "calls": [0, 2, 5, 7, 1, 10],
            "flag": [True, False, True, True, False, False],
        }
    )


def _names(frame: pd.DataFrame, spec: SegmentConfig) -> dict[str, int]:
    return {name: int(mask.sum()) for name, _, mask in segments.expand(frame, "s", spec)}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(SegmentConfig(column="region", equals="south"), {"s": 2}, id="equals"),
        pytest.param(SegmentConfig(column="calls", equals=5), {"s": 1}, id="equals-number"),
        pytest.param(SegmentConfig(column="flag", equals=True), {"s": 3}, id="equals-bool"),
        pytest.param(SegmentConfig(column="region", isin=["north", "east"]), {"s": 3}, id="isin"),
        pytest.param(SegmentConfig(column="calls", range=[2, 7]), {"s": 2}, id="range"),
        pytest.param(
            SegmentConfig(column="calls", bins=[0, 5, 100]), {"s.0_5": 3, "s.5_100": 3}, id="bins"
        ),
        pytest.param(
            SegmentConfig(column="region", each_value=True),
            {"s.east": 1, "s.north": 2, "s.south": 2},
            id="each-value",
        ),
        pytest.param(
            SegmentConfig(cross=["region", "plan"]),
            {
                "s.east.basic": 0,
                "s.east.premium": 1,
                "s.north.basic": 1,
                "s.north.premium": 1,
                "s.south.basic": 1,
                "s.south.premium": 1,
            },
            id="cross",
        ),
    ],
)
def test_slices_expand(frame: pd.DataFrame, spec: SegmentConfig, expected: dict[str, int]) -> None:
    assert _names(frame, spec) == expected


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        pytest.param(
            SegmentConfig(column="nope", equals=1), "segments.slices.s.column", id="unknown-column"
        ),
        pytest.param(SegmentConfig(column="region"), "segments.slices.s", id="no-slice"),
        pytest.param(
            SegmentConfig(cross=["region"]), "segments.slices.s.cross", id="cross-one-column"
        ),
    ],
)
def test_bad_segments_name_the_key(frame: pd.DataFrame, spec: SegmentConfig, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        segments.expand(frame, "s", spec)
    assert err.value.key == key


def test_low_support_segments_are_listed_without_metrics() -> None:
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"g": ["a"] * 300 + ["b"] * 20})
    y = (rng.random(320) < 0.4).astype(float)
    config = SegmentsConfig(
        min_support=50, bootstrap=50, slices={"g": SegmentConfig(column="g", each_value=True)}
    )
    found = {
        r["segment"]: r
        for r in segments.evaluate(rows, y, rng.random(320), "binary", 0.5, config, 1)
    }
    assert found["g.a"]["supported"] and "auc" in found["g.a"]["metrics"]
    low, high = found["g.a"]["ci"]["auc"]
    assert low <= found["g.a"]["metrics"]["auc"] <= high
    assert not found["g.b"]["supported"] and "metrics" not in found["g.b"]


def _world(seed: int, rows: int = 3000) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A good model on rows with columns that carry no information about where it errs."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "shop": rng.choice(["a", "b", "c", "d", "e"], rows),
            "age": rng.normal(40, 12, rows),
            "visits": rng.poisson(3, rows),
        }
    )
    signal = rng.normal(size=rows)
    y = (rng.random(rows) < 1 / (1 + np.exp(-2.5 * signal))).astype(float)
    p = 1 / (1 + np.exp(-2.5 * signal))
    return frame, y, p


CONFIG = DiscoveryConfig(quantile_bins=5, alpha=0.05, min_support=100)


def test_discovery_finds_a_planted_weak_slice() -> None:
    frame, y, p = _world(seed=11)
    planted = (frame["shop"] == "c").to_numpy()
    p = p.copy()
    p[planted] = np.random.default_rng(5).random(planted.sum())  # the model knows nothing there
    found = discovery.scan(frame, y, p, "binary", 0.5, ["shop", "age", "visits"], CONFIG)
    assert [w["segment"] for w in found["weak"]] == ["shop.c"]
    assert found["weak"][0]["p_adjusted"] < 0.05
    assert found["tested"] >= 10


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in (1, 2, 3)])
def test_discovery_flags_nothing_on_pure_noise(seed: int) -> None:
    frame, y, p = _world(seed)
    found = discovery.scan(frame, y, p, "binary", 0.5, ["shop", "age", "visits"], CONFIG)
    assert found["tested"] >= 10
    assert found["weak"] == []


def test_discovery_can_be_disabled() -> None:
    frame, y, p = _world(seed=1)
    off = DiscoveryConfig(enabled=False)
    assert discovery.scan(frame, y, p, "binary", 0.5, ["shop"], off) == {"tested": 0, "weak": []}
