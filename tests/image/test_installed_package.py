"""mlplat as a package (issue 19 items 8 and 9): with mlplat pip-installed (not editable) in a
fresh venv, `mlplat image build` packs the running mlplat into the image, and `mlplat compile`
writes the same files wherever mlplat is installed, tracking mlplat by its version."""

from __future__ import annotations

import filecmp
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, make_project
from tests.installed_support import Installed

pytestmark = pytest.mark.slow

MODEL = "models:/telco-churn-lgbm@challenger"
NO_ANALYTICS = {"DVC_NO_ANALYTICS": "1"}
VERSION = "import mlplat; print(mlplat.__version__)"


def ok(installed: Installed, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = installed.run(*args, cwd=cwd, env={**NO_ANALYTICS, **(env or {})})
    assert done.returncode == 0, f"{args}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def python(installed: Installed, code: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    return ok(installed, "python", "-c", code, cwd=cwd, env=env).strip()


@pytest.fixture(scope="module")
def user_project(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project outside this repository, compiled and reproduced (which registers
    the model) by the installed mlplat, as its user would."""
    root = make_project(tmp_path_factory.mktemp("user") / "proj")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    ok(installed, "dvc", "init", "-q", cwd=root)
    ok(installed, "mlplat", "compile", "+experiment=churn_baseline", cwd=root)
    ok(installed, "dvc", "repro", cwd=root)
    return root


def dvc_status(installed: Installed, root: Path) -> dict[str, list[dict[str, object]]]:
    return json.loads(ok(installed, "dvc", "status", "--json", cwd=root))  # type: ignore[no-any-return]


def test_compiled_pipeline_tracks_the_installed_mlplat_by_version(
    installed: Installed, user_project: Path
) -> None:
    root, version = (
        user_project,
        python(installed, VERSION, user_project),
    )
    text = (root / "dvc.yaml").read_text(encoding="utf-8")
    assert "site-packages" not in text and str(installed.root) not in text
    params = (root / "params.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(params)["mlplat_version"] == version
    stages = yaml.safe_load(text)["stages"]
    assert all("mlplat_version" in s["params"][0]["params.yaml"] for s in stages.values())
    ok(installed, "mlplat", "compile", "--check", cwd=root)
    assert dvc_status(installed, root) == {}

    # the pipeline as another mlplat version records it: every stage is out of date
    (root / "params.yaml").write_text(
        params.replace(f"mlplat_version: {version}", "mlplat_version: 0.0.1")
    )
    try:
        changed = dvc_status(installed, root)
        assert set(changed) == set(stages)
        assert all("mlplat_version" in json.dumps(entries) for entries in changed.values())
        stale = installed.run("mlplat", "compile", "--check", cwd=root, env=NO_ANALYTICS)
        assert stale.returncode == 1 and "params.yaml" in stale.stdout + stale.stderr
    finally:
        (root / "params.yaml").write_text(params)


def test_an_init_project_tracks_mlplat_by_version(installed: Installed, tmp_path: Path) -> None:
    ok(installed, "mlplat", "init", "fresh", cwd=tmp_path)
    root, version = tmp_path / "fresh", python(installed, VERSION, tmp_path)
    text = (root / "dvc.yaml").read_text(encoding="utf-8")
    assert "site-packages" not in text and str(installed.root) not in text
    assert yaml.safe_load((root / "params.yaml").read_text())["mlplat_version"] == version
    stages = yaml.safe_load(text)["stages"]
    assert stages and all(
        "mlplat_version" in s["params"][0]["params.yaml"] for s in stages.values()
    )
    ok(installed, "mlplat", "compile", "--check", cwd=root)


def test_compile_check_in_the_repository_with_a_non_editable_install(installed: Installed) -> None:
    """The committed dvc.yaml names the repository's sources, whichever mlplat compiles it."""
    ok(installed, "mlplat", "compile", "--check", cwd=REPO)


def test_image_context_carries_the_running_mlplat(
    installed: Installed, user_project: Path, tmp_path: Path
) -> None:
    root = user_project
    ok(
        installed,
        "mlplat",
        "image",
        "build",
        "--model",
        MODEL,
        "--context-only",
        str(tmp_path / "ctx"),
        cwd=root,
    )
    ctx = tmp_path / "ctx"
    version = python(installed, VERSION, root)
    (wheel,) = (ctx / "app").glob("*.whl")
    assert wheel.name == f"mlplat-{version}-py3-none-any.whl"
    dockerfile = (ctx / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY app/ /build/app/" in dockerfile and "--no-deps /build/app/*.whl" in dockerfile

    # installable by pip, offline, and the same files as the running installation
    target = tmp_path / "target"
    ok(
        installed,
        "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--no-index",
        "--no-deps",
        "--target",
        str(target),
        str(wheel),
        cwd=tmp_path,
    )
    assert (target / "bin" / "mlplat").is_file()  # the console script the image runs
    site = Path(
        python(
            installed,
            "import mlplat, pathlib; print(pathlib.Path(mlplat.__file__).parent.parent)",
            root,
        )
    )
    package = files(site / "mlplat", "mlplat")
    assert package == files(target / "mlplat", "mlplat")
    plugins = files(target / "hydra_plugins", "hydra_plugins")  # a namespace: ours only
    assert {name.split("/")[1] for name in plugins} == {"mlplat_schema", "mlplat_optuna_sweeper"}
    _, mismatch, errors = filecmp.cmpfiles(site, target, [*package, *plugins], shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
    found = python(
        installed,
        "import mlplat; print(mlplat.__version__, mlplat.__file__)",
        tmp_path,
        env={"PYTHONPATH": str(target)},
    )
    assert found == f"{version} {target / 'mlplat' / '__init__.py'}"


def files(root: Path, prefix: str) -> list[str]:
    found = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
    return sorted(f"{prefix}/{p.as_posix()}" for p in found if "__pycache__" not in p.parts)
