"""The three renderings of a card, by file name, and the registry description linking them."""

from __future__ import annotations

import json

from mlplat.core.card import render_html, render_json, render_md, text
from mlplat.core.card.model import Card

MARKDOWN, JSON, HTML = "card.md", "card.json", "card.html"
FORMATS = {"md": MARKDOWN, "json": JSON, "html": HTML}


def one(card: Card, fmt: str) -> str:
    if fmt == "md":
        return render_md.render(card)
    if fmt == "json":
        return json.dumps(render_json.render(card), indent=2, sort_keys=False) + "\n"
    return render_html.render(card)


def files(card: Card) -> dict[str, str]:
    return {file: one(card, fmt) for fmt, file in FORMATS.items()}


def description(card: Card, folder: str) -> str:
    """The version's description in the registry (Markdown, what the MLflow UI shows)."""
    d = card.details
    primary = card.metric(card.analysis.primary_metric)
    value = (
        f"{card.analysis.primary_metric} {text.number(primary.value)} {text.interval(primary)}"
        if primary
        else ""
    )
    return (
        f"{d.overview or d.name} {value}; gates: {text.verdict(card)}.\n\n"
        f"Model card: run `{d.run_id}` artifacts `{folder}/{MARKDOWN}`, `{folder}/{HTML}`, "
        f"`{folder}/{JSON}` (`mlplat card --model {d.uri}`)."
    )
