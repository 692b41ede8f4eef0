"""`mlplat lint`: one project with one violation of each kind, and the example project clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlplat.project.lint import lint
from tests.conftest import mlplat

LINE = re.compile(r"^(conf/[\w./]+):(\d+): ([A-Z]\d{3}) .+$")


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def violations(project: Path) -> Path:
    """Each edit breaks exactly one convention."""
    edit(project, "conf/model/lightgbm_binary.yaml", "  num_leaves: 31", "  numLeaves: 31")  # N001
    edit(project, "conf/features/churn.yaml", "  signup_month:", "  SignupMonth:")  # N002
    edit(project, "conf/segments/churn.yaml", "  heavy_support:", "  HeavySupport:")  # N003
    experiments = project / "conf" / "experiment"
    (experiments / "ChurnFast.yaml").write_text(  # N004
        "# @package _global_\nexperiment_name: ChurnFast\n", encoding="utf-8"
    )
    (experiments / "churn_other.yaml").write_text(  # N005
        "# @package _global_\nexperiment_name: churn_renamed\n", encoding="utf-8"
    )
    edit(project, "conf/registry/churn.yaml", "domain: telco", "domain: Telco")  # N006
    edit(
        project,
        "conf/features/churn.yaml",
        "definitions:\n",  # R001
        "definitions:\n  ghost: {kind: passthrough, column: ghost_column}\n",
    )
    edit(project, "conf/gates/default.yaml", "  auc: 0.6", "  auk: 0.6")  # R002
    edit(
        project,
        "conf/schema/churn.yaml",
        "columns:\n",  # W001
        "columns:\n  spare: {dtype: float, nullable: true, required: false}\n",
    )
    return project


def test_each_violation_is_reported_once_with_file_and_line(violations: Path) -> None:
    found = lint(violations)
    by_code = {f.code: f for f in found}
    assert sorted(by_code) == [
        "N001",
        "N002",
        "N003",
        "N004",
        "N005",
        "N006",
        "R001",
        "R002",
        "W001",
    ]
    assert len(found) == len(by_code), [str(f) for f in found]
    model = (violations / "conf/model/lightgbm_binary.yaml").read_text().splitlines()
    assert (by_code["N001"].file, by_code["N001"].line) == (
        "conf/model/lightgbm_binary.yaml",
        model.index("  numLeaves: 31") + 1,
    )
    assert "numLeaves" in by_code["N001"].message
    assert (
        by_code["N002"].file == "conf/features/churn.yaml"
        and "SignupMonth" in by_code["N002"].message
    )
    assert by_code["N004"].file == "conf/experiment/ChurnFast.yaml"
    assert "Telco-churn-lgbm" in by_code["N006"].message
    features = (violations / "conf/features/churn.yaml").read_text().splitlines()
    assert (
        by_code["R001"].line
        == features.index("  ghost: {kind: passthrough, column: ghost_column}") + 1
    )
    assert "ghost_column" in by_code["R001"].message
    assert "auk" in by_code["R002"].message and by_code["R002"].file == "conf/gates/default.yaml"
    assert "spare" in by_code["W001"].message and not by_code["W001"].error


def test_cli_prints_ruff_style_lines_and_exits_1(violations: Path) -> None:
    done = mlplat("lint", cwd=violations)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 9 and all(LINE.match(line) for line in lines), lines
    assert "Found 8 error(s), 1 warning(s)." in done.stderr


def test_warnings_alone_pass(project: Path) -> None:
    edit(
        project,
        "conf/schema/churn.yaml",
        "columns:\n",
        "columns:\n  spare: {dtype: float, nullable: true, required: false}\n",
    )
    done = mlplat("lint", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "W001" in done.stdout


def test_the_example_project_is_clean(project: Path) -> None:
    assert lint(project) == []


def test_a_config_that_does_not_compose_is_a_finding(project: Path) -> None:
    (project / "conf" / "experiment" / "broken.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: missing_model\n", encoding="utf-8"
    )
    codes = [(f.file, f.code) for f in lint(project)]
    assert ("conf/experiment/broken.yaml", "C001") in codes
