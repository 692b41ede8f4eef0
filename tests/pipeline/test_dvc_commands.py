"""DVC's own read commands (`metrics show`, `plots show`, `exp show`) run clean after `dvc repro`:
in a copy of this repository's layout and in a project `mlplat init` made (issue 19, item 11)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.dvc_support import commit, dvc, mlplat, sh

READ_COMMANDS = (("metrics", "show"), ("plots", "show"), ("exp", "show", "--no-pager", "--csv"))
TROUBLE = ("failed", "error", "warning")


def repo_copy(dest: Path) -> Path:
    """The repository's tracked files (as they are in the work tree), in a fresh git repo."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    for rel in filter(None, listed.split("\0")):
        source = REPO / rel
        if source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    sh("git", "init", "-q", "-b", "main", cwd=dest)
    commit(dest, "copy")
    return dest


def init_project(dest: Path) -> Path:
    mlplat("init", dest.name, cwd=dest.parent)
    commit(dest, "init")
    return dest


@pytest.mark.slow
@pytest.mark.parametrize(
    "make", [pytest.param(repo_copy, id="repository"), pytest.param(init_project, id="init")]
)
def test_dvc_read_commands_are_clean_after_repro(make: object, tmp_path: Path) -> None:
    root = make(tmp_path / "proj")  # type: ignore[operator]
    dvc("repro", cwd=root)
    for command in READ_COMMANDS:
        done = dvc(*command, cwd=root)
        said = done.stderr.lower()  # DVC reports what it failed to load on stderr
        assert not [word for word in TROUBLE if word in said], (command, done.stderr[-2000:])
    assert (root / "dvc_plots" / "index.html").is_file()
