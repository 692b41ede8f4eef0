"""`mlplat compile`: dvc.yaml and params rendered from the stage graph, deterministic, checked."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlplat.core.errors import ConfigError
from mlplat.pipeline import compile as compiler
from mlplat.pipeline import stagemode
from mlplat.pipeline.compose import compose
from tests.conftest import REPO, mlplat
from tests.dvc_support import TINY

GOLDEN = REPO / "tests" / "golden" / "compile" / "dvc.yaml"
REGENERATE = (
    "MLPLAT_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/pipeline/test_compile.py -k golden"
)
ARGS = ["+experiment=churn_baseline,churn_tiny"]


@pytest.fixture
def two(project: Path) -> Path:
    (project / "conf" / "experiment" / "churn_tiny.yaml").write_text(TINY, encoding="utf-8")
    return project


def render(project: Path, args: list[str]) -> dict[str, str]:
    configs = [compose(project, overrides) for overrides in compiler.expand(args)]
    return compiler.render(configs, stagemode.pipeline(), project, args)


def test_dvc_yaml_matches_golden(two: Path) -> None:
    text = render(two, ARGS)["dvc.yaml"]
    if os.environ.get("MLPLAT_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "rendered")
    )
    assert not diff, (
        f"dvc.yaml differs from {GOLDEN.name}; if intended, regenerate:\n  {REGENERATE}\n{diff}"
    )


def test_rendering_is_deterministic_and_follows_the_stage_objects(two: Path) -> None:
    files = render(two, ARGS)
    assert files == render(two, ARGS)
    assert sorted(files) == ["dvc.yaml", "params.yaml", "params/churn_tiny.yaml"]
    stages = yaml.safe_load(files["dvc.yaml"])["stages"]
    for exp, params_file in (
        ("churn_baseline", "params.yaml"),
        ("churn_tiny", "params/churn_tiny.yaml"),
    ):
        for stage in stagemode.pipeline():
            rendered = stages[f"{exp}-{stage.name}"]
            assert rendered["cmd"] == (
                f"mlplat stage {stage.name} --experiment {exp} --params {params_file}"
            )
            assert rendered["params"] == [{params_file: [*stage.params, "mlplat_version"]}]
            declared = [
                *rendered.get("outs", []),
                *rendered.get("metrics", []),
                *rendered.get("plots", []),
            ]
            assert len(declared) == len(stage.writes) + 1  # and the stage's own cost profile
            assert f"artifacts/{exp}/cost/{stage.name}.json" in rendered["metrics"]
            assert all(p.startswith(f"artifacts/{exp}/") for p in declared)
    assert stages["churn_tiny-validate"]["deps"] == ["data/churn.csv"]
    assert stages["churn_baseline-evaluate"]["metrics"] == [
        "artifacts/churn_baseline/evaluate/metrics.json",
        "artifacts/churn_baseline/cost/evaluate.json",
    ]
    assert yaml.safe_load(files["params/churn_tiny.yaml"])["model"]["num_boost_round"] == 20


def _deps(name: str, project: Path) -> list[str]:
    return compiler.code_deps(next(s for s in stagemode.pipeline() if s.name == name), project)


def test_code_deps_are_the_files_a_stage_imports(two: Path) -> None:
    train = _deps("train", REPO)
    assert "mlplat/stages/train" in train and "mlplat/core/split.py" in train
    assert not [
        d
        for d in train
        if d.startswith(("mlplat/pipeline", "mlplat/tracking", "mlplat/stages/evaluate"))
    ]
    assert "mlplat/core/tracking_store.py" not in train  # core, but the train stage never runs it
    assert _deps("train", two) == []  # an installed mlplat is not part of this repo


def test_register_reruns_when_the_gates_change_not_when_lint_does() -> None:
    """The register stage's verdict comes from the gates (stages/evaluate/gates.py), through
    imports outside its own package; `mlplat lint` is no part of it."""
    register = _deps("register", REPO)
    assert "mlplat/stages/evaluate" in register or "mlplat/stages/evaluate/gates.py" in register
    assert "mlplat/tracking" in register or "mlplat/tracking/registration.py" in register
    assert not [d for d in register if d.startswith(("mlplat/project", "mlplat/ops"))]


def test_code_deps_name_the_project_sources_not_the_running_install(tmp_path: Path) -> None:
    """A project holding mlplat's sources gets its own files as deps, wherever the running
    mlplat was imported from (here: this worktree, not the project); function-level and
    relative imports count, a module nothing imports does not."""
    files = {
        "mlplat/__init__.py": "",
        "mlplat/lint.py": "",
        "mlplat/core/__init__.py": "",
        "mlplat/core/split.py": "def f():\n    from . import io\n",
        "mlplat/core/io.py": "import json\n",
        "mlplat/core/report.html.j2": "",
        "mlplat/stages/__init__.py": "",
        "mlplat/stages/train/__init__.py": "",
        "mlplat/stages/train/stage.py": "from mlplat.core import split\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _deps("train", tmp_path) == ["mlplat/__init__.py", "mlplat/core", "mlplat/stages"]
    assert _deps("validate", tmp_path) == []  # its module is not in this project


def test_every_stage_depends_on_the_mlplat_version(two: Path) -> None:
    import mlplat

    files = render(two, ARGS)
    for params_file in ("params.yaml", "params/churn_tiny.yaml"):
        assert yaml.safe_load(files[params_file])["mlplat_version"] == mlplat.__version__
    for name, stage in yaml.safe_load(files["dvc.yaml"])["stages"].items():
        ((params_file, keys),) = stage["params"][0].items()
        assert "mlplat_version" in keys, name


def test_a_stage_refuses_params_of_another_mlplat_version(project: Path) -> None:
    params = render(project, ["+experiment=churn_baseline"])["params.yaml"]
    (project / "params.yaml").write_text(
        params.replace("mlplat_version: ", "mlplat_version: 0.0.0+")
    )
    with pytest.raises(ConfigError, match=r"compiled for mlplat 0\.0\.0\+.*rerun `mlplat compile`"):
        stagemode.load_params(project, "params.yaml", "churn_baseline")


def dvc_compose(project: Path, out: Path, *overrides: str) -> None:
    """What `dvc exp run -S` does with hydra.enabled, in a fresh process: mlplat_schema must come
    from the installed Hydra plugin (hydra_plugins/mlplat_schema), as it does inside DVC."""
    code = (
        "import sys; from dvc.utils.hydra import compose_and_dump; "
        "compose_and_dump(sys.argv[1], sys.argv[2], None, 'pipeline', sys.argv[3], sys.argv[4:])"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(out), str(project / "conf"), str(project), *overrides],
        check=True,
        cwd=project,
        timeout=120,
    )


def test_params_file_equals_dvc_hydra_composition(project: Path, tmp_path: Path) -> None:
    """DVC's own Hydra integration (`dvc exp run -S`) writes the same bytes mlplat compile does."""
    ours = render(project, ["+experiment=churn_baseline"])["params.yaml"]
    out = tmp_path / "params.yaml"
    dvc_compose(project, out)
    assert out.read_text(encoding="utf-8") == ours
    dvc_compose(project, out, "model.params.num_leaves=63")
    changed = [
        line
        for line in difflib.ndiff(ours.splitlines(), out.read_text().splitlines())
        if line[:1] in "+-"
    ]
    assert changed == ["-     num_leaves: 31", "+     num_leaves: 63"]


def test_one_experiment_twice_is_refused(project: Path) -> None:
    with pytest.raises(ConfigError, match="both experiment 'churn_baseline'"):
        render(project, ["+experiment=churn_baseline", "seed=1,2"])


def test_check_passes_then_fails_when_conf_changes(project: Path) -> None:
    assert mlplat("compile", "--check", cwd=project).returncode == 2  # nothing compiled yet
    assert mlplat("compile", "+experiment=churn_baseline", cwd=project).returncode == 0
    done = mlplat("compile", "--check", cwd=project)
    assert done.returncode == 0, done.stderr
    model = project / "conf" / "model" / "lightgbm_binary.yaml"
    model.write_text(model.read_text().replace("num_leaves: 31", "num_leaves: 15"))
    done = mlplat("compile", "--check", cwd=project)
    assert done.returncode == 1
    assert "-    num_leaves: 31" in done.stderr and "+    num_leaves: 15" in done.stderr
    assert (
        "stale: params.yaml" in done.stderr
        and "mlplat compile +experiment=churn_baseline" in done.stderr
    )


def test_stage_refuses_params_of_another_experiment(project: Path) -> None:
    assert mlplat("compile", "+experiment=churn_baseline", cwd=project).returncode == 0
    done = mlplat("stage", "validate", "--experiment", "other", cwd=project)
    assert done.returncode == 2
    assert "holds experiment 'churn_baseline' but this pipeline runs 'other'" in done.stderr
    done = mlplat("stage", "nope", cwd=project)
    assert done.returncode == 2 and "unknown stage 'nope'" in done.stderr


def test_stage_runs_one_stage_from_the_params_file(project: Path) -> None:
    assert mlplat("compile", "+experiment=churn_baseline", cwd=project).returncode == 0
    done = mlplat("stage", "validate", "--experiment", "churn_baseline", cwd=project)
    assert done.returncode == 0, done.stderr
    assert (project / "artifacts/churn_baseline/validate/report.json").is_file()
