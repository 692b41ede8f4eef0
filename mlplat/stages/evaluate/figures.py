"""The report's plots as PNG bytes (the report inlines them, so it needs no network or files).

`matplotlib.figure.Figure` is used directly (no pyplot), so no global state or GUI backend.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from mlplat.stages.evaluate.curves import AXES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLOR, BASE, WARN = "#1f77b4", "#999999", "#d62728"


def _figure(width: float = 5.0, height: float = 4.0) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def curve(name: str, points: list[dict[str, float]]) -> bytes:
    x_key, y_key, title = AXES[name]
    fig, ax = _figure()
    xs, ys = [p[x_key] for p in points], [p[y_key] for p in points]
    if name == "calibration":
        ax.plot([0, 1], [0, 1], linestyle="--", color=BASE, label="perfectly calibrated")
        lims = (min([*xs, *ys, 0.0]), max([*xs, *ys, 1.0]))
        ax.set_xlim(lims)
        ax.set_ylim(lims)
        ax.plot(xs, ys, marker="o", color=COLOR, label="model")
    else:
        if name == "roc":
            ax.plot([0, 1], [0, 1], linestyle="--", color=BASE, label="chance")
        ax.plot(
            xs,
            ys,
            color=COLOR,
            label="model",
            drawstyle="steps-post" if name == "pr" else "default",
        )
        ax.fill_between(xs, ys, alpha=0.15, color=COLOR, step="post" if name == "pr" else None)
    ax.set(title=title, xlabel=x_key, ylabel=y_key)
    ax.legend(loc="best")
    return png(fig)


def importance(gains: dict[str, float], top: int = 20) -> bytes:
    ranked = sorted(gains.items(), key=lambda kv: kv[1])[-top:]
    fig, ax = _figure(6.0, max(2.5, 0.3 * len(ranked) + 1))
    ax.barh([k for k, _ in ranked], [v for _, v in ranked], color=COLOR)
    ax.set(title="Feature importance (gain)", xlabel="total gain")
    return png(fig)


def segment_intervals(
    metric: str, overall: float, rows: list[dict[str, Any]], failed: set[str]
) -> bytes:
    """The primary metric per segment with its interval; failed segments in red."""
    shown = [r for r in rows if metric in r.get("metrics", {})]
    fig, ax = _figure(7.0, max(2.5, 0.28 * len(shown) + 1.2))
    for i, row in enumerate(shown):
        value = row["metrics"][metric]
        low, high = row.get("ci", {}).get(metric, [value, value])
        color = WARN if row["segment"] in failed else COLOR
        ax.errorbar(
            value,
            i,
            xerr=[[max(value - low, 0)], [max(high - value, 0)]],
            fmt="o",
            color=color,
            capsize=3,
        )
    ax.axvline(overall, color=BASE, linestyle="--", label=f"overall {overall:.3f}")
    ax.set_yticks(range(len(shown)), [r["segment"] for r in shown])
    ax.set(title=f"{metric} per segment ({len(shown)} with enough support)", xlabel=metric)
    ax.legend(loc="best")
    return png(fig)
