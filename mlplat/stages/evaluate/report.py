"""The self-contained HTML report: one file, plots inlined, no scripts, nothing fetched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mlplat.stages.evaluate import figures
from mlplat.stages.evaluate.metrics import LOWER_IS_BETTER

TEMPLATE = "report.html.j2"


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _interval(ci: Any) -> str:
    if not ci or any(v != v for v in ci):  # missing or NaN bounds
        return "-"
    return f"[{ci[0]:.4f}, {ci[1]:.4f}]"


def _segment_status(gates: dict[str, Any] | None) -> dict[str, str]:
    """Segment -> worst verdict of the gates judged on it (fail > pass > skip)."""
    rank = {"fail": 2, "pass": 1, "skip": 0}
    out: dict[str, str] = {}
    for v in (gates or {}).get("verdicts", []):
        if rank[v["status"]] >= rank.get(out.get(v["scope"], "skip"), 0):
            out[v["scope"]] = v["status"]
    return out


def plots(
    evaluation: dict[str, Any],
    found: dict[str, list[dict[str, float]]],
    gains: dict[str, float],
    failed: set[str],
) -> list[tuple[str, str]]:
    """(title, data URI) per plot, in reading order."""
    out = [(name, figures.curve(name, points)) for name, points in found.items() if points]
    primary = evaluation["primary_metric"]
    rows = [r for r in evaluation.get("segments", []) if r.get("supported")]
    if rows and primary in evaluation["overall"]:
        out.append(
            (
                "segments",
                figures.segment_intervals(primary, evaluation["overall"][primary], rows, failed),
            )
        )
    if gains:
        out.append(("importance", figures.importance(gains)))
    return out


def render(
    experiment: str,
    evaluation: dict[str, Any],
    found: dict[str, list[dict[str, float]]],
    gains: dict[str, float],
    gates: dict[str, Any] | None = None,
) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["num"] = _number
    env.filters["interval"] = _interval
    status = _segment_status(gates)
    failed = {scope for scope, s in status.items() if s == "fail"}
    return env.get_template(TEMPLATE).render(
        experiment=experiment,
        ev=evaluation,
        gates=gates,
        status=status,
        plots=plots(evaluation, found, gains, failed),
        lower_is_better=LOWER_IS_BETTER,
        metric_names=sorted(evaluation["overall"]),
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
