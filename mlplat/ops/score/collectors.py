"""One small function per rubric test: Facts -> (points, evidence).

Points: 1.0 when the test runs automatically and repeatedly (in the pipeline, CI or a schedule),
0.5 when it ran by hand with its results kept (e.g. in MLflow), 0.0 otherwise. The evidence line
says what was found, or what is missing, so a team knows what to add.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlplat.core.metric_names import NAMES, PRIMARY
from mlplat.ops.score.facts import Facts
from mlplat.ops.score.rubric import AUTOMATED, MANUAL
from mlplat.serving.online.state import EVIDENCE_TAG


@dataclass(frozen=True)
class Found:
    points: float
    evidence: str


SCHEDULE = re.compile(r"^\s*schedule\s*:", re.MULTILINE)


def _ci(facts: Facts) -> dict[str, str]:
    return facts.texts(".github/workflows/", ".gitlab-ci.yml")


def _automation(facts: Facts, pattern: str) -> str | None:
    """The CI workflow or script, pre-commit hook or Makefile that runs `pattern`, if any."""
    where = {**_ci(facts), **facts.texts(".pre-commit-config.yaml", "Makefile", ".ci/")}
    return next((p for p, t in sorted(where.items()) if re.search(pattern, t)), None)


def _scheduled_monitor(facts: Facts) -> str | None:
    return next(
        (
            p
            for p, t in sorted(_ci(facts).items())
            if SCHEDULE.search(t) and re.search(r"mlplat (monitor|retrain)", t)
        ),
        None,
    )


def _tests_mentioning(facts: Facts, pattern: str) -> list[str]:
    return [
        p
        for p, t in sorted(facts.texts("tests/").items())
        if p.endswith(".py") and re.search(pattern, t)
    ]


def _tested(facts: Facts, pattern: str, what: str) -> Found:
    tests = _tests_mentioning(facts, pattern)
    if not tests:
        return Found(0.0, f"no test under tests/ exercises {what}")
    ci = _automation(facts, r"pytest|make test")
    if ci:
        return Found(AUTOMATED, f"{len(tests)} test file(s) ({tests[0]}...), run by {ci}")
    return Found(MANUAL, f"{len(tests)} test file(s) ({tests[0]}...), but no CI runs pytest")


def _monitored(facts: Facts, metric: str, what: str) -> Found:
    """A monitoring check: in a scheduled workflow (1), run by hand and logged (0.5), or not."""
    runs = [r for r in facts.monitor_runs if any(k.startswith(metric) for k in r.metrics)]
    if not runs:
        return Found(0.0, f"no `mlplat monitor` run logged {metric}* ({what})")
    schedule = _scheduled_monitor(facts)
    if schedule:
        return Found(AUTOMATED, f"{what}: {len(runs)} monitor run(s); scheduled in {schedule}")
    return Found(MANUAL, f"{what}: {len(runs)} monitor run(s) in MLflow, but no scheduled workflow")


# -- data ---------------------------------------------------------------------------------------


def data_1(facts: Facts) -> Found:
    columns = len(facts.cfg.schema.columns)
    if not columns:
        return Found(0.0, "no columns declared in conf/schema")
    validated = [r for r in facts.runs if r.status == "FINISHED" and "mlplat.data_md5" in r.tags]
    if validated:
        return Found(
            AUTOMATED,
            f"schema of {columns} columns; validated by the `validate` stage "
            f"of every run ({len(validated)} runs)",
        )
    return Found(MANUAL, f"schema of {columns} columns declared, but no run validated data yet")


def data_2(facts: Facts) -> Found:
    ablation = [r for r in facts.runs if any(k.startswith("ablation.") for k in r.metrics)]
    if ablation:
        return Found(AUTOMATED, f"ablation.* metrics on {len(ablation)} run(s)")
    if any(r.status == "FINISHED" for r in facts.runs):
        return Found(
            MANUAL,
            "gain importance in every run's evaluate report; no ablation.* "
            "metrics, so features are not shown to be beneficial one by one",
        )
    return Found(0.0, "no finished run (importance is in the evaluate report)")


def data_3(facts: Facts) -> Found:
    """A feature's cost is what computing it takes and what keeping its data and artifacts
    takes: both must be counted, so the weaker of the two halves is the test's points."""
    compute, storage = _compute_cost(facts), _storage_cost(facts)
    weaker = min(compute, storage, key=lambda f: f.points)
    return Found(weaker.points, f"{compute.evidence}; {storage.evidence}")


def _compute_cost(facts: Facts) -> Found:
    costed = [r for r in facts.runs if any(k.startswith("cost.featurize.") for k in r.metrics)]
    if not costed:
        return Found(0.0, "no run logged cost.featurize.* (the cost profiler)")
    b = facts.cfg.budget
    limits = [
        n
        for n in ("max_wall_seconds", "max_train_seconds", "max_peak_memory_mb", "max_money")
        if getattr(b, n).limit is not None
    ]
    if limits:
        return Found(
            AUTOMATED,
            f"featurize cost profiled on {len(costed)} run(s); budgets: {', '.join(limits)}",
        )
    return Found(
        MANUAL,
        f"featurize cost profiled on {len(costed)} run(s), but no budget limit "
        "is declared in conf/budget",
    )


def _storage_cost(facts: Facts) -> Found:
    counted = [r for r in facts.storage_runs if "storage.usd_month" in r.metrics]
    if not counted:
        return Found(0.0, "storage never counted (`mlplat gc` logs storage.* to mlplat-storage)")
    last = counted[0].metrics  # newest first
    figure = (
        f"storage {last.get('storage.bytes.total', 0) / 1e9:.3g} GB, "
        f"{last['storage.usd_month']:.3g} {facts.cfg.budget.currency}/month "
        f"({len(counted)} `mlplat gc` run(s))"
    )
    where = _automation(facts, r"mlplat gc\b")
    if where:
        return Found(AUTOMATED, f"{figure}; counted by {where}")
    return Found(MANUAL, f"{figure}, counted by hand (no CI or schedule runs `mlplat gc`)")


def data_4(facts: Facts) -> Found:
    where = _automation(facts, r"mlplat lint")
    if where:
        return Found(
            AUTOMATED, f"`mlplat lint` (naming, descriptions, registry names) runs in {where}"
        )
    return Found(0.0, "no CI workflow or pre-commit hook runs `mlplat lint`")


def data_7(facts: Facts) -> Found:
    return _tested(facts, r"\bfeature", "feature code")


# -- model --------------------------------------------------------------------------------------


def model_2(facts: Facts) -> Found:
    measured = [(v, d) for v, d in _experiments(facts) if d.get("overall")]
    if not measured:
        return Found(0.0, "no online experiment measured a version on live outcomes")
    version, decision = measured[-1]
    effect = decision["overall"]["effect"]
    agreement = [
        f"{a['arm']} {a['mean_loss']:.4g} online vs {a['offline_loss']:.4g} on the holdout"
        for a in decision.get("arms", [])
        if a.get("mean_loss") is not None and a.get("offline_loss") is not None
    ]
    return Found(
        AUTOMATED,
        f"{len(measured)} online experiment(s); latest: version {version}, online "
        f"{decision['metric']} effect {effect:+.4g} vs the champion"
        + (f"; {', '.join(agreement)}" if agreement else "")
        + " (`mlplat online status`)",
    )


def model_3(facts: Facts) -> Found:
    sweeps = [r for r in facts.runs if r.tags.get("mlplat.sweep") == "parent"]
    if not sweeps:
        return Found(0.0, "no hyperparameter sweep (`mlplat run -m`) in MLflow")
    where = _automation(facts, r"mlplat run .*-m\b|mlplat run -m")
    points = AUTOMATED if where else MANUAL
    return Found(
        points,
        f"{len(sweeps)} sweep(s) in MLflow" + (f"; run by {where}" if where else ", run by hand"),
    )


def model_4(facts: Facts) -> Found:
    return _monitored(facts, "monitor.staleness.", "model age vs monitoring.max_model_age_days")


def model_5(facts: Facts) -> Found:
    tags = facts.latest_version_tags()
    lifts = [k for k in tags if k.startswith("mlplat.gate.lift.")]
    if lifts:
        return Found(
            AUTOMATED,
            f"lift over baselines gated at registration ({len(lifts)} gate(s)"
            f" on v{max(facts.version_tags, key=int)})",
        )
    return Found(0.0, "the latest model version has no lift gate (gates.min_lift)")


def model_6(facts: Facts) -> Found:
    tags = facts.latest_version_tags()
    slices = [
        k
        for k in tags
        if k.startswith(
            ("mlplat.gate.segment_floor.", "mlplat.gate.segment_gap.", "mlplat.gate.champion.")
        )
        and ".overall." not in k
    ]
    if slices:
        return Found(AUTOMATED, f"{len(slices)} per-segment gate(s) on the latest version")
    return Found(
        0.0,
        "no per-segment gate on the latest model version (gates.segment_max_gap, "
        "gates.segment_floors)",
    )


# -- infrastructure -----------------------------------------------------------------------------


def infra_1(facts: Facts) -> Found:
    """Two finished runs of one config on the same data must agree on every metric of the
    project's task (its primary metric must be there: auc, log_loss or rmse)."""
    task = facts.cfg.model.task
    groups: dict[tuple[str, str], list[dict[str, float]]] = {}
    for r in facts.runs:
        key = (r.tags.get("mlplat.config_hash", ""), r.tags.get("mlplat.data_md5", ""))
        if r.status == "FINISHED" and all(key) and PRIMARY.get(task) in r.metrics:
            groups.setdefault(key, []).append(r.metrics)
    pairs = {k: v for k, v in groups.items() if len(v) >= 2}
    if not pairs:
        return Found(
            0.0,
            "no config was trained twice on the same data (same config_hash and "
            "data_md5), so reproducibility is unproven",
        )
    for (config, _), metrics in pairs.items():
        for name in NAMES[task]:
            values = {m[name] for m in metrics if name in m}
            if len(values) > 1:
                return Found(0.0, f"config {config}: {name} differs between runs {sorted(values)}")
    return Found(
        AUTOMATED, f"{len(pairs)} config(s) trained twice on the same data gave equal metrics"
    )


def infra_2(facts: Facts) -> Found:
    return _tested(facts, r"\+experiment=|run_experiment|num_boost_round", "model training")


def infra_3(facts: Facts) -> Found:
    where = _automation(facts, r"dvc repro|mlplat run")
    if where:
        return Found(AUTOMATED, f"the whole pipeline runs in {where}")
    return Found(0.0, "no CI workflow runs `dvc repro` or `mlplat run`")


def infra_4(facts: Facts) -> Found:
    tags = facts.latest_version_tags()
    if "mlplat.gates" in tags:
        return Found(
            AUTOMATED,
            f"gates judged before @champion moves (latest version: {tags['mlplat.gates']})",
        )
    return Found(0.0, "the latest model version carries no gate verdict (mlplat.gates)")


def _experiments(facts: Facts) -> list[tuple[str, dict[str, Any]]]:
    """(version, decision) of every online experiment decided on a version, oldest first."""
    found = [
        (version, json.loads(tags[EVIDENCE_TAG]))
        for version, tags in facts.version_tags.items()
        if EVIDENCE_TAG in tags
    ]
    return sorted(found, key=lambda pair: int(pair[0]))


def infra_6(facts: Facts) -> Found:
    canaries = [v for v, d in _experiments(facts) if d.get("mode") == "canary"]
    if canaries:
        return Found(
            AUTOMATED,
            "canary experiment(s) decided online (`mlplat online decide`, or a server's own "
            f"guardrail stop; version(s) {', '.join(canaries)})",
        )
    swaps = [r for r in facts.runs if r.metrics.get("bench.swap_failed_requests") == 0.0]
    if swaps:
        return Found(
            MANUAL,
            f"hot swap under load with 0 failed requests (`mlplat bench --swap`, "
            f"{len(swaps)} run(s)); no automated canary",
        )
    return Found(0.0, "no `mlplat bench --swap` result with 0 failed requests in MLflow")


def infra_7(facts: Facts) -> Found:
    stopped = [v for v, d in _experiments(facts) if d.get("verdict") == "rollback"]
    if stopped:
        return Found(
            AUTOMATED,
            "guardrail breaches rolled traffic back automatically "
            f"(version(s) {', '.join(stopped)})",
        )
    if "rollback" in facts.alias_actions:
        n = facts.alias_actions.count("rollback")
        return Found(MANUAL, f"@champion rolled back {n} time(s) (alias history)")
    return Found(0.0, f"no rollback of {facts.model_name} in the alias history")


# -- monitoring ---------------------------------------------------------------------------------


def monitoring_1(facts: Facts) -> Found:
    bots = facts.texts(".github/dependabot.yml", ".github/dependabot.yaml", "renovate.json")
    if bots:
        return Found(AUTOMATED, f"dependency updates announced by {sorted(bots)[0]}")
    return Found(0.0, "no .github/dependabot.yml or renovate.json")


def monitoring_2(facts: Facts) -> Found:
    return _monitored(facts, "monitor.skew.schema", "input schema on serving data")


def monitoring_3(facts: Facts) -> Found:
    return _monitored(facts, "monitor.skew.", "null rates, unseen values, served predictions")


def monitoring_4(facts: Facts) -> Found:
    return _monitored(facts, "monitor.staleness.model_age_days", "model age")


def monitoring_5(facts: Facts) -> Found:
    return _monitored(facts, "monitor.stability.", "NaN/inf features and predictions")


def monitoring_6(facts: Facts) -> Found:
    return _monitored(facts, "monitor.performance.", "bench latency/QPS vs SLO and last champion")


def monitoring_7(facts: Facts) -> Found:
    return _monitored(facts, "monitor.drift.psi.prediction", "prediction drift (no labels)")


COLLECTORS: dict[str, Callable[[Facts], Found]] = {
    name: fn
    for name, fn in globals().items()
    if re.fullmatch(r"(data|model|infra|monitoring)_\d", name) and callable(fn)
}
