"""`mlplat profile`: hand over to the runner, print the latency table and the recommendation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.tables import Column, Table, print_json, print_line, print_table

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.ops.sizing import DeploymentProfile


PROFILE_COLUMNS = tuple(
    Column(name, right=True) for name in ("batch", "calls", "errors", "p50 ms", "p99 ms", "rows/s")
)


def print_profile(report: DeploymentProfile, console: Console) -> None:
    from mlplat.ops.sizing import errors

    rows = [
        (
            str(b.batch),
            str(b.calls),
            str(b.errors),
            f"{b.p50_ms:.3f}",
            f"{b.p99_ms:.3f}",
            f"{b.rows_per_second:,.0f}",
        )
        for b in report.batches
    ]
    print_table(console, Table(f"deployment profile: {report.model}", PROFILE_COLUMNS, rows))
    for line in errors(report):
        print_line(console, f"errors: {line}")
    rec, slo = report.recommendation, report.recommendation.slo
    verdict = "[green]meets[/]" if rec.meets_p99 else "[red]misses[/]"
    console.print(
        f"peak memory {report.peak_rss_mb:.0f} MB; one-row p99 {rec.p99_ms:.3f} ms "
        f"{verdict} the SLO p99 <= {slo['p99_ms']} ms"
    )
    console.print(
        f"recommendation for {slo['min_qps']} QPS: workers={rec.workers} "
        f"cpu={rec.cpu} memory={rec.memory_mb}Mi "
        f"({rec.qps_per_worker} QPS per worker at batch 1)"
    )
    where = f"run {report.run_id}" if report.logged else "nowhere (no run id for this bundle)"
    console.print(f"logged to MLflow: {where}")


def profile_command(
    project: Path,
    model: str,
    data: str,
    overrides: list[str],
    seconds: float,
    console: Console,
    as_json: bool = False,
) -> tuple[bool, bool]:
    """Whether one-row latency meets serving.slo.p99_ms, and whether any call failed."""
    from mlplat.ops.sizing import errors, run_profile

    with console.status("profiling predict latency per batch size"):
        report = run_profile(project, model, data, overrides, seconds)
    if as_json:
        print_json(report.to_json())
    else:
        print_profile(report, console)
    return report.recommendation.meets_p99, bool(errors(report))
