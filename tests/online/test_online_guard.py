"""A server's live guardrails: what `Watch` judges on its recent answers, and when."""

from __future__ import annotations

import pytest

from mlplat.core.vocabulary import Arm
from mlplat.serving.online.guard import WINDOW, Limits, Watch, breach, judged

CHALLENGER, CHAMPION = Arm.CHALLENGER, Arm.CHAMPION


def fed(limits: Limits, seconds: float, n: int, errors: int = 0) -> Watch:
    watch = Watch(limits)
    for _ in range(n):
        watch.answered(CHALLENGER, seconds, [0.5])
        watch.answered(CHAMPION, seconds, [0.5])
    for _ in range(errors):
        watch.failed(CHALLENGER, 500)
    return watch


def test_nothing_is_judged_before_the_minimum_of_challenger_requests() -> None:
    limits = Limits(max_p99_latency_ms=1.0, min_requests=10)
    watch = fed(limits, 0.5, 9)
    assert watch.fresh and watch.judge() == []
    assert not watch.fresh  # judged: nothing new until the next answer
    watch.answered(CHAMPION, 0.5, [0.5])  # the champion's answers do not count towards it
    assert watch.judge() == []
    watch.answered(CHALLENGER, 0.5, [0.5])
    assert breach(watch.judge()) == "guardrail breached: p99_latency_ms 500 > 1"


def test_a_slow_tail_breaks_the_p99_and_a_fast_one_holds() -> None:
    limits = Limits(max_p99_latency_ms=100.0, min_requests=50)
    watch = fed(limits, 0.01, 98)
    for _ in range(2):  # 2% of answers at 300 ms: the p99 is in the slow tail
        watch.answered(CHALLENGER, 0.3, [0.5])
    rails = {g.name: g for g in watch.judge()}
    assert rails["p99_latency_ms"].breached and rails["p99_latency_ms"].value > 100
    assert breach(fed(limits, 0.01, 100).judge()) is None


def test_the_error_rate_counts_5xx_of_every_challenger_request_not_4xx() -> None:
    limits = Limits(max_error_rate=0.05, min_requests=20)
    watch = fed(limits, 0.001, 19, errors=1)
    rails = {g.name: g for g in watch.judge()}
    assert rails["error_rate"].value == pytest.approx(0.05) and not rails["error_rate"].breached
    for _ in range(5):
        watch.failed(CHALLENGER, 400)  # a client's mistake is not the challenger's error
    assert not {g.name: g for g in watch.judge()}["error_rate"].breached
    watch.failed(CHALLENGER, 503)
    assert {g.name: g for g in watch.judge()}["error_rate"].breached


def test_the_prediction_shift_compares_the_arms_mean_predictions() -> None:
    limits = Limits(max_prediction_shift=0.1, min_requests=5)
    watch = Watch(limits)
    for _ in range(10):
        watch.answered(CHALLENGER, 0.001, [0.9, 0.7])  # a request's mean: 0.8
        watch.answered(CHAMPION, 0.001, [0.3])
    shift = {g.name: g for g in watch.judge()}["prediction_shift"]
    assert shift.value == pytest.approx(0.5) and shift.breached
    classes = Watch(limits)  # class probabilities: the largest gap of a class's mean
    for _ in range(10):
        classes.answered(CHALLENGER, 0.001, [[0.2, 0.5, 0.3]])
        classes.answered(CHAMPION, 0.001, [[0.2, 0.75, 0.05]])
    found = {g.name: g for g in classes.judge()}["prediction_shift"]
    assert found.value == pytest.approx(0.25) and found.breached


def test_the_window_forgets_old_answers_and_clear_starts_afresh() -> None:
    limits = Limits(max_p99_latency_ms=100.0, min_requests=10)
    watch = fed(limits, 0.5, 50)
    assert breach(watch.judge()) is not None
    for _ in range(WINDOW):  # a window of fast answers pushes the slow ones out
        watch.answered(CHALLENGER, 0.001, [0.5])
    assert breach(watch.judge()) is None
    watch.clear()
    assert watch.judge() == [] and len(watch.latency_ms) == 0


def test_unguarded_limits_never_breach_and_say_what_they_saw() -> None:
    rails = judged(900.0, 0.5, 0.9, Limits())
    assert [g.name for g in rails] == ["p99_latency_ms", "error_rate", "prediction_shift"]
    assert all(not g.breached and g.limit is None for g in rails)
    assert breach(rails) is None
    two = judged(900.0, 0.5, None, Limits(max_p99_latency_ms=250, max_error_rate=0.01))
    assert breach(two) == "guardrail breached: p99_latency_ms 900 > 250; error_rate 0.5 > 0.01"
