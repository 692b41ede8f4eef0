"""The `mlplat` command. Each command parses, calls one function below `mlplat.cli`, prints.

Nothing heavy is imported at module level: `mlplat --help` must stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from mlplat.cli.errors import describe

app = typer.Typer(
    name="mlplat",
    help="Declare data, schema, features, model, segments, gates and budgets once; run, track, "
    "validate, register and serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
HYDRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
STATE = {"debug": False}


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _debugging() -> bool:
    return STATE["debug"] or os.environ.get("HYDRA_FULL_ERROR") == "1"


def fail(exc: BaseException) -> None:
    """Report an error as one line and exit with its code; re-raise when debugging."""
    if _debugging():
        raise exc
    from rich.markup import escape

    code, line = describe(exc)
    _console().print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _split_debug(args: list[str]) -> list[str]:
    if "--debug" in args:
        STATE["debug"] = True
    return [a for a in args if a != "--debug"]


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
) -> None:
    STATE["debug"] = debug


@app.command(context_settings=HYDRA_ARGS)
def run(ctx: typer.Context) -> None:
    """Run an experiment in process: validate, featurize, train, evaluate, register.

    Takes Hydra's whole command line: `+experiment=NAME`, overrides, `-m` sweeps, `--cfg job`,
    `hydra/launcher=...`, and Hydra's `--help`.
    """
    from mlplat.cli import jobs

    try:
        jobs.run_command(Path.cwd(), _split_debug(list(ctx.args)), _console())
    except typer.Exit:
        raise
    except Exception as exc:
        fail(exc)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def validate(
    ctx: typer.Context,
    data: Annotated[
        str | None, typer.Option(help="Validate this file instead of data.path.")
    ] = None,
) -> None:
    """Validate the data against the declared schema; exit 1 if any check fails."""
    from mlplat.cli import data as data_cli

    try:
        ok = data_cli.validate_command(Path.cwd(), _split_debug(list(ctx.args)), data, _console())
    except Exception as exc:
        fail(exc)
    raise typer.Exit(0 if ok else 1)


features_app = typer.Typer(
    help="The feature catalog declared under conf/features/.", no_args_is_help=True
)
app.add_typer(features_app, name="features")


@features_app.command("list")
def features_list() -> None:
    """Show every feature: kind, definition, description and the experiments using it."""
    from mlplat.cli import features as features_cli

    try:
        features_cli.list_command(Path.cwd(), _console())
    except Exception as exc:
        fail(exc)


@app.command()
def version() -> None:
    """Print mlplat's version."""
    import mlplat

    typer.echo(mlplat.__version__)


def main() -> None:
    app(prog_name="mlplat")


if __name__ == "__main__":
    main()
