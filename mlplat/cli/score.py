"""`mlplat score`: compose, score from evidence, print the 28 tests, write/log the JSON."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.tables import Cell, Column, Table, print_json, print_table

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.ops.score.scoring import ScoreCard


SCORE_COLUMNS = (
    Column("test"),
    Column("title", prose=True),
    Column("points", right=True),
    Column("source"),
    Column("evidence", prose=True),
)


def _points(points: float) -> Cell:
    return (f"{points:.1f}", "green" if points >= 1 else "yellow" if points else "red")


def print_score(result: ScoreCard, console: Console) -> None:
    rows = [(t.id, t.title, _points(t.points), t.source, t.evidence) for t in result.tests]
    print_table(console, Table("ML Test Score", SCORE_COLUMNS, rows))
    sums = ", ".join(f"{k} {v:.1f}" for k, v in result.sections.items())
    console.print(f"sections: {sums}", highlight=False)
    console.print(
        f"[bold]final score {result.final:.1f}[/] (the weakest section): {result.band}",
        highlight=False,
    )
    console.print(f"rubric: {result.rubric}", highlight=False)


def score_command(
    project: Path,
    overrides: list[str],
    min_score: float | None,
    output: Path | None,
    console: Console,
    as_json: bool = False,
) -> bool:
    from mlplat.cli.jobs import stdout_console
    from mlplat.cli.notify import print_warnings
    from mlplat.core.io import write_json
    from mlplat.ops.score.scoring import log_score, score_project, tell_low_score
    from mlplat.pipeline.compose import compose

    cfg = compose(project, overrides)
    with console.status("[bold]score[/]: gathering evidence"):
        result = score_project(cfg, project)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    file = output or project / cfg.artifacts_dir / "score" / f"score-{stamp}.json"
    write_json(file, result.to_json())
    run_id = log_score(result, file)
    if as_json:
        print_json(result.to_json())
    else:
        print_score(result, stdout_console())
    console.print(f"wrote {file}; logged to MLflow run {run_id}", highlight=False, soft_wrap=True)
    if min_score is not None and result.final < min_score:
        console.print(
            f"[bold red]score {result.final:.1f} is below --min-score {min_score}[/]",
            highlight=False,
        )
        print_warnings(tell_low_score(cfg, project, result, min_score, run_id), console)
        return False
    return True
