"""The card as Model Card Toolkit JSON (schema v0.0.2): model_details, model_parameters,
quantitative_analysis (overall and per-slice metrics with intervals, the plots) and
considerations. The toolkit has no field for gates, cost or the ML Test Score: they are in
`model_details.documentation`, in words."""

from __future__ import annotations

import base64
from typing import Any

from mlplat.core.card import text
from mlplat.core.card.model import Card, Metric

SCHEMA_VERSION = "0.0.2"


def _metric(metric: Metric, where: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": metric.name, "value": text.number(metric.value)}
    if where is not None:
        out["slice"] = where
    if metric.low is not None and metric.high is not None:
        out["confidence_interval"] = {
            "lower_bound": text.number(metric.low),
            "upper_bound": text.number(metric.high),
        }
    return out


def _described(items: list[str]) -> list[dict[str, str]]:
    return [{"description": item} for item in items]


def _documentation(card: Card) -> str:
    lines = [f"Gates: {text.verdict(card)}."]
    lines += [f"{label}: {value}." for label, value in text.cost_rows(card)]
    return " ".join(([text.DRAFT] if card.details.draft else []) + lines)


def render(card: Card) -> dict[str, Any]:
    d, data, a = card.details, card.data, card.analysis
    owners = [dict(zip(("name", "contact"), text.owner_parts(o), strict=True)) for o in d.owners]
    return {
        "schema_version": SCHEMA_VERSION,
        "model_details": {
            "name": d.name,
            "overview": d.overview,
            "documentation": _documentation(card),
            "owners": owners,
            "version": {"name": d.version, "date": d.created[:10]},
            "licenses": [{"identifier": d.license}],
            "path": d.uri,
        },
        "model_parameters": {
            "model_architecture": f"LightGBM gradient-boosted trees ({d.task}, target {d.target})",
            "data": [
                {"name": "training", "description": _data_line(card, "training")},
                {"name": "evaluation", "description": _data_line(card, "evaluation")},
            ],
            "input_format": f"a table with the columns of schema {data.schema}",
            "input_format_map": [{"key": c.name, "value": c.dtype} for c in data.columns],
            "output_format": "a prediction per row"
            + (" (score of the positive class)" if d.task == "binary" else ""),
        },
        "quantitative_analysis": {
            "performance_metrics": [_metric(m) for m in a.overall]
            + [_metric(m, s.segment) for s in a.slices for m in s.metrics],
            "graphics": {
                "description": "The evaluate stage's plots on the holdout rows.",
                "collection": [
                    {"name": p.name, "image": base64.b64encode(p.png).decode("ascii")}
                    for p in card.plots
                ],
            },
        },
        "considerations": {
            "users": _described(list(card.use.users)),
            "use_cases": _described(list(card.use.intended))
            + _described([f"Out of scope: {u}" for u in card.use.out_of_scope]),
            "limitations": _described(text.caveat_lines(card)),
            "ethical_considerations": [{"name": e} for e in card.caveats.ethical],
        },
    }


def _data_line(card: Card, which: str) -> str:
    data = card.data
    rows = data.train_rows if which == "training" else data.test_rows
    part = "training rows" if which == "training" else "holdout rows"
    dates = data.training_period if which == "training" else data.holdout_period
    md5 = card.details.data_md5
    when = f", dated {text.period(dates)}" if dates else ""
    return f"{text.number(rows)} {part} of {data.source} ({data.split}){when}; data md5 {md5}"
