"""`mlplat init DIR [--data FILE --target COLUMN]`: scaffold a project, then git init + dvc init."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

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


def _vcs(root: Path) -> None:
    """git init, then dvc init (which stages its own files in the new repository), with DVC's
    Hydra integration composing conf/pipeline.yaml, so `dvc exp run -S key=value` just works,
    and DVC's usage reports off (opt in with `dvc config core.analytics true`)."""
    from dvc.repo import Repo

    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    repo = Repo.init(str(root))
    try:
        with repo.config.edit() as conf:
            conf["hydra"] = {"enabled": True, "config_name": "pipeline"}
            conf["core"]["analytics"] = False
    finally:
        repo.close()


def init_command(directory: Path, data: Path | None, target: str | None, console: Console) -> None:
    from mlplat.cli.pipeline import compiled_files
    from mlplat.core import dataio
    from mlplat.core.io import write_text
    from mlplat.runner import scaffold

    root = directory.resolve()
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"'{directory}' exists and is not empty", file=str(directory))
    root.mkdir(parents=True, exist_ok=True)
    try:
        data_path, target = _data(root, data, target)
        frame = dataio.read_frame(str(root / data_path))
        name = scaffold.snake(root.name)
        for rel, text in scaffold.project_files(name, frame, target, data_path).items():
            write_text(root / rel, text)
        _vcs(root)
        write_text(root / ".dvcignore", scaffold.template("dvcignore.j2"))
        with contextlib.chdir(root):  # declared paths are relative to the project
            files = compiled_files(root, [f"+experiment={scaffold.EXPERIMENT}"])
        for rel, text in files.items():
            write_text(root / rel, text)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)  # no half-made project that looks complete
        raise
    console.print(
        f"[green]✓[/] new project in [bold]{directory}[/]; next:\n"
        f"  cd {directory}\n  mlplat run +experiment={scaffold.EXPERIMENT}\n  dvc repro"
    )
