"""Run inside the image's build stage: import what the server imports, nothing else.

The venv is installed without bytecode; importing here as root writes `__pycache__` for just
the modules serving loads. That keeps start-up fast for the read-only, unprivileged server
(which cannot write bytecode) at about half the size of compiling every installed module.
Standard library only at module level: this runs before anything else is known to work.
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
    print(f"bytecode for {len(warm())} modules and their imports")
