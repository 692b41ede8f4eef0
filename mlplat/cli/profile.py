"""`mlplat profile`: hand over to the runner, print the latency table and the recommendation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def print_profile(report: dict[str, Any], console: Console) -> None:
    from rich import box
    from rich.table import Table

    from mlplat.runner.deploy_profile import errors

    table = Table(
        title=f"deployment profile: {report['model']}", title_justify="left", box=box.SIMPLE_HEAD
    )
    for name in ("batch", "calls", "errors", "p50 ms", "p99 ms", "rows/s"):
        table.add_column(name, justify="right", no_wrap=True)
    for b in report["batches"]:
        table.add_row(
            str(b["batch"]),
            str(b["calls"]),
            str(b["errors"]),
            f"{b['p50_ms']:.3f}",
            f"{b['p99_ms']:.3f}",
            f"{b['rows_per_second']:,.0f}",
        )
    console.print(table)
    for line in errors(report):
        console.print(f"[bold red]errors:[/] {line}", highlight=False)
    rec, slo = report["recommendation"], report["recommendation"]["slo"]
    verdict = "[green]meets[/]" if rec["meets_p99"] else "[red]misses[/]"
    console.print(
        f"peak memory {report['peak_rss_mb']:.0f} MB; one-row p99 {rec['p99_ms']:.3f} ms "
        f"{verdict} the SLO p99 <= {slo['p99_ms']} ms"
    )
    console.print(
        f"recommendation for {slo['min_qps']} QPS: workers={rec['workers']} "
        f"cpu={rec['cpu']} memory={rec['memory_mb']}Mi "
        f"({rec['qps_per_worker']} QPS per worker at batch 1)"
    )
    where = f"run {report['run_id']}" if report["logged"] else "nowhere (no run id for this bundle)"
    console.print(f"logged to MLflow: {where}")


def profile_command(
    project: Path, model: str, data: str, overrides: list[str], seconds: float, console: Console
) -> tuple[bool, bool]:
    """Whether one-row latency meets serving.slo.p99_ms, and whether any call failed."""
    from mlplat.runner.deploy_profile import errors, run_profile

    with console.status("profiling predict latency per batch size"):
        report = run_profile(project, model, data, overrides, seconds)
    print_profile(report, console)
    return bool(report["recommendation"]["meets_p99"]), bool(errors(report))
