"""Gates (`conf/gates/`): floors overall and per segment, no regression versus the champion, lift.

Pure: evaluation results and predictions in, verdict rows out. The runner decides what to do with
them (tags, MLflow, moving `champion`).

Versus the champion, a regression blocks only when it is both material and real: the improvement
(positive is better) is below `-champion_tolerance` AND the upper end of its paired bootstrap
interval is below zero. Noise on a small segment therefore never blocks a good model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplat.core.errors import ConfigError
from mlplat.stages.evaluate import bootstrap, segments
from mlplat.stages.evaluate.metrics import LOWER_IS_BETTER, NAMES, PRIMARY

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlplat.core.config import PlatformConfig

Verdict = dict[str, Any]


def _row(
    gate: str,
    scope: str,
    metric: str,
    value: float | None,
    bound: float | None,
    status: str,
    detail: str = "",
    support: int | None = None,
    ci: list[float] | None = None,
) -> Verdict:
    return {
        "gate": gate,
        "scope": scope,
        "metric": metric,
        "value": value,
        "bound": bound,
        "status": status,
        "detail": detail,
        "support": support,
        "ci": ci,
    }


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
    if cfg.gates.lift_metric:
        declared.append(("lift_metric", cfg.gates.lift_metric))
    for group, metric in declared:
        if metric not in known:
            raise ConfigError(
                f"'{metric}' is not a {cfg.model.task} metric; choose one of {', '.join(known)}",
                key=f"gates.{group}" + ("" if group.endswith("_metric") else f".{metric}"),
            )
    for baseline in cfg.gates.min_lift:
        if baseline not in ("constant", "linear"):
            raise ConfigError(
                f"unknown baseline '{baseline}'; choose constant or linear",
                key=f"gates.min_lift.{baseline}",
            )


def _floor(gate: str, scope: str, metric: str, found: dict[str, Any], bound: float) -> Verdict:
    value = found.get("metrics", {}).get(metric)
    support = found.get("support")
    ci = found.get("ci", {}).get(metric)
    if value is None:
        return _row(gate, scope, metric, None, bound, "skip", "undefined on this slice", support)
    ok = _meets(metric, value, bound)
    detail = f"{value:.4f} {_bound_text(metric, bound)}"
    return _row(gate, scope, metric, value, bound, "pass" if ok else "fail", detail, support, ci)


def floors(
    cfg: PlatformConfig, overall: dict[str, Any], rows: list[dict[str, Any]]
) -> list[Verdict]:
    out = [_floor("floor", "overall", m, overall, b) for m, b in cfg.gates.floors.items()]
    need = cfg.gates.segment_min_support
    for row in rows:
        for metric, bound in cfg.gates.segment_floors.items():
            if row["support"] < need or not row.get("supported"):
                out.append(
                    _row(
                        "segment_floor",
                        row["segment"],
                        metric,
                        None,
                        bound,
                        "skip",
                        f"support {row['support']} < {need}",
                        row["support"],
                    )
                )
            else:
                out.append(_floor("segment_floor", row["segment"], metric, row, bound))
    return out


def lifts(cfg: PlatformConfig, lift: dict[str, float]) -> list[Verdict]:
    metric = cfg.gates.lift_metric or PRIMARY[cfg.model.task]
    out = []
    for baseline, minimum in cfg.gates.min_lift.items():
        value = lift.get(baseline)
        if value is None:
            out.append(_row("lift", baseline, metric, None, minimum, "skip", "lift undefined"))
            continue
        ok = value >= minimum
        out.append(
            _row(
                "lift",
                baseline,
                metric,
                value,
                minimum,
                "pass" if ok else "fail",
                f"{value:+.4f} over {baseline} (needs >= {minimum:+g})",
            )
        )
    return out


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
        return _row(
            "champion", scope, metric, None, -tolerance, "skip", "undefined on this slice", y.size
        )
    blocked = delta < -tolerance and high < 0
    detail = f"{delta:+.4f} [{low:+.4f}, {high:+.4f}] vs champion v{version}"
    return _row(
        "champion",
        scope,
        metric,
        delta,
        -tolerance,
        "fail" if blocked else "pass",
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
        return [_row("champion", "overall", metric, None, None, "skip", "no champion yet")]
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
) -> dict[str, Any]:
    """Every gate's verdict; `passed` only if none failed (skipped gates do not block)."""
    check_metrics(cfg)
    overall = {
        "metrics": evaluation["overall"],
        "support": int(y.size),
        "ci": evaluation.get("overall_ci", {}),
    }
    verdicts = [
        *floors(cfg, overall, evaluation.get("segments", [])),
        *champion(cfg, frame, y, new, old, version),
        *lifts(cfg, evaluation.get("lift", {})),
    ]
    failed = [v for v in verdicts if v["status"] == "fail"]
    return {
        "passed": not failed,
        "champion_version": version,
        "verdicts": verdicts,
        "failed": [f"{v['gate']}.{v['metric']} on {v['scope']}" for v in failed],
    }
