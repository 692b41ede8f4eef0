"""Run inside the image's build stage: import what the server imports, nothing else.

The venv is installed without bytecode; importing here as root writes `__pycache__` for just
the modules serving loads. That keeps start-up fast for the read-only, unprivileged server
(which cannot write bytecode) at about half the size of compiling every installed module.
Standard library only at module level: this runs before anything else is known to work.
It lives in `mlplat.cli` because it drives the CLI (the image's CMD is `mlplat serve`).
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil

MODULES = (
    "numpy",
    "pandas",
    "scipy.sparse",
    "lightgbm",
    "yaml",
    "mlplat.cli.main",
    "mlplat.cli.serve",  # the image's CMD: a build that cannot import it must fail, not ship
    "mlplat.core.bundle",
    "mlplat.core.features",
)
# The server's runtime, imported lazily by mlplat.serving; best effort (a missing one is skipped).
OPTIONAL = (
    "uvicorn",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.lifespan.on",
)
PACKAGES = ("mlplat.serving",)  # every submodule: the server's own code, whatever its layout


def run_cli() -> None:
    """Parse `mlplat serve --help` as the CLI would: typer, click, rich and pydantic import most of
    their modules lazily, while a command runs, not when `mlplat.cli.main` is imported."""
    import io
    from contextlib import redirect_stdout

    import typer

    from mlplat.cli.main import app

    with redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        typer.main.get_command(app).main(["serve", "--help"], prog_name="mlplat")


def load_server() -> None:
    """uvicorn picks its loop, protocol and lifespan modules when its config loads."""

    async def app(scope: object, receive: object, send: object) -> None:
        return None

    with contextlib.suppress(ImportError):
        import uvicorn

        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None).load()


def warm() -> list[str]:
    done = [importlib.import_module(name).__name__ for name in MODULES]
    for name in OPTIONAL:
        with contextlib.suppress(ImportError):
            done.append(importlib.import_module(name).__name__)
    for name in PACKAGES:
        try:
            package = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            try:
                done.append(importlib.import_module(info.name).__name__)
            except ImportError:  # a tool module needing what the image lacks (e.g. mlflow)
                continue
    return done


if __name__ == "__main__":
    count = len(warm())
    run_cli()
    load_server()
    print(f"bytecode for {count} modules, the CLI and the server runtime")
