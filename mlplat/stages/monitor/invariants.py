"""Invariants of serving inputs and of the model: schema, the invariants learned from the
training rows, staleness, stability, latency."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from mlplat.core import invariants as learned
from mlplat.core.config.ops import MonitoringConfig, SloConfig
from mlplat.stages.monitor.checks import Check, above, below_pvalue, missing

if TYPE_CHECKING:
    import pandas as pd

NUMERIC = ("int", "float")
BOUNDS = (("ge", "__lt__"), ("gt", "__le__"), ("le", "__gt__"), ("lt", "__ge__"))


def _violations(series: pd.Series, rule: dict[str, Any]) -> pd.Series:
    """Rows of one column breaking its declared dtype, nullability, set or range."""
    import pandas as pd

    nulls = series.isna()
    bad = nulls if not rule.get("nullable", True) else pd.Series(False, index=series.index)
    if rule.get("isin") and rule.get("unseen") != "unknown":  # unknown: the unseen check's
        allowed = {str(v) for v in rule["isin"]}
        bad |= ~nulls & ~series.astype("string").isin(allowed).fillna(False)
    if rule.get("dtype") in NUMERIC:
        numbers = pd.to_numeric(series, errors="coerce")
        bad |= ~nulls & numbers.isna()  # text where a number belongs
        lower, upper = (rule.get("between") or [None, None])[:2]
        bounds = [("ge", lower), ("le", upper)] + [(k, rule.get(k)) for k, _ in BOUNDS]
        ops = dict(BOUNDS)
        for key, value in bounds:
            if value is not None:
                bad |= getattr(numbers, ops[key])(value).fillna(False)
    return bad


def schema_checks(frame: pd.DataFrame, schema: dict[str, Any], cfg: MonitoringConfig) -> Check:
    """Share of rows breaking the training schema on any input column the model reads."""
    import pandas as pd

    columns = [c for c in schema.get("input_columns", []) if c in frame.columns]
    rules = schema.get("columns", {})
    bad = pd.Series(False, index=frame.index)
    worst: dict[str, int] = {}
    for column in columns:
        if column in rules:
            hits = _violations(frame[column], rules[column])
            worst[column] = int(hits.sum())
            bad |= hits
    note = ", ".join(f"{c}: {n}" for c, n in sorted(worst.items(), key=lambda x: -x[1]) if n)
    rate = float(bad.mean()) if len(frame) else 0.0
    return above(
        "skew",
        "schema",
        "",
        rate,
        cfg.max_schema_violation_rate,
        f"rows breaking the schema ({note})" if note else "all rows match the schema",
    )


def learned_checks(
    profile: dict[str, Any], frame: pd.DataFrame, rules: learned.Rules
) -> tuple[list[Check], str | None]:
    """The invariants learned from training, one check per (invariant, column); a note instead
    when the bundle predates column profiles."""
    columns = profile.get("columns")
    if not columns:
        return [], "the bundle has no column profile (built before mlplat learned invariants)"
    checks = []
    for f in learned.check(columns, frame, rules):
        if f.check == "constant":
            checks.append(below_pvalue("invariant", f.check, f.column, f.value, f.limit, f.detail))
        else:
            checks.append(above("invariant", f.check, f.column, f.value, f.limit, f.detail))
    return checks, None


def staleness_check(metadata: dict[str, Any], cfg: MonitoringConfig, now: dt.datetime) -> Check:
    created = metadata.get("created_at")
    if not created:
        return missing("staleness", "model_age_days", "the bundle has no created_at")
    age = (now - dt.datetime.fromisoformat(str(created))).total_seconds() / 86400.0
    return above(
        "staleness", "model_age_days", "", age, cfg.max_model_age_days, f"bundle created {created}"
    )


def prediction_skew(logged: Any, recomputed: Any) -> Check:
    """Logged serving predictions vs the bundle's own on the same inputs: they must agree."""
    import numpy as np

    diff = np.abs(np.asarray(logged, dtype="float64") - np.asarray(recomputed, dtype="float64"))
    worst = float(np.nanmax(diff)) if diff.size and not np.isnan(diff).all() else 0.0
    return above(
        "skew",
        "prediction",
        "",
        worst,
        1e-6,
        "max |served - bundle| prediction on the logged inputs",
    )


def performance_checks(
    bench: dict[str, float] | None,
    previous: dict[str, float] | None,
    slo: SloConfig,
    cfg: MonitoringConfig,
) -> list[Check]:
    """The latest `mlplat bench` figures of this model vs the SLO and the previous champion's."""
    if not bench or "p99_ms" not in bench:
        return [missing("performance", "p99_ms", "no `mlplat bench` figures for this model")]
    checks = [above("performance", "p99_ms", "", bench["p99_ms"], slo.p99_ms, "vs serving.slo")]
    if "qps" in bench:
        qps = bench["qps"]
        # Lower is worse: compare min_qps/qps with 1 so severity keeps "1.0 at the line".
        ratio = slo.min_qps / qps if qps > 0 else float("inf")
        checks.append(
            Check(
                "performance",
                "qps",
                "",
                qps,
                slo.min_qps,
                ratio > 1,
                min(ratio, 1000.0),
                "vs serving.slo.min_qps",
            )
        )
    if previous and previous.get("p99_ms"):
        ratio = bench["p99_ms"] / previous["p99_ms"]
        checks.append(
            above(
                "performance",
                "p99_vs_previous",
                "",
                ratio,
                cfg.max_p99_regression,
                f"previous champion p99 {previous['p99_ms']:.2f} ms",
            )
        )
    return checks
