"""The self-contained HTML report: drift table by severity, then per-feature distributions as
inline SVG (no scripts, no network), reference vs current on the same bins."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlplat.stages.monitor.drift import FeatureDrift
    from mlplat.stages.monitor.monitor import Assessment

TEMPLATE = Path(__file__).with_name("report.html.j2")
WIDTH, HEIGHT, PAD = 520, 170, 24
COLORS = {"reference": "#8da0cb", "current": "#fc8d62"}


def bars_svg(feature: FeatureDrift) -> str:
    """Grouped bars: share of rows per bin, reference next to current."""
    bins = max(1, len(feature.labels))
    top = max([*feature.reference, *feature.current, 1e-9])
    slot = (WIDTH - 2 * PAD) / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT + 40}" '
        f'role="img" aria-label="{escape(feature.name)} distribution">'
    ]
    for i, label in enumerate(feature.labels):
        for j, (series, values) in enumerate(
            (("reference", feature.reference), ("current", feature.current))
        ):
            share = values[i] if i < len(values) else 0.0
            h = (HEIGHT - PAD) * share / top
            x = PAD + i * slot + j * slot / 2.2 + slot * 0.05
            parts.append(
                f'<rect x="{x:.1f}" y="{HEIGHT - h:.1f}" width="{slot / 2.4:.1f}" '
                f'height="{h:.1f}" fill="{COLORS[series]}"><title>{escape(label)} {series}: '
                f"{share:.3f}</title></rect>"
            )
        parts.append(
            f'<text x="{PAD + (i + 0.5) * slot:.1f}" y="{HEIGHT + 14}" font-size="9" '
            f'text-anchor="middle">{escape(label[:14])}</text>'
        )
    parts.append(
        f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH - PAD}" y2="{HEIGHT}" stroke="#333"/></svg>'
    )
    return "".join(parts)


def render(assessment: Assessment) -> str:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    plots = {f.name: bars_svg(f) for f in assessment.features}
    return template.render(a=assessment, plots=plots, colors=COLORS)
