"""`mlplat monitor` and `mlplat retrain`: compose, hand over to mlplat.ops.monitoring, print."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.cli.notify import print_warnings
from mlplat.core.tables import Cell, Column, Table, print_json, print_table

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.stages.monitor.checks import Check
    from mlplat.stages.monitor.monitor import Assessment


CHECK_COLUMNS = (
    Column("check"),
    Column("feature/column"),  # learned invariants are on the raw columns
    Column("value", right=True),
    Column("limit", right=True),
    Column("severity", right=True),
    Column("status"),
)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _status(check: Check) -> Cell:
    if check.breached:
        return ("BREACH", "bold red")
    return "no data" if check.value is None else "ok"


def print_assessment(assessment: Assessment, console: Console, limit: int = 15) -> None:
    """Every breach, then the most severe of the rest up to `limit` rows; says how many more."""
    shown = assessment.checks[: max(limit, len(assessment.breaches))]
    rows = [
        (
            f"{c.group}.{c.name}",
            c.feature or "-",
            _number(c.value),
            _number(c.threshold),
            f"{c.severity:.2f}",
            _status(c),
        )
        for c in shown
    ]
    title = f"monitor: {assessment.model.model_name} ({assessment.rows} rows)"
    print_table(console, Table(title, CHECK_COLUMNS, rows))
    hidden = len(assessment.checks) - len(shown)
    if hidden:
        console.print(f"{hidden} more checks within their limits: summary.json or --json")
    for note in assessment.notes:
        console.print(f"note: {note}", style="yellow", markup=False, highlight=False)
    verdict = (
        "[green]healthy[/]"
        if assessment.healthy
        else (f"[bold red]{len(assessment.breaches)} check(s) breached[/]")
    )
    console.print(f"{len(assessment.checks)} checks: {verdict}")


def _output(base: Path, output: Path | None, assessment: Assessment) -> Path:
    if output is not None:
        return output
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    name = assessment.model.model_name or "model"
    return base / "monitor" / f"{name}-{stamp}"


def monitor_command(
    project: Path,
    model: str,
    current: str,
    output: Path | None,
    overrides: list[str],
    console: Console,
    as_json: bool = False,
) -> bool:
    """Assess, write, log, print (a table, or the summary as JSON); True when healthy."""
    from mlplat.cli.jobs import stdout_console
    from mlplat.ops import monitoring
    from mlplat.pipeline.compose import compose
    from mlplat.tracking.runs import tracking_uri

    cfg = compose(project, overrides)
    tracking = tracking_uri(cfg, project)
    with console.status("[bold]monitor[/]: drift, skew, staleness, stability, latency"):
        assessment, _ = monitoring.assess(cfg, model, current, tracking)
        files = monitoring.write_reports(
            assessment, _output(project / cfg.artifacts_dir, output, assessment)
        )
        run_id = monitoring.log_reports(assessment, files, tracking)
    told = () if assessment.healthy else monitoring.tell_breach(cfg, project, assessment, run_id)
    if as_json:
        print_json(assessment.summary())
    else:
        print_assessment(assessment, stdout_console())
    console.print(
        f"report {files[1]}\nsummary {files[0]}\nlogged to MLflow run {run_id}",
        highlight=False,
        soft_wrap=True,
    )
    print_warnings(told, console)
    return assessment.healthy


def retrain_command(
    project: Path,
    overrides: list[str],
    current: str | None,
    if_drift: bool,
    console: Console,
    as_json: bool = False,
) -> None:
    """Monitor the champion on the new data; on a breach (or without --if-drift) run the
    experiment; its errors (data validation, budgets) raise. `as_json`: one JSON object with
    the monitor summary (if it ran), whether and why it retrained, and the run."""
    from rich.markup import escape

    from mlplat.cli.jobs import print_summary, run_json, stdout_console
    from mlplat.ops import monitoring
    from mlplat.pipeline.compose import compose
    from mlplat.tracking.registration import enforce
    from mlplat.tracking.runs import tracking_uri

    cfg = compose(project, overrides)
    tracking = tracking_uri(cfg, project)
    reason = "requested (no --if-drift)"
    out: dict[str, Any] = {"monitor": None, "retrained": False, "reason": None, "run": None}
    if if_drift:
        champion = monitoring.champion_uri(cfg, tracking)
        if champion is None:
            reason = "no champion registered yet"
        else:
            data = current or cfg.data.path
            assessment, _ = monitoring.assess(cfg, champion, data, tracking)
            out["monitor"] = assessment.summary()
            if not as_json:
                print_assessment(assessment, stdout_console())
            if assessment.healthy:
                console.print(f"{champion} is healthy on {data}: no retrain", highlight=False)
                if as_json:
                    print_json(out)
                return
            reason = monitoring.retrain_reason(assessment)
    console.print(f"[bold]retrain[/] {cfg.experiment_name}: {escape(reason)}", highlight=False)
    print_warnings(monitoring.tell_retrain(cfg, project, reason), console)
    result = monitoring.retrain(cfg, project, reason, console)
    if as_json:
        print_json(out | {"retrained": True, "reason": reason, "run": run_json(result)})
    else:
        print_summary(result, stdout_console())
    enforce(cfg, result.registration)
