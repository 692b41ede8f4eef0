"""The card as one self-contained HTML page: styles inline, plots as inline PNG (the evaluate
stage's) and an inline SVG of the primary metric per segment with its interval. No script, no
request leaves the page."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from html import escape

from mlplat.core.card import text
from mlplat.core.card.model import Card, Metric

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}.draft{background:#fff3cd;padding:.6em}
.pass{color:#1a7f37}.fail{color:#b42318;font-weight:bold}.warn{color:#9a6700}
img{max-width:520px;margin:4px;border:1px solid #eee}
"""
BAR_H, LABEL_W, PLOT_W = 18, 260, 480


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], classes: int = -1) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = [f'<td class="{escape(c)}">' if i == classes else "<td>" for i, c in enumerate(row)]
        body.append(
            "<tr>"
            + "".join(f"{t}{escape(c)}</td>" for t, c in zip(cells, row, strict=True))
            + "</tr>"
        )
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _list(items: Iterable[str], empty: str = "None declared.") -> str:
    found = [f"<li>{escape(i)}</li>" for i in items]
    return f"<ul>{''.join(found)}</ul>" if found else f"<p>{escape(empty)}</p>"


def _primary(metrics: Sequence[Metric], name: str) -> Metric | None:
    return next((m for m in metrics if m.name == name), None)


def segment_svg(card: Card) -> str:
    """The primary metric of overall and each measured segment: a dot and its interval."""
    name = card.analysis.primary_metric
    rows = [("overall", _primary(card.analysis.overall, name))]
    rows += [(s.segment, _primary(s.metrics, name)) for s in card.analysis.slices]
    shown = [(label, m) for label, m in rows if m is not None]
    if not shown:
        return ""
    values = [v for _, m in shown for v in (m.value, m.low, m.high) if v is not None]
    low, high = min(values), max(values)
    span = (high - low) or 1.0

    def x(v: float) -> float:
        return LABEL_W + 10 + (v - low) / span * (PLOT_W - 20)

    parts = []
    for i, (label, m) in enumerate(shown):
        y = i * BAR_H + BAR_H / 2 + 4
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        )
        if m.low is not None and m.high is not None:
            parts.append(
                f'<line x1="{x(m.low):.1f}" x2="{x(m.high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#1f77b4" stroke-width="3"/>'
            )
        parts.append(f'<circle cx="{x(m.value):.1f}" cy="{y:.1f}" r="4" fill="#1f77b4"/>')
    height = len(shown) * BAR_H + 30
    axis = (
        f'<text x="{LABEL_W + 10}" y="{height - 6}">{text.number(low)}</text>'
        f'<text x="{LABEL_W + PLOT_W - 10}" y="{height - 6}" text-anchor="end">'
        f"{text.number(high)}</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_W + PLOT_W}" height="{height}" '
        f'font-size="12" role="img" aria-label="{escape(name)} per segment">'
        f"{''.join(parts)}{axis}</svg>"
    )


def _plots(card: Card) -> str:
    return "".join(
        f'<img alt="{escape(p.name)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.png).decode("ascii")}">'
        for p in card.plots
    )


def _analysis(card: Card) -> str:
    a, primary = card.analysis, card.analysis.primary_metric
    overall = _table(
        ("metric", "value", "95% interval"),
        ((m.name, text.number(m.value), text.interval(m)) for m in a.overall),
    )
    slices = _table(
        ("segment", "slice", "support", primary, "95% interval"),
        (
            (s.segment, s.where, str(s.support), *_cells(_primary(s.metrics, primary)))
            for s in a.slices
        ),
    )
    gates = _table(
        ("gate", "scope", "metric", "verdict", "detail"),
        ((g.gate, g.scope, g.metric, g.status, g.detail) for g in a.gates if g.status != "skip"),
        classes=3,
    )
    baselines = _table(
        ("baseline", primary, "lift", "lift interval"),
        (
            (b.name, text.number(b.value), text.number(b.lift), _pair(b.lift_low, b.lift_high))
            for b in a.baselines
        ),
    )
    return (
        f"<h2>Quantitative analysis</h2><p>Primary metric <code>{escape(primary)}</code>. "
        f"Gates: {escape(text.verdict(card))}.</p><h3>Overall (holdout)</h3>{overall}"
        f"<h3>Per segment</h3>{segment_svg(card)}{slices}<h3>Gates</h3>{gates}"
        f"<h3>Baselines</h3>{baselines}<h3>Plots</h3>{_plots(card)}"
    )


def _cells(metric: Metric | None) -> tuple[str, str]:
    return (
        ("not measured", "-")
        if metric is None
        else (text.number(metric.value), text.interval(metric))
    )


def _pair(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"[{text.number(low)}, {text.number(high)}]"


def render(card: Card) -> str:
    d, use = card.details, card.use
    title = f"Model card: {d.name} v{d.version}"
    draft = f'<p class="draft">{escape(text.DRAFT)}</p>' if d.draft else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{draft}"
        f"<p>{escape(d.overview or 'No overview declared (card.overview).')}</p>"
        f"<h2>Model details</h2>{_table(('', ''), text.facts(card))}"
        f"<h2>Intended use</h2>{_list(use.intended)}<h3>Intended users</h3>{_list(use.users)}"
        f"<h3>Out of scope</h3>{_list(use.out_of_scope)}"
        f"<h2>Training and evaluation data</h2>{_table(('', ''), text.data_rows(card))}"
        f"{_analysis(card)}"
        f"<h2>Caveats and recommendations</h2>"
        f"{_list(text.caveat_lines(card), 'None found or declared.')}"
        f"<h3>Ethical considerations</h3>{_list(card.caveats.ethical)}"
        f"<h2>Cost and serving</h2>{_table(('', ''), text.cost_rows(card))}"
        "</body></html>\n"
    )
