"""`mlplat monitor` and `mlplat retrain`: compose, hand over to mlplat.runner.monitoring, print."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.stages.monitor.monitor import Assessment


def print_assessment(assessment: Assessment, console: Console, limit: int = 15) -> None:
    from rich.table import Table

    table = Table(
        title=f"monitor: {assessment.model.get('model_name')} ({assessment.rows} rows)",
        title_justify="left",
    )
    for column in ("check", "feature", "value", "threshold", "severity", "status"):
        table.add_column(column)
    for c in assessment.checks[:limit]:
        status = "[red]BREACH[/]" if c.breached else ("no evidence" if c.value is None else "ok")
        value = "n/a" if c.value is None else f"{c.value:.4g}"
        table.add_row(
            f"{c.group}.{c.name}", c.feature, value, str(c.threshold), f"{c.severity:.2f}", status
        )
    console.print(table)
    for note in assessment.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
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
    name = assessment.model.get("model_name") or "model"
    return base / "monitor" / f"{name}-{stamp}"


def monitor_command(
    project: Path,
    model: str,
    current: str,
    output: Path | None,
    overrides: list[str],
    console: Console,
) -> bool:
    """Assess, write, log, print; True when healthy."""
    from mlplat.cli.jobs import stdout_console
    from mlplat.runner import monitoring
    from mlplat.runner.compose import compose
    from mlplat.runner.tracking import tracking_uri

    cfg = compose(project, overrides)
    tracking = tracking_uri(cfg, project)
    with console.status("[bold]monitor[/]: drift, skew, staleness, stability, latency"):
        assessment, _ = monitoring.assess(cfg, model, current, tracking)
        files = monitoring.write_reports(
            assessment, _output(project / cfg.artifacts_dir, output, assessment)
        )
        run_id = monitoring.log_reports(assessment, files, tracking)
    print_assessment(assessment, stdout_console())
    console.print(
        f"report {files[1]}\nsummary {files[0]}\nlogged to MLflow run {run_id}",
        highlight=False,
        soft_wrap=True,
    )
    return assessment.healthy


def retrain_command(
    project: Path, overrides: list[str], current: str | None, if_drift: bool, console: Console
) -> None:
    """Monitor the champion on the new data; on a breach (or without --if-drift) run the
    experiment; its errors (data validation, budgets) raise."""
    from mlplat.cli.jobs import print_summary, stdout_console
    from mlplat.runner import monitoring
    from mlplat.runner.compose import compose
    from mlplat.runner.registration import enforce
    from mlplat.runner.tracking import tracking_uri

    cfg = compose(project, overrides)
    tracking = tracking_uri(cfg, project)
    reason = "requested (no --if-drift)"
    if if_drift:
        champion = monitoring.champion_uri(cfg, tracking)
        if champion is None:
            reason = "no champion registered yet"
        else:
            data = current or cfg.data.path
            assessment, _ = monitoring.assess(cfg, champion, data, tracking)
            print_assessment(assessment, stdout_console())
            if assessment.healthy:
                console.print(f"{champion} is healthy on {data}: no retrain", highlight=False)
                return
            reason = monitoring.retrain_reason(assessment)
    console.print(f"[bold]retrain[/] {cfg.experiment_name}: {reason}", highlight=False)
    result = monitoring.retrain(cfg, project, reason, console)
    print_summary(result, stdout_console())
    enforce(cfg, result.registration)
