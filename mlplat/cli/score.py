"""`mlplat score`: compose, score from evidence, print the 28 tests, write/log the JSON."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def print_score(result: dict[str, Any], console: Console) -> None:
    from rich.table import Table

    table = Table(title="ML Test Score", title_justify="left")
    for column in ("test", "title", "points", "source", "evidence"):
        table.add_column(column, overflow="fold")
    for t in result["tests"]:
        color = "green" if t["points"] >= 1 else "yellow" if t["points"] else "red"
        table.add_row(
            t["id"], t["title"], f"[{color}]{t['points']:.1f}[/]", t["source"], t["evidence"]
        )
    console.print(table)
    sums = ", ".join(f"{k} {v:.1f}" for k, v in result["sections"].items())
    console.print(f"sections: {sums}", highlight=False)
    console.print(
        f"[bold]final score {result['final']:.1f}[/] (the weakest section): {result['band']}",
        highlight=False,
    )
    console.print(f"rubric: {result['rubric']}", highlight=False)


def score_command(
    project: Path,
    overrides: list[str],
    min_score: float | None,
    output: Path | None,
    console: Console,
) -> bool:
    from mlplat.cli.jobs import stdout_console
    from mlplat.core.io import write_json
    from mlplat.runner.compose import compose
    from mlplat.runner.score.scoring import log_score, score_project

    cfg = compose(project, overrides)
    with console.status("[bold]score[/]: gathering evidence"):
        result = score_project(cfg, project)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    file = output or project / cfg.artifacts_dir / "score" / f"score-{stamp}.json"
    write_json(file, result)
    run_id = log_score(result, file)
    print_score(result, stdout_console())
    console.print(f"wrote {file}; logged to MLflow run {run_id}", highlight=False, soft_wrap=True)
    if min_score is not None and result["final"] < min_score:
        console.print(
            f"[bold red]score {result['final']:.1f} is below --min-score {min_score}[/]",
            highlight=False,
        )
        return False
    return True
