"""`mlplat feedback`: labels joined to the online request log; print the counts and their run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from rich.console import Console

    from mlplat.core.config.online import DecisionConfig
    from mlplat.core.tables import Table
    from mlplat.online.cbpe import Estimate
    from mlplat.online.decision import ArmSummary, Decision
    from mlplat.online.feedback_run import ArmLabels


def feedback_command(
    project: Path,
    labels: Path | None,
    columns: tuple[str, str],
    overrides: list[str],
    as_json: bool,
    console: Console,
) -> None:
    """Join, then log the summary run; a store that cannot be used is a warning (exit 0), and
    so are joined labels that give no loss."""
    from dataclasses import asdict

    from mlplat.cli.notify import print_warnings
    from mlplat.core.tables import Column, Table, print_json, print_table
    from mlplat.online.feedback import join
    from mlplat.online.feedback_run import log_feedback, summarise
    from mlplat.pipeline.compose import project_declaration
    from mlplat.serving.online.state import layout_of
    from mlplat.tracking.tracker import Tracker

    cfg, uri = project_declaration(project, overrides)
    layout = layout_of(cfg.online, cfg.experiment_name, project)
    report = join(layout, labels, columns, cfg.online.lookback_hours)
    summary = summarise(report, layout, cfg)
    logged = log_feedback(summary, cfg, Tracker.of(project, uri))
    warnings = tuple(w for w in (unusable_line(summary.arms), logged.warning) if w)
    if as_json:
        run = {"run_id": logged.run_id, "run_name": logged.run_name}
        arms = [asdict(a) for a in summary.arms]
        print_json({**report.as_dict(), **run, "arms": arms, "warnings": list(warnings)})
    else:
        rows = [(k, str(v)) for k, v in report.as_dict().items()]
        print_table(console, Table("feedback", (Column("figure"), Column("value")), rows))
    if logged.run_id is not None:
        console.print(
            f"logged to MLflow run {logged.run_name} ({logged.run_id})",
            highlight=False,
            soft_wrap=True,
        )
    print_warnings(warnings, console)


def decision_command(
    project: Path, overrides: list[str], apply: bool, as_json: bool, console: Console
) -> int:
    """`online status` (apply=False) and `online decide`: the verdict, evidence and exit code."""
    from dataclasses import asdict

    from mlplat.cli.notify import print_warnings
    from mlplat.core import provenance
    from mlplat.core.tables import print_json
    from mlplat.online.cbpe import label_free
    from mlplat.online.decision import act, decide, tell
    from mlplat.online.offline import offline_losses, with_offline
    from mlplat.pipeline.compose import project_declaration
    from mlplat.serving.online.state import layout_of
    from mlplat.tracking.tracker import Tracker

    cfg, uri = project_declaration(project, overrides)
    layout = layout_of(cfg.online, cfg.experiment_name, project)
    tracker, name = Tracker.of(project, uri), provenance.model_name(cfg)
    decision = decide(layout, cfg)
    offline = offline_losses(tracker, name, decision.versions, decision.metric)
    decision = with_offline(decision, offline)
    # after the decision, and apart from it: an estimate without labels never decides
    estimates = label_free(layout, cfg)
    done: str | None = None
    told: tuple[str, ...] = ()
    if apply:
        done = act(decision, layout, cfg, tracker, name)
        told = tell(decision, cfg, project, done)
    if as_json:
        free = {arm: asdict(e) for arm, e in estimates.items()}
        print_json({**decision.as_dict(), "label_free": free, "done": done})
        return decision.exit_code
    print_decision(decision, estimates, cfg.online.decision, done, console)
    print_warnings(told, console)
    return decision.exit_code


def print_decision(
    decision: Decision,
    estimates: Mapping[str, Estimate],
    declared: DecisionConfig,
    done: str | None,
    console: Console,
) -> None:
    """The arms, the test per segment, the guardrails, the label-free estimate, then the
    verdict and what acting on it did."""
    from mlplat.cli.notify import print_warnings
    from mlplat.core.tables import print_table

    print_table(console, arms_table(decision))
    unusable = unusable_line(decision.arms)
    if unusable:
        print_warnings((unusable,), console)
    print_table(console, tests_table(decision))
    print_table(console, guardrails_table(decision))
    if estimates:
        print_table(console, label_free_table(estimates))
    overall = decision.overall
    if overall is not None and decision.samples_needed is not None:
        console.print(
            f"labelled rows per arm: {min(overall.n_champion, overall.n_challenger)} so far, "
            f"about {decision.samples_needed} needed to find an effect of "
            f"{declared.min_detectable_effect:g} with power {declared.power:.0%}",
            highlight=False,
        )
    console.print(f"{decision.verdict.value}: {decision.reason}", highlight=False)
    if done:
        console.print(done, highlight=False)


def unusable_line(arms: Sequence[ArmSummary | ArmLabels]) -> str | None:
    """Joined labels the test cannot use, per arm, with a few of them as sent so that they can
    be found and corrected; None when every label gives a loss."""
    if not any(a.unusable_labels for a in arms):
        return None
    counts = ", ".join(f"{a.arm} {a.unusable_labels}" for a in arms)
    examples = dict.fromkeys(label for a in arms for label in a.unusable_examples)
    shown = ", ".join(repr(label) for label in examples)
    return (
        f"joined labels that give no loss (not a number, or a class the model does not know) "
        f"are left out of the test: {counts}; e.g. {shown}"
    )


def tests_table(decision: Decision) -> Table:
    """The sequential test overall and per segment: rows per arm, effect with its always-valid
    interval, p."""
    from mlplat.core.tables import Column, Table

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
    return Table("online test", columns, rows)


def guardrails_table(decision: Decision) -> Table:
    from mlplat.core.tables import Column, Table

    rails = [
        (g.name, f"{g.value:.4g}" if g.value is not None else "-", str(g.limit))
        for g in decision.guardrails
    ]
    return Table("guardrails", (Column("guardrail"), Column("value"), Column("limit")), rails)


def arms_table(decision: Decision) -> Table:
    """Both arms side by side: traffic, 5xx, latency, labelled rows (and joined labels that
    give no loss), the mean loss online and on the holdout."""
    from mlplat.core.tables import Column, Table

    def shown(value: float | None, form: str) -> str:
        return "-" if value is None else format(value, form)

    rows = [
        (
            a.arm,
            a.version or "-",
            str(a.requests),
            str(a.errors),
            shown(a.error_rate, ".2%"),
            shown(a.p50_latency_ms, ".1f"),
            shown(a.p99_latency_ms, ".1f"),
            str(a.labelled),
            str(a.unusable_labels),
            shown(a.mean_loss, ".4f"),
            shown(a.offline_loss, ".4f"),
        )
        for a in decision.arms
    ]
    columns = (
        Column("arm"),
        Column("version", right=True),
        Column("requests", right=True),
        Column("5xx", right=True),
        Column("error rate", right=True),
        Column("p50 ms", right=True),
        Column("p99 ms", right=True),
        Column("labelled", right=True),
        Column("unusable labels", right=True),
        Column(f"online {decision.metric}", right=True),
        Column("offline", right=True),
    )
    return Table("arms", columns, rows)


def label_free_table(estimates: Mapping[str, Estimate]) -> Table:
    """The label-free estimate per arm, each figure with the range the measured one will fall
    in if the probabilities are calibrated, under a title that says what it is not."""
    from mlplat.core.tables import Column, Table

    def shown(value: float | None, interval: tuple[float, float] | None) -> str:
        if value is None:
            return "-"
        if interval is None:
            return f"{value:.4f}"
        return f"{value:.4f} [{interval[0]:.4f}, {interval[1]:.4f}]"

    rows = [
        (
            arm,
            str(e.rows),
            shown(e.expected_accuracy, e.accuracy_interval),
            shown(e.expected_auc, e.auc_interval),
        )
        for arm, e in estimates.items()
    ]
    columns = (
        Column("arm"),
        Column("unlabelled", right=True),
        Column("expected accuracy [95%]", right=True),
        Column("expected auc [95%]", right=True),
    )
    title = (
        "estimated without labels (CBPE, assumes calibrated probabilities; never used to decide)"
    )
    return Table(title, columns, rows)
