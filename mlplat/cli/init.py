"""`mlplat init DIR [--data FILE --target COLUMN] [--json]`: scaffold a project, say what was
inferred.

The project is made whole in a hidden staging directory (files, compiled pipeline, then git and
DVC) beside it, or inside it when it exists empty, and moved into place only when everything
succeeded: a failure leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.project.scaffold import Summary

SAMPLE_ROWS = 5000


def _data(root: Path, data: Path | None, target: str | None) -> tuple[str, str]:
    """Put the data under data/; returns (path relative to the project, target)."""
    if data is None:
        from mlplat.example.churn import write

        write(root / "data" / "churn.csv", rows=SAMPLE_ROWS)
        return "data/churn.csv", target or "churn"
    if not target:
        raise ConfigError("--data needs --target COLUMN: the column to predict", key="--target")
    if not data.is_file():
        raise ConfigError(f"data file '{data}' does not exist", key="--data", file=str(data))
    (root / "data").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data, root / "data" / data.name)
    return f"data/{data.name}", target


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """DVC announces itself at INFO; init's summary is what the user reads."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def _vcs(root: Path) -> None:
    """git init, then dvc init (which stages its own files in the new repository), with DVC's
    Hydra integration composing conf/pipeline.yaml, so `dvc exp run -S key=value` just works,
    and DVC's usage reports off (opt in with `dvc config core.analytics true`)."""
    from dvc.repo import Repo

    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    with _quiet("dvc"):
        repo = Repo.init(str(root))
    try:
        with repo.config.edit() as conf:
            conf["hydra"] = {"enabled": True, "config_name": "pipeline"}
            conf["core"]["analytics"] = False
    finally:
        repo.close()


def _build(work: Path, name: str, data: Path | None, target: str | None) -> Summary:
    """Every file of the project in `work`; git and DVC last, once the rest composed."""
    from mlplat.cli.pipeline import compiled_files
    from mlplat.core import dataio
    from mlplat.core.io import write_text
    from mlplat.project import scaffold

    data_path, target = _data(work, data, target)
    frame = dataio.read_frame(str(work / data_path))
    files, summary = scaffold.project_files(name, frame, target, data_path)
    files[".dvcignore"] = scaffold.template("dvcignore.j2")  # before DVC's own default
    for rel, text in files.items():
        write_text(work / rel, text)
    with contextlib.chdir(work):  # declared paths are relative to the project
        compiled = compiled_files(work, [f"+experiment={scaffold.EXPERIMENT}"])
    for rel, text in compiled.items():
        write_text(work / rel, text)
    _vcs(work)
    return summary


def _publish(work: Path, root: Path) -> None:
    """Move the finished project into place: the staging directory becomes `root`, or, staged
    inside an existing empty `root` (perhaps the shell's current directory), its entries move up."""
    if work.parent != root:
        os.rename(work, root)
        return
    for entry in work.iterdir():
        os.rename(entry, root / entry.name)
    work.rmdir()


def _made_parents(path: Path) -> list[Path]:
    """Create `path` and its missing parents; returns the ones created, deepest first."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    return missing


def make_project(directory: Path, data: Path | None, target: str | None) -> Summary:
    """The whole project at `directory`, or nothing at all."""
    from mlplat.core.names import snake

    root = directory.resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigError(f"'{directory}' exists and is not empty", file=str(directory))
    parents = _made_parents(root.parent)
    stage_in = root if root.exists() else root.parent
    work = Path(tempfile.mkdtemp(prefix=f".{root.name}.mlplat-init-", dir=stage_in))
    try:
        summary = _build(work, snake(root.name), data, target)
        _publish(work, root)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        for made in parents:
            made.rmdir()
        raise
    return summary


def _lines(summary: Summary) -> list[tuple[str, str]]:
    """The summary table: one line per fact."""
    split = summary.split
    held = f"{split['test_size']:.0%} held out"
    if split["strategy"] == "time":
        how = f"time by {split['timestamp_column']}: the latest {held}"
    else:
        how = f"{split['strategy']}: {held}, seed {split['seed']}"
    gates = summary.gates
    lift = f"lift over the better baseline >= {gates['min_lift_over_best']:+g}"
    gap = f"segments within {gates['segment_max_gap']:.0%} of overall"
    dropped = (
        f"{summary.missing_target} of {summary.rows} rows have no target (dropped in runs)"
        if summary.missing_target
        else f"none of {summary.rows} rows"
    )
    return [
        ("target", summary.target),
        ("task", summary.task),
        ("positive class", summary.positive_class or "-"),
        ("primary metric", summary.primary_metric),
        ("split", how),
        ("features", str(summary.features)),
        ("segments", ", ".join(summary.segments) or "-"),
        ("baselines", ", ".join(summary.baselines)),
        ("gates", f"on {summary.primary_metric}: {lift}; {gap}"),
        ("champion gate", gates["champion_metric"]),
        ("dropped rows", dropped),
    ]


def _sections(summary: Summary) -> list[tuple[str, list[str]]]:
    """Lists printed below the table, one item per line."""
    thin = [f"{name}: {rows} rows" for name, rows in summary.thin_segments.items()]
    return [
        ("names mapped (schema and serving keep yours)", _arrows(summary.mapped)),
        ("left out of the features", [f"{c}: {why}" for c, why in summary.left_out.items()]),
        (f"segments below min_support ({summary.min_support} holdout rows), not measured", thin),
        ("warnings", summary.warnings),
    ]


def _arrows(mapped: dict[str, str]) -> list[str]:
    return [f"{original} -> {derived}" for original, derived in mapped.items()]


def print_summary(summary: Summary, directory: Path, console: Console) -> None:
    """The facts as a two-column table (the shared layout: never an identifier cut), then the
    lists, one item per line."""
    from mlplat.core.tables import Column, Table, print_line, print_table

    print_line(console, f"new project in {directory}")
    columns = (Column("fact"), Column("value", prose=True))
    print_table(console, Table("what mlplat init inferred", columns, _lines(summary), False))
    for title, items in _sections(summary):
        if items:
            print_line(console, f"{title}:")
            for item in items:
                print_line(console, f"  {item}")
    next_steps = ("cd " + str(directory), "mlplat run +experiment=baseline", "dvc repro")
    print_line(console, "next:")
    for step in next_steps:
        print_line(console, f"  {step}")


def init_command(directory: Path, data: Path | None, target: str | None, as_json: bool) -> None:
    """The summary is the command's output: stdout, as a table or as JSON."""
    import json
    import sys

    from rich.console import Console

    summary = make_project(directory, data, target)
    if as_json:
        sys.stdout.write(json.dumps(asdict(summary), indent=2) + "\n")
        return
    print_summary(summary, directory, Console())
