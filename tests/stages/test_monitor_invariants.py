"""Invariants of serving inputs and of the model: schema, staleness, latency vs SLO and champion."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from mlplat.core.config.ops import MonitoringConfig, SloConfig
from mlplat.stages.monitor import invariants

SCHEMA = {
    "input_columns": ["plan", "age", "lines"],
    "columns": {
        "plan": {"dtype": "str", "isin": ["basic", "premium"], "nullable": False},
        "age": {"dtype": "float", "between": [18, 120], "nullable": True},
        "lines": {"dtype": "int", "ge": 1, "nullable": True},
    },
}


@pytest.mark.parametrize(
    ("rows", "rate", "names"),
    [
        pytest.param([("basic", 30, 1), ("premium", None, 2)], 0.0, "", id="clean"),
        pytest.param([("gold", 30, 1), ("basic", 30, 1)], 0.5, "plan: 1", id="unseen-value"),
        pytest.param([(None, 30, 1), ("basic", 30, 1)], 0.5, "plan: 1", id="null-not-allowed"),
        pytest.param([("basic", 150, 1), ("basic", 30, 0)], 1.0, "age: 1", id="out-of-bounds"),
        pytest.param([("basic", "old", 1), ("basic", 30, 1)], 0.5, "age: 1", id="text-for-number"),
    ],
)
def test_schema_violations_are_counted_per_row(rows: list[tuple], rate: float, names: str) -> None:
    frame = pd.DataFrame(rows, columns=["plan", "age", "lines"], dtype="object")
    check = invariants.schema_checks(frame, SCHEMA, MonitoringConfig())
    assert check.value == rate
    assert check.breached is (rate > 0)
    assert names in check.note


def test_staleness_counts_days_since_the_bundle_was_created() -> None:
    now = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    fresh = invariants.staleness_check(
        {"created_at": "2026-11-20T00:00:00+00:00"}, MonitoringConfig(), now
    )
    stale = invariants.staleness_check(
        {"created_at": "2026-09-01T00:00:00+00:00"}, MonitoringConfig(), now
    )
    assert (fresh.value, fresh.breached) == (7.0, False)
    assert stale.breached and stale.value == 87.0
    assert invariants.staleness_check({}, MonitoringConfig(), now).value is None


def test_latency_is_checked_against_the_slo_and_the_previous_champion() -> None:
    slo, cfg = SloConfig(p99_ms=10.0, min_qps=100.0), MonitoringConfig(max_p99_regression=1.2)
    checks = {
        c.name: c
        for c in invariants.performance_checks(
            {"p99_ms": 8.0, "qps": 50.0}, {"p99_ms": 4.0}, slo, cfg
        )
    }
    assert checks["p99_ms"].breached is False
    assert checks["qps"].breached is True
    assert checks["p99_vs_previous"].value == 2.0 and checks["p99_vs_previous"].breached
    [absent] = invariants.performance_checks(None, None, slo, cfg)
    assert absent.value is None and absent.breached is False
