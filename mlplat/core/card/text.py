"""The words and numbers every rendering of a card shares, written once."""

from __future__ import annotations

import math

from mlplat.core.card.model import Card, Metric

TASK_TYPE = {  # Hugging Face task types of mlplat's tasks
    "binary": "tabular-classification",
    "multiclass": "tabular-classification",
    "regression": "tabular-regression",
}
DRAFT = (
    "DRAFT: the declared text of this card (conf/card/) has not been reviewed; set "
    "card.draft=false once it is."
)


def number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4g}"


def interval(metric: Metric) -> str:
    if metric.low is None or metric.high is None:
        return "-"
    return f"[{number(metric.low)}, {number(metric.high)}]"


def money(card: Card) -> str:
    cost = card.cost
    return "-" if cost.training is None else f"{cost.training:.3g} {cost.currency}"


def verdict(card: Card) -> str:
    passed = card.analysis.passed
    if passed is None:
        return "no gate verdict recorded"
    against = card.analysis.champion_version
    versus = f" (judged against champion v{against})" if against else ""
    return ("every gate passed" if passed else "failed: " + "; ".join(card.analysis.failed)) + (
        versus
    )


def owner_parts(owner: str) -> tuple[str, str]:
    """`Name <contact>` -> (Name, contact); a bare name has no contact."""
    name, _, contact = owner.partition("<")
    return name.strip(), contact.rstrip(">").strip()


def caveat_lines(card: Card) -> list[str]:
    """Every caveat as one sentence: evidence first, then what was declared."""
    c = card.caveats
    lines = [
        f"Weak slice found by discovery: {w.segment} ({w.where}, {w.support} rows, effect size "
        f"{w.effect_size:.2f}, adjusted p {w.p_adjusted:.2g})"
        for w in c.weak_slices
    ]
    lines += [f"Segment below its gate: {s}" for s in c.below_floor]
    lines += [f"Not measured: {u}" for u in c.unmeasured]
    if c.drift:
        lines.append(f"Drift: {c.drift}")
    return [*lines, *c.limitations]


def facts(card: Card) -> list[tuple[str, str]]:
    """Model details as (label, value) rows."""
    d = card.details
    return [
        ("model", d.uri),
        ("task", f"{d.task}, target `{d.target}`"),
        ("experiment", d.experiment),
        ("registered", d.created),
        ("run", d.run_id),
        ("git sha", d.git_sha),
        ("config hash", d.config_hash),
        ("data md5", d.data_md5),
        ("code", f"mlplat {d.mlplat_version}, LightGBM {d.lightgbm_version}"),
        ("owners", ", ".join(d.owners) or "-"),
        ("license", d.license),
    ]


def data_rows(card: Card) -> list[tuple[str, str]]:
    data = card.data
    return [
        ("source", data.source),
        ("rows validated", number(data.rows)),
        ("training rows", number(data.train_rows)),
        ("evaluation (holdout) rows", number(data.test_rows)),
        ("split", data.split),
        ("timestamp column", data.timestamp_column or "-"),
        ("training period", period(data.training_period)),
        ("holdout period", period(data.holdout_period)),
        ("schema", f"{data.schema}: {len(data.columns)} columns"),
        ("features", ", ".join(data.features) or "-"),
    ]


def period(dates: tuple[str, str] | None) -> str:
    return f"{dates[0]} to {dates[1]}" if dates else "-"


def cost_rows(card: Card) -> list[tuple[str, str]]:
    cost = card.cost
    return [
        ("training cost", money(card)),
        ("training wall time", "-" if cost.wall_seconds is None else f"{cost.wall_seconds:.1f} s"),
        ("peak memory", "-" if cost.peak_rss_mb is None else f"{cost.peak_rss_mb:.0f} MB"),
        ("serving profile", cost.serving or "not profiled (`mlplat profile`)"),
        ("ML Test Score", card.test_score or "not measured before registration (`mlplat score`)"),
    ]
