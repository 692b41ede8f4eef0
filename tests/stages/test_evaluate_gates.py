"""Gates on constructed predictions: floors per segment, champion regressions, noise, lift."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlplat.core.config import PlatformConfig
from mlplat.core.config.model import ModelConfig
from mlplat.core.config.validation import GatesConfig, SegmentConfig, SegmentsConfig
from mlplat.core.errors import ConfigError
from mlplat.stages.evaluate import fast, gates, segments
from mlplat.stages.evaluate.verdicts import Decision

ROWS = 3000


def _cfg(**gate_args: Any) -> PlatformConfig:
    """Only the gates a test names: the default-on ones (segment gap, lift over the better
    baseline) are off unless given."""
    only = {"segment_max_gap": None, "min_lift_over_best": None, **gate_args}
    return PlatformConfig(
        model=ModelConfig(task="binary"),
        segments=SegmentsConfig(
            bootstrap=100, slices={"region": SegmentConfig(column="region", each_value=True)}
        ),
        gates=GatesConfig(**only),
    )


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Rows in three regions, the labels, the signal, and a second independent noise draw."""
    rng = np.random.default_rng(42)
    frame = pd.DataFrame({"region": rng.choice(["a", "b", "c"], ROWS)})
    signal = rng.normal(size=ROWS)
    y = (rng.random(ROWS) < 1 / (1 + np.exp(-2 * signal))).astype(float)
    return frame, y, signal, rng.normal(size=ROWS)


def _model(signal: np.ndarray, noise: np.ndarray, blur: float) -> np.ndarray:
    return 1 / (1 + np.exp(-2 * (signal + blur * noise)))


def _decide(
    cfg: PlatformConfig,
    frame: pd.DataFrame,
    y: np.ndarray,
    new: np.ndarray,
    old: np.ndarray | None = None,
) -> Decision:
    evaluation = {
        "overall": fast.binary(y, new),
        "segments": segments.evaluate(frame, y, new, "binary", 0.5, cfg.segments, cfg.seed),
        "lift": {"constant": fast.binary(y, new)["auc"] - 0.5},
    }
    return gates.decide(cfg, evaluation, frame, y, new, old, None if old is None else "1")


def test_a_much_worse_segment_blocks_and_is_named(world: Any) -> None:
    frame, y, signal, noise = world
    new = _model(signal, noise, 0.3)
    bad = (frame["region"] == "c").to_numpy()
    new[bad] = np.random.default_rng(0).random(bad.sum())  # no skill at all in region c
    cfg = _cfg(floors={"auc": 0.6}, segment_floors={"auc": 0.7}, segment_min_support=200)
    verdict = _decide(cfg, frame, y, new)
    assert fast.binary(y, new)["auc"] > 0.6  # overall is still fine: only the segment fails
    assert not verdict.passed
    assert verdict.failed == ("segment_floor.auc on region.c",)
    failed = [v for v in verdict.verdicts if v.status == "fail"]
    assert failed[0].scope == "region.c" and failed[0].support >= 200


def test_better_overall_but_worse_on_a_segment_is_not_promoted(world: Any) -> None:
    frame, y, signal, noise = world
    champion = _model(signal, noise, 0.8)
    challenger = _model(signal, noise, 0.0)  # much sharper everywhere ...
    c = (frame["region"] == "c").to_numpy()
    challenger[c] = _model(signal, noise, 1.2)[c]  # ... except region c
    assert fast.binary(y, challenger)["auc"] > fast.binary(y, champion)["auc"]
    cfg = _cfg(champion_metric="auc", champion_tolerance=0.01)
    verdict = _decide(cfg, frame, y, challenger, champion)
    by_scope = {v.scope: v for v in verdict.verdicts if v.gate == "champion"}
    assert by_scope["overall"].status == "pass" and by_scope["overall"].value > 0
    assert by_scope["region.c"].status == "fail"
    assert by_scope["region.c"].ci[1] < 0
    assert by_scope["region.a"].status == "pass"
    assert verdict.failed == ("champion.auc on region.c",) and not verdict.passed


def test_noise_alone_does_not_block(world: Any) -> None:
    frame, y, signal, noise = world
    champion = _model(signal, noise, 0.5)
    jitter = np.random.default_rng(9).normal(0, 0.15, ROWS)
    challenger = _model(signal + jitter, noise, 0.5)  # same model, retrained noise
    # At the default tolerance: with none, each of the four scopes is a 95% test on its own,
    # and one of ~1,000-row slices excludes zero by chance on some seeds (a 5% false alarm).
    cfg = _cfg(champion_metric="auc", champion_tolerance=0.01)
    verdict = _decide(cfg, frame, y, challenger, champion)
    assert verdict.passed, verdict.failed
    judged = [v for v in verdict.verdicts if v.gate == "champion"]
    assert len(judged) == 4 and all(abs(v.value) < 0.01 for v in judged)


def test_first_model_is_judged_by_floors_only(world: Any) -> None:
    frame, y, signal, noise = world
    cfg = _cfg(floors={"auc": 0.6, "log_loss": 0.9}, champion_metric="auc")
    verdict = _decide(cfg, frame, y, _model(signal, noise, 0.3))
    assert verdict.passed
    statuses = {(v.gate, v.metric): v.status for v in verdict.verdicts}
    assert statuses == {
        ("floor", "auc"): "pass",
        ("floor", "log_loss"): "pass",
        ("champion", "auc"): "skip",
    }


def test_a_segment_far_below_overall_fails_the_default_gap(world: Any) -> None:
    """No floor declared: the default gap (20% of overall) still catches a segment with no
    skill, and only that one."""
    frame, y, signal, noise = world
    new = _model(signal, noise, 0.3)
    bad = (frame["region"] == "c").to_numpy()
    new[bad] = np.random.default_rng(0).random(bad.sum())
    cfg = _cfg(segment_max_gap=GatesConfig().segment_max_gap)
    verdict = _decide(cfg, frame, y, new)
    assert verdict.failed == ("segment_gap.auc on region.c",)
    gaps = {v.scope: v for v in verdict.verdicts if v.gate == "segment_gap"}
    assert {s: v.status for s, v in gaps.items()} == {
        "region.a": "pass",
        "region.b": "pass",
        "region.c": "fail",
    }
    assert gaps["region.c"].ci[1] < gaps["region.c"].bound  # beyond it, not by noise


def test_segment_gap_within_noise_warns_and_does_not_block(world: Any) -> None:
    frame, y, signal, noise = world
    new = _model(signal, noise, 0.3)
    cfg = _cfg(segment_max_gap=0.0)  # any segment below overall is short of the bound
    verdict = _decide(cfg, frame, y, new)
    statuses = [v.status for v in verdict.verdicts if v.gate == "segment_gap"]
    assert verdict.passed and "warn" in statuses and "fail" not in statuses


@pytest.mark.parametrize(
    ("interval", "status"),
    [
        pytest.param([-0.08, -0.02], "fail", id="significantly-worse"),
        pytest.param([-0.08, 0.01], "warn", id="within-noise"),
        pytest.param(None, "fail", id="no-interval"),
    ],
)
def test_lift_over_the_better_baseline(
    world: Any, interval: list[float] | None, status: str
) -> None:
    """On by default: the model must not lose to the better of the constant and linear
    baselines (here linear), beyond noise."""
    frame, y, signal, noise = world
    new = _model(signal, noise, 0.3)
    cfg = _cfg(min_lift_over_best=GatesConfig().min_lift_over_best)
    evaluation = {
        "overall": fast.binary(y, new),
        "segments": [],
        "lift": {"constant": 0.3, "linear": -0.05},
        "lift_ci": {"constant": [0.28, 0.32], "linear": interval},
        "best_baseline": "linear",
    }
    verdict = gates.decide(cfg, evaluation, frame, y, new)
    (best,) = [v for v in verdict.verdicts if v.gate == "lift"]
    assert (best.scope, best.status, best.value) == ("best", status, -0.05)
    assert "over linear" in best.detail
    assert verdict.passed == (status != "fail")


def test_lift_gate(world: Any) -> None:
    frame, y, signal, noise = world
    cfg = _cfg(min_lift={"constant": 0.9})
    verdict = _decide(cfg, frame, y, _model(signal, noise, 0.3))
    assert verdict.failed == ("lift.auc on constant",)


@pytest.mark.parametrize(
    ("gate_args", "key"),
    [
        pytest.param({"floors": {"rmse": 1.0}}, "gates.floors.rmse", id="floor"),
        pytest.param(
            {"segment_floors": {"r2": 0.1}}, "gates.segment_floors.r2", id="segment-floor"
        ),
        pytest.param({"champion_metric": "macro_f1"}, "gates.champion_metric", id="champion"),
        pytest.param({"min_lift": {"forest": 0.1}}, "gates.min_lift.forest", id="baseline"),
    ],
)
def test_unknown_metrics_are_refused_by_key(gate_args: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        gates.check_metrics(_cfg(**gate_args))
    assert err.value.key == key
