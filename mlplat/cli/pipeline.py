"""`mlplat compile` and `mlplat stage`: the DVC pipeline's edges (write files, run a stage)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def compiled_files(project: Path, args: list[str]) -> dict[str, str]:
    from mlplat.pipeline import compile as compiler
    from mlplat.pipeline import stagemode
    from mlplat.pipeline.compose import compose

    configs = [compose(project, overrides) for overrides in compiler.expand(args)]
    return compiler.render(configs, stagemode.pipeline(), project, args)


def _diff(path: Path, text: str) -> str:
    import difflib

    old = path.read_text(encoding="utf-8").splitlines(True) if path.is_file() else []
    return "".join(
        difflib.unified_diff(old, text.splitlines(True), f"a/{path.name}", f"b/{path.name}", n=1)
    )


def check(project: Path, args: list[str], console: Console) -> bool:
    """True when the committed files equal a fresh compile; prints a diff of each stale file."""
    from mlplat.core.errors import ConfigError
    from mlplat.pipeline import compile as compiler

    dvc_file = project / compiler.DVC_FILE
    if not args:
        recorded = (
            compiler.recorded_args(dvc_file.read_text("utf-8")) if dvc_file.is_file() else None
        )
        if recorded is None:
            raise ConfigError(
                "no dvc.yaml written by `mlplat compile` to check; pass the "
                "experiments (`mlplat compile --check +experiment=NAME`)",
                file=compiler.DVC_FILE,
            )
        args = recorded
    files = compiled_files(project, args)
    stale = compiler.stale(files, project)
    for rel in stale:
        console.print(_diff(project / rel, files[rel]), markup=False, highlight=False, end="")
        console.print(f"[red]stale[/]: {rel}")
    if stale:
        console.print(f"regenerate: [bold]mlplat compile {' '.join(args)}[/]")
    else:
        console.print(f"[green]✓[/] {', '.join(sorted(files))} up to date")
    return not stale


def compile_command(project: Path, args: list[str], console: Console) -> None:
    from mlplat.core.io import write_text

    files = compiled_files(project, args)
    for rel, text in files.items():
        write_text(project / rel, text)
    console.print(f"[green]✓[/] wrote {', '.join(files)}; run it with [bold]dvc repro[/]")


def stage_command(
    project: Path, name: str, experiment: str | None, params: str, console: Console
) -> None:
    from mlplat.pipeline import stagemode

    cfg = stagemode.load_params(project, params, experiment)
    seconds = stagemode.run_stage(name, cfg, project, console)
    console.print(f"  [green]✓[/] {name:<10} {seconds:6.2f}s")
