"""A plain `pip install mlplat` serves: what the `serve` extra needs is in the base install."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement

from tests.conftest import REPO


def test_the_base_install_has_everything_the_serve_extra_needs() -> None:
    """uvloop is uvicorn's optional speed-up (and not on Windows); the rest are imported by
    `mlplat serve` itself. A missing one showed as `ModuleNotFoundError: httptools` at serve
    time in a project made by `mlplat init` after a plain install."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = {Requirement(r).name.lower() for r in project["dependencies"]}
    serve = {Requirement(r).name.lower() for r in project["optional-dependencies"]["serve"]}
    assert serve - base == {"uvloop"}
