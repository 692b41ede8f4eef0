"""The self-contained HTML report: one file, plots inlined, no scripts, nothing fetched.

The plots are PNG files the evaluate stage writes beside the curve data (`evaluate/plots/`), so
the run report with the gates' verdicts reuses them instead of drawing them again.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.metric_names import LOWER_IS_BETTER
from mlplat.core.vocabulary import GateStatus
from mlplat.stages.evaluate import curves, figures

if TYPE_CHECKING:
    from mlplat.stages.evaluate.verdicts import Decision

TEMPLATE = "report.html.j2"
ORDER = (*curves.AXES, "segments", "importance")  # reading order of the plots


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


def _segment_status(gates: Decision | None) -> dict[str, str]:
    """Segment -> worst verdict of the gates judged on it (fail > warn > pass > skip)."""
    rank: dict[str, int] = {
        GateStatus.FAIL: 3,
        GateStatus.WARN: 2,
        GateStatus.PASS: 1,
        GateStatus.SKIP: 0,
    }
    out: dict[str, str] = {}
    for v in gates.verdicts if gates else ():
        if rank[v.status] >= rank.get(out.get(v.scope, GateStatus.SKIP), 0):
            out[v.scope] = v.status
    return out


def failed_segments(gates: Decision | None) -> set[str]:
    return {scope for scope, s in _segment_status(gates).items() if s == GateStatus.FAIL}


def segment_image(evaluation: dict[str, Any], failed: set[str]) -> bytes | None:
    """The primary metric per supported segment, failed ones in red; None without segments."""
    primary = evaluation["primary_metric"]
    rows = [r for r in evaluation.get("segments", []) if r.get("supported")]
    if not rows or primary not in evaluation["overall"]:
        return None
    return figures.segment_intervals(primary, evaluation["overall"][primary], rows, failed)


def images(
    evaluation: dict[str, Any],
    found: dict[str, list[dict[str, float]]],
    gains: dict[str, float],
    failed: set[str] | None = None,
) -> dict[str, bytes]:
    """Plot name -> PNG: the curves, the segments and the feature importance."""
    out = curve_images(found, gains)
    segments = segment_image(evaluation, failed or set())
    if segments is not None:
        out["segments"] = segments
    return out


def curve_images(
    found: dict[str, list[dict[str, float]]], gains: dict[str, float]
) -> dict[str, bytes]:
    """The plots that need no evaluation numbers: the curves and the feature importance."""
    out = {name: figures.curve(name, points) for name, points in found.items() if points}
    if gains:
        out["importance"] = figures.importance(gains)
    return out


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render(
    experiment: str,
    evaluation: dict[str, Any],
    pngs: dict[str, bytes],
    gates: Decision | None = None,
) -> str:
    """The page, with `pngs` (from `images`) inlined in reading order."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["num"] = _number
    env.filters["interval"] = _interval
    return env.get_template(TEMPLATE).render(
        experiment=experiment,
        ev=evaluation,
        gates=gates,
        status=_segment_status(gates),
        plots=[(name, _data_uri(pngs[name])) for name in ORDER if name in pngs],
        lower_is_better=LOWER_IS_BETTER,
        metric_names=sorted(evaluation["overall"]),
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
