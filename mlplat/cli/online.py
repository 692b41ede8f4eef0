"""`mlplat feedback`: labels joined to the online request log; print the counts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def feedback_command(
    project: Path,
    labels: Path | None,
    columns: tuple[str, str],
    overrides: list[str],
    as_json: bool,
    console: Console,
) -> None:
    from mlplat.core.tables import Column, Table, print_json, print_table
    from mlplat.online.feedback import join
    from mlplat.pipeline.compose import project_declaration
    from mlplat.serving.online.state import layout_of

    cfg, _ = project_declaration(project, overrides)
    layout = layout_of(cfg.online, cfg.experiment_name, project)
    report = join(layout, labels, columns, cfg.online.lookback_hours)
    if as_json:
        print_json(report.as_dict())
        return
    rows = [(k, str(v)) for k, v in report.as_dict().items()]
    print_table(console, Table("feedback", (Column("figure"), Column("value")), rows))


def decision_command(
    project: Path, overrides: list[str], apply: bool, as_json: bool, console: Console
) -> int:
    """`online status` (apply=False) and `online decide`: the verdict, evidence and exit code."""
    from mlplat.core import provenance
    from mlplat.core.tables import Column, Table, print_json, print_table
    from mlplat.online.decision import act, decide
    from mlplat.pipeline.compose import project_declaration
    from mlplat.serving.online.state import layout_of
    from mlplat.tracking.tracker import Tracker

    cfg, uri = project_declaration(project, overrides)
    layout = layout_of(cfg.online, cfg.experiment_name, project)
    decision = decide(layout, cfg)
    done = None
    if apply:
        done = act(decision, layout, cfg, Tracker.of(project, uri), provenance.model_name(cfg))
    if as_json:
        print_json({**decision.as_dict(), "done": done})
        return decision.exit_code
    tests = [("overall", decision.overall)] + [(s.segment, s.test) for s in decision.segments]
    rows = [
        (
            name,
            f"{t.n_champion}",
            f"{t.n_challenger}",
            f"{t.effect:+.4f} [{t.low:+.4f}, {t.high:+.4f}]",
            f"{t.p_value:.3g}",
        )
        for name, t in tests
        if t is not None
    ]
    columns = (
        Column("segment"),
        Column("champion", right=True),
        Column("challenger", right=True),
        Column(f"effect on {decision.metric}"),
        Column("p", right=True),
    )
    print_table(console, Table("online test", columns, rows))
    rails = [
        (g.name, f"{g.value:.4g}" if g.value is not None else "-", str(g.limit))
        for g in decision.guardrails
    ]
    print_table(
        console, Table("guardrails", (Column("guardrail"), Column("value"), Column("limit")), rails)
    )
    console.print(f"{decision.verdict.value}: {decision.reason}", highlight=False)
    if done:
        console.print(done, highlight=False)
    return decision.exit_code
