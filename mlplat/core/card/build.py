"""A card from evidence: what the registry and the version's run already hold, nothing typed twice.

`Evidence` is read from the tracking store by `mlplat.tracking.cards.collect`; `build` is pure,
so the same version gives the same card whenever it is built, at registration or later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlplat.core.card.model import (
    Analysis,
    Baseline,
    Card,
    Caveats,
    Column,
    Cost,
    Data,
    Details,
    Gate,
    Metric,
    Plot,
    Slice,
    Use,
    WeakSlice,
)
from mlplat.core.config.card import CardConfig

# the run's artifacts a card reads (JSON), by their path in the run
METRICS, SEGMENTS, GATES = "evaluate/metrics.json", "evaluate/segments.json", "evaluate/gates.json"
VALIDATION, COST, PROFILE = "validation/report.json", "cost.json", "profile/deployment.json"
FILES = (METRICS, SEGMENTS, GATES, VALIDATION, COST, PROFILE)
PLOTS = ("roc", "pr", "calibration", "segments", "importance")  # evaluate/plots/<name>.png


@dataclass(frozen=True)
class Evidence:
    name: str
    version: str
    created: str  # ISO date-time the version was registered
    run_id: str
    version_tags: Mapping[str, str]
    config: Mapping[str, Any]  # the run's resolved config (config/resolved.yaml)
    files: Mapping[str, Any]  # FILES the run holds, parsed
    plots: Mapping[str, bytes] = field(default_factory=dict)
    test_score: Mapping[str, Any] | None = None  # the last ML Test Score before registration
    drift: str | None = None  # the last monitor verdict on this model before registration


def card_config(config: Mapping[str, Any], fallback: CardConfig) -> CardConfig:
    """The `card` group the version was trained with; `fallback` (the project's declaration now)
    for a version trained before the group existed."""
    declared = config.get("card")
    if not isinstance(declared, Mapping):
        return fallback
    known = CardConfig.__dataclass_fields__
    return CardConfig(**{k: v for k, v in declared.items() if k in known})


def build(evidence: Evidence, declared: CardConfig) -> Card:
    config = evidence.config
    return Card(
        details=_details(evidence, declared),
        use=Use(
            tuple(declared.intended_use),
            tuple(declared.intended_users),
            tuple(declared.out_of_scope),
        ),
        data=_data(evidence),
        analysis=_analysis(evidence),
        caveats=_caveats(evidence, declared),
        cost=_cost(evidence, str(_get(config, "budget", "currency") or "USD")),
        test_score=_score(evidence.test_score),
        plots=tuple(Plot(n, evidence.plots[n]) for n in PLOTS if n in evidence.plots),
    )


def _get(tree: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(tree, Mapping):
            return None
        tree = tree.get(key)  # type: ignore[assignment]
    return tree


def _details(ev: Evidence, declared: CardConfig) -> Details:
    tags, metrics = ev.version_tags, ev.files.get(METRICS, {})
    target = metrics.get("target", {})
    return Details(
        name=ev.name,
        version=ev.version,
        uri=f"models:/{ev.name}/{ev.version}",
        created=ev.created,
        run_id=ev.run_id,
        git_sha=tags.get("git_sha", "unknown"),
        config_hash=tags.get("config_hash", "unknown"),
        data_md5=tags.get("data_md5", "unknown"),
        mlplat_version=tags.get("mlplat_version", "unknown"),
        lightgbm_version=tags.get("lightgbm_version", "unknown"),
        task=str(metrics.get("task") or _get(ev.config, "model", "task") or "unknown"),
        target=str(target.get("column") or _get(ev.config, "data", "target") or "unknown"),
        experiment=str(_get(ev.config, "experiment_name") or "unknown"),
        owners=tuple(declared.owners),
        license=declared.license,
        overview=declared.overview,
        draft=declared.draft,
    )


def _split(config: Mapping[str, Any]) -> str:
    split = _get(config, "data", "split") or {}
    shown = [str(split.get("strategy", "unknown"))]
    shown += [
        f"{key} {split[key]}"
        for key in ("test_size", "cutoff", "group_column", "seed")
        if split.get(key) is not None
    ]
    return ", ".join(shown)


def _data(ev: Evidence) -> Data:
    config, validation = ev.config, ev.files.get(VALIDATION, {})
    metrics = ev.files.get(METRICS, {})
    rows, test_rows = validation.get("rows"), metrics.get("rows")
    missing = _get(metrics, "data", "missing_target_rows") or 0
    train_rows = rows - missing - test_rows if rows is not None and test_rows is not None else None
    columns = _get(config, "schema", "columns") or {}
    return Data(
        source=str(validation.get("source") or _get(config, "data", "path") or "unknown"),
        rows=rows,
        train_rows=train_rows,
        test_rows=test_rows,
        split=_split(config),
        timestamp_column=_get(config, "data", "timestamp_column"),
        schema=str(validation.get("schema") or _get(config, "schema", "name") or "unknown"),
        columns=tuple(
            Column(name, str(spec.get("dtype")), bool(spec.get("nullable")))
            for name, spec in columns.items()
        ),
        features=tuple(_get(config, "features", "definitions") or {}),
        training_period=_period(metrics, "training_period"),
        holdout_period=_period(metrics, "holdout_period"),
    )


def _period(metrics: Mapping[str, Any], which: str) -> tuple[str, str] | None:
    found = _get(metrics, "data", which)
    return (str(found[0]), str(found[1])) if found else None


def _interval(ci: Mapping[str, Any], name: str) -> tuple[float | None, float | None]:
    pair = ci.get(name)
    return (float(pair[0]), float(pair[1])) if pair else (None, None)


def _metrics(values: Mapping[str, Any], ci: Mapping[str, Any]) -> tuple[Metric, ...]:
    return tuple(
        Metric(name, float(value), *_interval(ci, name))
        for name, value in sorted(values.items())
        if isinstance(value, int | float)
    )


def _analysis(ev: Evidence) -> Analysis:
    metrics, verdict = ev.files.get(METRICS, {}), ev.files.get(GATES)
    primary = str(metrics.get("primary_metric", ""))
    slices = tuple(
        Slice(
            str(row["segment"]),
            str(row.get("slice", "")),
            int(row.get("support", 0)),
            _metrics(row.get("metrics", {}), row.get("ci", {})) if row.get("supported") else (),
        )
        for row in ev.files.get(SEGMENTS, {}).get("segments", [])
    )
    lift, lift_ci = metrics.get("lift", {}), metrics.get("lift_ci", {})
    baselines = tuple(
        Baseline(
            name,
            float(values.get(primary, float("nan"))),
            lift.get(name),
            *_interval(lift_ci, name),
        )
        for name, values in sorted(metrics.get("baselines", {}).items())
    )
    return Analysis(
        primary_metric=primary,
        overall=_metrics(metrics.get("overall", {}), metrics.get("overall_ci", {})),
        slices=slices,
        gates=tuple(
            Gate(v["gate"], v["scope"], v["metric"], v["status"], v["detail"])
            for v in (verdict or {}).get("verdicts", [])
        ),
        passed=None if verdict is None else bool(verdict.get("passed")),
        failed=tuple((verdict or {}).get("failed", [])),
        champion_version=(verdict or {}).get("champion_version"),
        baselines=baselines,
    )


def _caveats(ev: Evidence, declared: CardConfig) -> Caveats:
    verdict = ev.files.get(GATES) or {}
    weak = _get(ev.files.get(SEGMENTS, {}), "discovery", "weak") or []
    below = {
        v["scope"]
        for v in verdict.get("verdicts", [])
        if v["status"] == "fail" and v["gate"].startswith("segment")
    }
    return Caveats(
        weak_slices=tuple(
            WeakSlice(
                str(w["segment"]),
                str(w.get("slice", "")),
                int(w.get("support", 0)),
                float(w.get("effect_size", 0.0)),
                float(w.get("p_adjusted", 1.0)),
            )
            for w in weak
        ),
        below_floor=tuple(sorted(below)),
        unmeasured=tuple(ev.files.get(METRICS, {}).get("warnings", [])),
        drift=ev.drift,
        limitations=tuple(declared.limitations),
        ethical=tuple(declared.ethical_considerations),
    )


def _serving(profile: Mapping[str, Any] | None) -> str | None:
    if not profile:
        return None
    rec = profile.get("recommendation", {})
    meets = "meets" if rec.get("meets_p99") else "misses"
    return (
        f"{rec.get('workers')} worker(s), {rec.get('cpu')} CPU, {rec.get('memory_mb')} MB; "
        f"1-row p99 {rec.get('p99_ms')} ms ({meets} the {_get(rec, 'slo', 'p99_ms')} ms SLO), "
        f"{rec.get('qps_per_worker')} QPS per worker"
    )


def _cost(ev: Evidence, currency: str) -> Cost:
    cost = ev.files.get(COST) or {}
    total = cost.get("total", {})
    return Cost(
        currency=str(cost.get("currency", currency)),
        training=total.get("money"),
        wall_seconds=total.get("wall_seconds"),
        peak_rss_mb=total.get("peak_rss_mb"),
        serving=_serving(ev.files.get(PROFILE)),
    )


def _score(score: Mapping[str, Any] | None) -> str | None:
    if not score:
        return None
    band = f" ({score['band']})" if score.get("band") else ""
    return f"{score['final']:g}{band}, measured {score.get('date', 'before registration')}"
