"""The Markdown card: Hugging Face-style YAML front matter (`license`, `library_name`, `tags`,
`datasets`, `metrics`, `model-index` with one result per segment slice), then the sections."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mlplat.core.card import text
from mlplat.core.card.model import Card, Metric


def _metrics(metrics: Iterable[Metric], where: str) -> list[dict[str, Any]]:
    return [{"type": m.name, "value": m.value, "name": f"{m.name} ({where})"} for m in metrics]


def front_matter(card: Card) -> dict[str, Any]:
    d, data = card.details, card.data
    task = {"type": text.TASK_TYPE.get(d.task, "tabular"), "name": d.task}

    def result(config: str, where: str, metrics: Sequence[Metric]) -> dict[str, Any]:
        dataset = {"name": data.schema, "type": data.source, "split": "holdout", "config": config}
        return {"task": dict(task), "dataset": dataset, "metrics": _metrics(metrics, where)}

    results = [result("overall", "overall", card.analysis.overall)]
    results += [result(s.segment, s.where, s.metrics) for s in card.analysis.slices if s.metrics]
    return {
        "license": d.license,
        "library_name": "lightgbm",
        "tags": ["mlplat", "tabular", d.task, *(["draft"] if d.draft else [])],
        "datasets": [data.source],
        "metrics": [m.name for m in card.analysis.overall],
        "model-index": [{"name": d.name, "results": results}],
    }


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return (
            "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        )

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def bullets(items: Iterable[str], empty: str = "None declared.") -> str:
    found = [f"- {item}" for item in items]
    return "\n".join(found) if found else empty


def _analysis(card: Card) -> list[str]:
    a = card.analysis
    overall = table(
        ("metric", "value", "95% interval"),
        ((m.name, text.number(m.value), text.interval(m)) for m in a.overall),
    )
    primary = a.primary_metric
    slices = table(
        ("segment", "slice", "support", primary, "95% interval"),
        ((s.segment, s.where, str(s.support), *_primary(s.metrics, primary)) for s in a.slices),
    )
    gates = table(
        ("gate", "scope", "metric", "verdict", "detail"),
        ((g.gate, g.scope, g.metric, g.status, g.detail) for g in a.gates if g.status != "skip"),
    )
    baselines = table(
        ("baseline", primary, "lift", "lift interval"),
        (
            (b.name, text.number(b.value), text.number(b.lift), _pair(b.lift_low, b.lift_high))
            for b in a.baselines
        ),
    )
    return [
        "## Quantitative analysis",
        f"Primary metric: `{primary}`. Gates: {text.verdict(card)}.",
        "### Overall (holdout)",
        overall,
        "### Per segment",
        slices,
        "### Gates",
        gates,
        "### Baselines",
        baselines,
    ]


def _primary(metrics: Sequence[Metric], name: str) -> tuple[str, str]:
    found = next((m for m in metrics if m.name == name), None)
    if found is None:
        return "not measured", "-"
    return text.number(found.value), text.interval(found)


def _pair(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"[{text.number(low)}, {text.number(high)}]"


def render(card: Card) -> str:
    import yaml

    d, use = card.details, card.use
    parts = [
        "---\n" + yaml.safe_dump(front_matter(card), sort_keys=False, allow_unicode=True) + "---",
        f"# Model card: {d.name} v{d.version}",
        *([f"> {text.DRAFT}"] if d.draft else []),
        d.overview or "No overview declared (card.overview).",
        "## Model details",
        table(("", ""), text.facts(card)),
        "## Intended use",
        bullets(use.intended),
        "### Intended users",
        bullets(use.users),
        "### Out of scope",
        bullets(use.out_of_scope),
        "## Training and evaluation data",
        table(("", ""), text.data_rows(card)),
        *_analysis(card),
        "## Caveats and recommendations",
        bullets(text.caveat_lines(card), "None found or declared."),
        "### Ethical considerations",
        bullets(card.caveats.ethical),
        "## Cost and serving",
        table(("", ""), text.cost_rows(card)),
    ]
    return "\n\n".join(parts) + "\n"
