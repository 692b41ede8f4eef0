"""What changed between two versions' cards: data, config, code, metrics overall and per segment
(significant when their intervals do not overlap), gates and cost."""

from __future__ import annotations

from dataclasses import dataclass

from mlplat.core.card import text
from mlplat.core.card.model import Card, Metric
from mlplat.core.card.render_md import table


@dataclass(frozen=True)
class Change:
    what: str
    old: str
    new: str


@dataclass(frozen=True)
class MetricChange:
    scope: str  # overall, or a segment
    metric: str
    old: float | None
    new: float | None
    delta: float | None
    significant: bool  # both intervals known and disjoint

    def row(self) -> tuple[str, ...]:
        mark = "yes" if self.significant else "no"
        delta = "-" if self.delta is None else f"{self.delta:+.4g}"
        old, new = text.number(self.old), text.number(self.new)
        return (self.scope, self.metric, old, new, delta, mark)


@dataclass(frozen=True)
class CardDiff:
    name: str
    old_version: str
    new_version: str
    changes: tuple[Change, ...]  # provenance, data, gates' verdict, cost: only what differs
    metrics: tuple[MetricChange, ...]
    gates: tuple[Change, ...]  # gates whose verdict differs


def _disjoint(a: Metric, b: Metric) -> bool:
    if None in (a.low, a.high, b.low, b.high):
        return False
    return bool(a.high < b.low or b.high < a.low)  # type: ignore[operator]


def _metric_change(scope: str, name: str, a: Metric | None, b: Metric | None) -> MetricChange:
    delta = b.value - a.value if a and b else None
    return MetricChange(
        scope,
        name,
        a.value if a else None,
        b.value if b else None,
        delta,
        bool(a and b and _disjoint(a, b)),
    )


def _by_name(metrics: tuple[Metric, ...]) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


def _metrics(old: Card, new: Card) -> list[MetricChange]:
    a, b = _by_name(old.analysis.overall), _by_name(new.analysis.overall)
    out = [_metric_change("overall", n, a.get(n), b.get(n)) for n in sorted({*a, *b})]
    primary = new.analysis.primary_metric
    olds = {s.segment: _by_name(s.metrics).get(primary) for s in old.analysis.slices}
    news = {s.segment: _by_name(s.metrics).get(primary) for s in new.analysis.slices}
    out += [
        _metric_change(seg, primary, olds.get(seg), news.get(seg))
        for seg in sorted({*olds, *news})
        if olds.get(seg) or news.get(seg)
    ]
    return out


def _facts(card: Card) -> dict[str, str]:
    d = card.details
    return {
        "data md5": d.data_md5,
        "config hash": d.config_hash,
        "git sha": d.git_sha,
        "mlplat": d.mlplat_version,
        "LightGBM": d.lightgbm_version,
        "training rows": text.number(card.data.train_rows),
        "holdout rows": text.number(card.data.test_rows),
        "split": card.data.split,
        "training period": text.period(card.data.training_period),
        "gates": text.verdict(card),
        "training cost": text.money(card),
        "serving profile": card.cost.serving or "-",
    }


def compare(old: Card, new: Card) -> CardDiff:
    a, b = _facts(old), _facts(new)
    gates_a = {(g.gate, g.scope, g.metric): g.status for g in old.analysis.gates}
    gates_b = {(g.gate, g.scope, g.metric): g.status for g in new.analysis.gates}
    return CardDiff(
        name=new.details.name,
        old_version=old.details.version,
        new_version=new.details.version,
        changes=tuple(Change(k, a[k], b[k]) for k in a if a[k] != b[k]),
        metrics=tuple(_metrics(old, new)),
        gates=tuple(
            Change(".".join(key), gates_a.get(key, "-"), gates_b.get(key, "-"))
            for key in sorted({*gates_a, *gates_b})
            if gates_a.get(key) != gates_b.get(key)
        ),
    )


METRIC_HEADER = ("scope", "metric", "old", "new", "change", "significant")


def markdown(diff: CardDiff) -> str:
    title = f"# Card diff: {diff.name} v{diff.old_version} -> v{diff.new_version}"
    changes = (
        table(
            ("what", f"v{diff.old_version}", f"v{diff.new_version}"),
            ((c.what, c.old, c.new) for c in diff.changes),
        )
        if diff.changes
        else "Same data, config, code, verdict and cost."
    )
    gates = (
        table(
            ("gate", f"v{diff.old_version}", f"v{diff.new_version}"),
            ((c.what, c.old, c.new) for c in diff.gates),
        )
        if diff.gates
        else "Every gate has the same verdict."
    )
    metrics = table(METRIC_HEADER, (m.row() for m in diff.metrics))
    note = "Significant: the two 95% intervals do not overlap."
    return (
        "\n\n".join(
            [title, "## What changed", changes, "## Metrics", metrics, note, "## Gates", gates]
        )
        + "\n"
    )


def summary(diff: CardDiff, limit: int = 6) -> str:
    """A few lines for a message: the overall metrics (significant changes marked), then what
    else changed and which gates changed verdict; the full diff is on the new champion's run."""
    overall = [m for m in diff.metrics if m.scope == "overall" and m.delta is not None]
    moved = [m for m in diff.metrics if m.scope != "overall" and m.significant]
    lines = [
        f"{m.metric} {text.number(m.old)} -> {text.number(m.new)} ({m.delta:+.4g})"
        + (" significant" if m.significant else "")
        for m in (*overall, *moved)[:limit]
        if m.delta is not None
    ]
    lines += [f"{c.what}: {c.old} -> {c.new}" for c in (*diff.changes, *diff.gates)[:limit]]
    return "\n".join(lines) or "Same data, config, code, metrics and verdict."
