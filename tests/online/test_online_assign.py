"""Sticky assignment: a pure function of key, experiment id and weights (property tests)."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlplat.core.vocabulary import Arm
from mlplat.serving.online.assign import assign, point

keys = st.text(min_size=1, max_size=40)
shares = st.floats(min_value=0.0, max_value=1.0)


@given(keys, st.text(max_size=20), shares)
def test_the_same_key_always_gets_the_same_arm(key: str, experiment: str, share: float) -> None:
    arms = {assign(key, experiment, share, draw=random.random) for _ in range(3)}
    assert len(arms) == 1


@given(keys, st.text(max_size=20), shares, shares)
def test_a_higher_share_never_moves_a_key_back_to_the_champion(
    key: str, experiment: str, a: float, b: float
) -> None:
    low, high = sorted((a, b))
    if assign(key, experiment, low) is Arm.CHALLENGER:
        assert assign(key, experiment, high) is Arm.CHALLENGER


@given(keys, st.text(max_size=20))
def test_shares_zero_and_one_send_everyone_to_one_arm(key: str, experiment: str) -> None:
    assert assign(key, experiment, 0.0) is Arm.CHAMPION
    assert assign(key, experiment, 1.0) is Arm.CHALLENGER
    assert 0.0 <= point(key, experiment) < 1.0


@pytest.mark.parametrize(
    "share", [pytest.param(0.1, id="10%"), pytest.param(0.5, id="50%"), pytest.param(0.9, id="90%")]
)
def test_the_split_matches_the_weights_within_a_binomial_tolerance(share: float) -> None:
    n = 20_000
    hits = sum(assign(f"user-{i}", "exp-1", share) is Arm.CHALLENGER for i in range(n))
    tolerance = 4 * math.sqrt(n * share * (1 - share))  # 4 sigma: a false alarm in ~1/15,000 runs
    assert abs(hits - n * share) <= tolerance


def test_keyless_requests_are_assigned_at_random_in_proportion() -> None:
    draw = random.Random(7).random
    n, share = 20_000, 0.3
    hits = sum(assign(None, "exp-1", share, draw) is Arm.CHALLENGER for _ in range(n))
    assert abs(hits - n * share) <= 4 * math.sqrt(n * share * (1 - share))


def test_another_experiment_reshuffles_the_keys() -> None:
    users = [f"user-{i}" for i in range(2000)]
    first = [assign(u, "exp-1", 0.5) for u in users]
    second = [assign(u, "exp-2", 0.5) for u in users]
    agree = sum(a is b for a, b in zip(first, second, strict=True))
    # independent halves agree on about half the keys, not on all of them
    assert abs(agree - 1000) <= 4 * math.sqrt(2000 * 0.25)


def test_the_point_is_pinned_so_replicas_and_releases_agree() -> None:
    """A changed hash would silently move every user to another arm mid-experiment."""
    assert point("user-42", "churn") == 0.4254210013421398
    assert assign("user-42", "churn", 0.43) is Arm.CHALLENGER
    assert assign("user-42", "churn", 0.42) is Arm.CHAMPION
