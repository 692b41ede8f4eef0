"""Gates (`conf/gates/`): floors overall and per segment, no regression versus the champion, lift.

Pure: evaluation results and predictions in, verdict rows out. The runner decides what to do with
them (tags, MLflow, moving `champion`).

Versus the champion, a regression blocks only when it is both material and real: the improvement
(positive is better) is below `-champion_tolerance` AND the upper end of its paired bootstrap
interval is below zero. Noise on a small segment therefore never blocks a good model.

Lifts over the baselines and segment gaps follow the same idea: below the bound blocks when the
better end of the interval is beyond it too; below it within noise is a `warn` (shown, logged,
not blocking). Without intervals (`segments.bootstrap: 0`) the point value decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplat.core.errors import ConfigError
from mlplat.core.metric_names import LOWER_IS_BETTER, NAMES, PRIMARY
from mlplat.core.vocabulary import GateStatus
from mlplat.stages.evaluate import bootstrap, segments
from mlplat.stages.evaluate.verdicts import Decision, Verdict

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlplat.core.config import PlatformConfig


def _meets(metric: str, value: float, bound: float) -> bool:
    return value <= bound if metric in LOWER_IS_BETTER else value >= bound


def _bound_text(metric: str, bound: float) -> str:
    return f"{'<=' if metric in LOWER_IS_BETTER else '>='} {bound:g}"


def check_metrics(cfg: PlatformConfig) -> None:
    """Refuse bounds on metrics the task does not compute, naming the key."""
    known = NAMES[cfg.model.task]
    declared = [("floors", m) for m in cfg.gates.floors] + [
        ("segment_floors", m) for m in cfg.gates.segment_floors
    ]
    if cfg.gates.champion_metric:
        declared.append(("champion_metric", cfg.gates.champion_metric))
    for key in ("lift_metric", "segment_gap_metric"):
        if getattr(cfg.gates, key):
            declared.append((key, getattr(cfg.gates, key)))
    for group, metric in declared:
        if metric not in known:
            raise ConfigError(
                f"'{metric}' is not a {cfg.model.task} metric; choose one of {', '.join(known)}",
                key=f"gates.{group}" + ("" if group.endswith("_metric") else f".{metric}"),
            )
    for baseline in cfg.gates.min_lift:
        if baseline not in ("constant", "linear"):
            raise ConfigError(
                f"unknown baseline '{baseline}'; choose constant or linear (the better of the "
                "two: gates.min_lift_over_best)",
                key=f"gates.min_lift.{baseline}",
            )
    gap = cfg.gates.segment_max_gap
    if gap is not None and gap < 0.0:
        raise ConfigError(
            f"must be a fraction >= 0 of the overall value (0.2: 20% worse), not {gap}",
            key="gates.segment_max_gap",
        )


def _floor(gate: str, scope: str, metric: str, found: dict[str, Any], bound: float) -> Verdict:
    value = found.get("metrics", {}).get(metric)
    support = found.get("support")
    ci = found.get("ci", {}).get(metric)
    if value is None:
        return Verdict(
            gate, scope, metric, None, bound, GateStatus.SKIP, "undefined on this slice", support
        )
    ok = _meets(metric, value, bound)
    detail = f"{value:.4f} {_bound_text(metric, bound)}"
    return Verdict(
        gate,
        scope,
        metric,
        value,
        bound,
        GateStatus.PASS if ok else GateStatus.FAIL,
        detail,
        support,
        ci,
    )


def _thin(gate: str, row: dict[str, Any], metric: str, bound: float, need: int) -> Verdict:
    """A segment gate skipped: the segment has fewer holdout rows than gates.segment_min_support."""
    reason = f"support {row['support']} < {need}"
    return Verdict(
        gate, row["segment"], metric, None, bound, GateStatus.SKIP, reason, row["support"]
    )


def floors(
    cfg: PlatformConfig, overall: dict[str, Any], rows: list[dict[str, Any]]
) -> list[Verdict]:
    out = [_floor("floor", "overall", m, overall, b) for m, b in cfg.gates.floors.items()]
    need = cfg.gates.segment_min_support
    for row in rows:
        for metric, bound in cfg.gates.segment_floors.items():
            if row["support"] < need or not row.get("supported"):
                out.append(_thin("segment_floor", row, metric, bound, need))
            else:
                out.append(_floor("segment_floor", row["segment"], metric, row, bound))
    return out


def _beyond(metric: str, ci: list[float] | None, bound: float) -> bool:
    """The better end of the interval is beyond the bound too: the shortfall is not noise."""
    if not ci or any(v != v for v in ci):  # no interval: the point value decides alone
        return True
    return not _meets(metric, ci[0] if metric in LOWER_IS_BETTER else ci[1], bound)


def _lift(metric: str, scope: str, name: str, minimum: float, found: dict[str, Any]) -> Verdict:
    value, ci = found.get("lift", {}).get(name), found.get("lift_ci", {}).get(name)
    if value is None:
        return Verdict("lift", scope, metric, None, minimum, GateStatus.SKIP, "lift undefined")
    interval = f" [{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else ""
    detail = f"{value:+.4f}{interval} over {name} (needs >= {minimum:+g})"
    status = (
        GateStatus.PASS
        if value >= minimum
        else GateStatus.FAIL
        if _beyond("lift", ci, minimum)
        else GateStatus.WARN
    )
    if status == GateStatus.WARN:
        detail += ": within noise"
    return Verdict("lift", scope, metric, value, minimum, status, detail, ci=ci)


def lifts(cfg: PlatformConfig, evaluation: dict[str, Any]) -> list[Verdict]:
    """Per declared baseline, and over the better of the two (`best`, on by default)."""
    metric = cfg.gates.lift_metric or PRIMARY[cfg.model.task]
    out = [_lift(metric, b, b, m, evaluation) for b, m in cfg.gates.min_lift.items()]
    best, minimum = evaluation.get("best_baseline"), cfg.gates.min_lift_over_best
    if minimum is not None:
        if best is None:
            out.append(
                Verdict("lift", "best", metric, None, minimum, GateStatus.SKIP, "no baseline")
            )
        else:
            out.append(_lift(metric, "best", best, minimum, evaluation))
    return out


def _gap_row(metric: str, row: dict[str, Any], overall: float, bound: float, gap: float) -> Verdict:
    value, ci = row.get("metrics", {}).get(metric), row.get("ci", {}).get(metric)
    scope, support = row["segment"], row["support"]
    if value is None:
        return Verdict(
            "segment_gap", scope, metric, None, bound, GateStatus.SKIP, "undefined", support
        )
    worse = -bootstrap.better_by(metric, value, overall) / abs(overall)
    how = f"{worse:.1%} worse" if worse > 0 else f"{-worse:.1%} better"
    detail = f"{value:.4f} vs {overall:.4f} overall: {how} (max {gap:.0%})"
    status = GateStatus.PASS if _meets(metric, value, bound) else GateStatus.FAIL
    if status == GateStatus.FAIL and not _beyond(metric, ci, bound):
        status, detail = GateStatus.WARN, detail + ", within noise"
    return Verdict("segment_gap", scope, metric, value, bound, status, detail, support, ci)


def segment_gaps(
    cfg: PlatformConfig, overall: dict[str, float], rows: list[dict[str, Any]]
) -> list[Verdict]:
    """No supported segment much worse than overall: a floor relative to the model itself, so
    every project has one without knowing what a good value of its metric is."""
    gap = cfg.gates.segment_max_gap
    metric = cfg.gates.segment_gap_metric or PRIMARY[cfg.model.task]
    if gap is None or not overall.get(metric):  # zero or undefined: no relative floor
        return []
    base = overall[metric]
    bound = base + gap * abs(base) if metric in LOWER_IS_BETTER else base - gap * abs(base)
    need = cfg.gates.segment_min_support
    return [
        _gap_row(metric, row, base, bound, gap)
        if row["support"] >= need and row.get("supported")
        else _thin("segment_gap", row, metric, bound, need)
        for row in rows
    ]


def _versus(
    cfg: PlatformConfig, scope: str, y: np.ndarray, new: np.ndarray, old: np.ndarray, version: str
) -> Verdict:
    metric, tolerance = str(cfg.gates.champion_metric), cfg.gates.champion_tolerance
    seg = cfg.segments
    delta, (low, high) = bootstrap.paired_delta(
        cfg.model.task,
        metric,
        y,
        new,
        old,
        cfg.model.threshold,
        seg.bootstrap,
        seg.confidence,
        cfg.seed,
    )
    if delta != delta:  # NaN: the metric is undefined on this slice
        return Verdict(
            "champion",
            scope,
            metric,
            None,
            -tolerance,
            GateStatus.SKIP,
            "undefined on this slice",
            y.size,
        )
    blocked = delta < -tolerance and high < 0
    detail = f"{delta:+.4f} [{low:+.4f}, {high:+.4f}] vs champion v{version}"
    return Verdict(
        "champion",
        scope,
        metric,
        delta,
        -tolerance,
        GateStatus.FAIL if blocked else GateStatus.PASS,
        detail,
        int(y.size),
        [low, high],
    )


def champion(
    cfg: PlatformConfig,
    frame: pd.DataFrame,
    y: np.ndarray,
    new: np.ndarray,
    old: np.ndarray | None,
    version: str | None,
) -> list[Verdict]:
    """Overall and per supported segment: improvement over the champion on the same rows."""
    metric = cfg.gates.champion_metric
    if not metric:
        return []
    if old is None or version is None:
        return [
            Verdict("champion", "overall", metric, None, None, GateStatus.SKIP, "no champion yet")
        ]
    out = [_versus(cfg, "overall", y, new, old, version)]
    for (name, _, mask), _need in segments.declared(frame, cfg.segments):
        support = int(mask.sum())
        if support < cfg.gates.segment_min_support:
            continue
        out.append(_versus(cfg, name, y[mask], new[mask], old[mask], version))
    return out


def decide(
    cfg: PlatformConfig,
    evaluation: dict[str, Any],
    frame: pd.DataFrame,
    y: np.ndarray,
    new: np.ndarray,
    old: np.ndarray | None = None,
    version: str | None = None,
) -> Decision:
    """Every gate's verdict; `passed` only if none failed (skipped and warned gates do not
    block)."""
    check_metrics(cfg)
    overall = {
        "metrics": evaluation["overall"],
        "support": int(y.size),
        "ci": evaluation.get("overall_ci", {}),
    }
    verdicts = [
        *floors(cfg, overall, evaluation.get("segments", [])),
        *segment_gaps(cfg, evaluation["overall"], evaluation.get("segments", [])),
        *champion(cfg, frame, y, new, old, version),
        *lifts(cfg, evaluation),
    ]
    failed = [v for v in verdicts if v.status == GateStatus.FAIL]
    names = tuple(f"{v.gate}.{v.metric} on {v.scope}" for v in failed)
    return Decision(not failed, version, tuple(verdicts), names)
