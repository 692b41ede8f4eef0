"""Every ```console block in docs/*.md and README.md runs, so the documentation cannot rot.

Lines starting with `$ ` are commands, run in order with bash in a fresh copy of the example project
(one per page). A command must exit 0 unless the line ends with `# exits N`. Other lines are
example output and are not compared. Blocks marked ```bash are illustrations and do not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, make_project

# Every page runs its examples in a fresh project: most train, serve or sweep.
pytestmark = pytest.mark.slow

EXIT = re.compile(r"#\s*exits\s+(\d+)\s*$")
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def commands(page: Path) -> list[tuple[str, int]]:
    found = []
    for block in BLOCK.findall(page.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.startswith("$ "):
                command = line[2:]
                code = EXIT.search(command)
                found.append((EXIT.sub("", command).strip(), int(code.group(1)) if code else 0))
    return found


PAGES = sorted(p for p in [REPO / "README.md", *(REPO / "docs").glob("*.md")] if commands(p))


@pytest.mark.parametrize("page", [pytest.param(p, id=p.name) for p in PAGES])
def test_doc_examples_run(page: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    env = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["DVC_NO_ANALYTICS"] = "1"  # no usage reports leave the machine from doc examples
    for command, expected in commands(page):
        done = subprocess.run(
            ["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == expected, (
            f"{page.name}: `{command}` exited {done.returncode}, expected {expected}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
