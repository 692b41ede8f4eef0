"""Strict configuration: typos and bad values stop `mlplat run` at composition (exit 2), naming
the full key with a suggestion, before the tracking store or any artifact is touched; LightGBM's
parameters are checked against the installed library's own table."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import dvc_support
from tests.conftest import make_project, mlplat, tracking_uri

EXPERIMENT = "# @package _global_\n"


def case(
    name: str, overrides: str, key: str, suggestion: str, files: dict[str, str] | None = None
) -> object:
    """Space-separated overrides; `files` are written under the project first."""
    return pytest.param(overrides.split(" "), files or {}, key, suggestion, id=name)


# Cases that hold in any project: the example's and one `mlplat init` writes.
ANY = [
    # unknown keys, wherever they come from
    case("plus-data", "+data.no_such_key=1", "data.no_such_key", "data has: path"),
    case("plus-data-typo", "+data.targt=x", "data.targt", "'data.target'"),
    case("plus-model-typo", "+model.trsk=x", "model.trsk", "'model.task'"),
    case("plus-model", "+model.no_such_key=1", "model.no_such_key", "model has:"),
    case("plus-serving", "+serving.prot=1", "serving.prot", "'serving.port'"),
    case("plus-budget", "+budget.max_money.limt=3", "budget.max_money.limt", "limit'"),
    case("plus-segments", "+segments.min_suport=3", "segments.min_suport", "min_support'"),
    case("plus-root", "+no_such_key=1", "no_such_key", "the root has:"),
    case(
        "feature-thresholds-key",
        "+monitoring.feature_thresholds.age={psi_treshold:1}",
        "monitoring.feature_thresholds.age.psi_treshold",
        "'monitoring.feature_thresholds.age.psi_threshold'",
    ),
    case(
        "group-file",
        "serving=typo",
        "serving.prot",
        "'serving.port'",
        {"conf/serving/typo.yaml": "prot: 8080\n"},
    ),
    case(
        "experiment-file",
        "+experiment=typo",
        "model.trsk",
        "'model.task'",
        {"conf/experiment/typo.yaml": f"{EXPERIMENT}model:\n  trsk: x\n"},
    ),
    case("override-typo", "data.targt=x", "data.targt", "'data.target'"),
    # LightGBM's parameters: names, aliases, types, and the objective against the task
    case("lgbm-int", "model.params.num_leaves=abc", "model.params.num_leaves", "takes an int"),
    case("lgbm-float", "model.params.learning_rate=fast", "model.params.learning_rate", "a number"),
    case(
        "lgbm-alias-type",
        "model.params.min_child_samples=many",
        "model.params.min_child_samples",
        "LightGBM's min_data_in_leaf",
    ),
    case(
        "lgbm-unknown", "model.params.num_leavs=3", "model.params.num_leavs", "params.num_leaves'"
    ),
    case("objective", "model.params.objective=regression", "model.params.objective", "model.task"),
    case(
        "objective-alias",
        "model.params.objective=null model.params.application=multiclass",
        "model.params.application",
        "model.task",
    ),
    case("task", "model.task=regression", "model.params.objective", "model.task is 'regression'"),
    # bad values
    case(
        "schema-bound",
        "schema.columns.monthly_charges.ge=abc",
        "schema.columns.monthly_charges.ge",
        "not a number",
    ),
    case(
        "schema-dtype",
        "schema.columns.monthly_charges.dtype=double",
        "schema.columns.monthly_charges.dtype",
        "choose one of",
    ),
    case("rounds", "model.num_boost_round=-5", "model.num_boost_round", ">= 1"),
    case("threshold", "model.threshold=1.5", "model.threshold", "< 1"),
    case("early-stop", "model.early_stopping_rounds=-1", "model.early_stopping_rounds", ">= 0"),
    case("support", "segments.min_support=0", "segments.min_support", ">= 1"),
    case("bootstrap", "segments.bootstrap=-1", "segments.bootstrap", ">= 0"),
    case("confidence", "segments.confidence=1.5", "segments.confidence", "< 1"),
    case("seed", "seed=-1", "seed", ">= 0"),
    case("split-seed", "data.split.seed=-1", "data.split.seed", ">= 0"),
    case("port", "serving.port=70000", "serving.port", "<= 65535"),
    case("p-value", "monitoring.ks_pvalue=2", "monitoring.ks_pvalue", "<= 1"),
    case("price", "budget.price_per_cpu_hour=-1", "budget.price_per_cpu_hour", ">= 0"),
    case(
        "feature-threshold-value",
        "+monitoring.feature_thresholds.age={psi_threshold:-1}",
        "monitoring.feature_thresholds.age.psi_threshold",
        ">= 0",
    ),
    # declared columns the data lacks, named before any run is opened
    case("timestamp", "data.timestamp_column=Date", "data.timestamp_column", "no column 'Date'"),
    case("target", "data.target=no_such_col", "data.target", "no column 'no_such_col'"),
    case("id", "data.id_column=custid", "data.id_column", "did you mean 'customer_id'"),
    case(
        "group",
        "data.split.strategy=group data.split.group_column=household",
        "data.split.group_column",
        "no column 'household'",
    ),
    case(
        "segment-column",
        "segments=typo",
        "segments.slices.plans.column",
        "did you mean 'plan'",
        {"conf/segments/typo.yaml": "slices:\n  plans: {column: plann, each_value: true}\n"},
    ),
    case(
        "feature-column",
        "features=typo",
        "features.definitions.age.column",
        "did you mean 'age'",
        {"conf/features/typo.yaml": "definitions:\n  age: {kind: passthrough, column: agee}\n"},
    ),
]

# Cases that need the example's own declaration.
EXAMPLE_ONLY = [
    case(
        "plus-map-entry",
        "+schema.columns.monthly_charges.lowest=1",
        "schema.columns.monthly_charges.lowest",
        "schema.columns.monthly_charges has:",
    ),
    case(
        "plus-segment-entry",
        "+segments.slices.plan.colum=x",
        "segments.slices.plan.colum",
        "'segments.slices.plan.column'",
    ),
    case(
        "lgbm-alias-twice",
        "model.params.min_child_samples=5",
        "model.params.min_child_samples",
        "model.params.min_data_in_leaf",
    ),
    case(
        "schema-between",
        "schema.columns.age.between=[1,abc]",
        "schema.columns.age.between",
        "not a number",
    ),
    case(
        "segment-override",
        "segments.slices.plan.column=plann",
        "segments.slices.plan.column",
        "did you mean 'plan'",
    ),
]


@pytest.fixture(scope="module")
def init_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project as `mlplat init` writes it (its conf differs from the example's)."""
    parent = tmp_path_factory.mktemp("init")
    dvc_support.mlplat("init", "fresh", cwd=parent)
    return parent / "fresh"


@pytest.fixture(params=["example", "init"])
def any_project(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str]]:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    if request.param == "example":
        yield make_project(tmp_path / "proj"), "churn_baseline"
    else:
        root = tmp_path / "fresh"
        shutil.copytree(request.getfixturevalue("init_project"), root, symlinks=True)
        yield root, "baseline"


def _runs(root: Path) -> list[str]:
    """Every MLflow run in the project's store, whatever its status."""
    from mlflow import MlflowClient

    if not (root / "mlflow.db").exists():
        return []
    client = MlflowClient(tracking_uri(root))
    experiments = [e.experiment_id for e in client.search_experiments()]
    return [r.info.run_id for r in client.search_runs(experiments)]


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).write_text(text, encoding="utf-8")


def _refused(
    root: Path, experiment: str, overrides: list[str], files: dict[str, str], key: str, hint: str
) -> None:
    """The refusal as a user meets it: `mlplat run` in a subprocess, one line on stderr, exit 2,
    nothing opened or written."""
    _write(root, files)
    chosen = [] if any(o.startswith("+experiment=") for o in overrides) else [experiment]
    done = mlplat("run", *(f"+experiment={e}" for e in chosen), *overrides, cwd=root)
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"[key '{key}'" in done.stderr, done.stderr
    assert hint in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1, done.stderr
    assert _runs(root) == [], "an MLflow run was opened"
    assert not (root / "artifacts").exists(), "artifacts were written"


def _refused_at_composition(
    root: Path,
    experiment: str,
    overrides: list[str],
    files: dict[str, str],
    key: str,
    hint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same refusal in process: the composition `mlplat run` goes through, and the line the
    CLI's error handler would print (a subprocess per case made this the slowest fast test)."""
    from mlplat.cli.errors import describe
    from mlplat.pipeline.compose import compose

    _write(root, files)
    monkeypatch.chdir(root)  # the declared data path is relative to the project, as for the CLI
    chosen = [] if any(o.startswith("+experiment=") for o in overrides) else [experiment]
    with pytest.raises(Exception) as refused:
        compose(root, [*(f"+experiment={e}" for e in chosen), *overrides])
    code, line = describe(refused.value)
    assert code == 2, line
    assert f"[key '{key}'" in line, line
    assert hint in line, line
    assert "\n" not in line.strip(), line
    assert not (root / "mlflow.db").exists() and not (root / "artifacts").exists()


# Every case through the CLI in a subprocess would take minutes; these few keep that path honest.
THROUGH_THE_CLI = {"plus-data-typo", "group-file", "experiment-file", "lgbm-int", "target"}


@pytest.mark.parametrize(("overrides", "files", "key", "suggestion"), ANY)
def test_refused_at_composition_in_any_project(
    any_project: tuple[Path, str],
    overrides: list[str],
    files: dict[str, str],
    key: str,
    suggestion: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, experiment = any_project
    _refused_at_composition(root, experiment, overrides, files, key, suggestion, monkeypatch)


@pytest.mark.parametrize(
    ("overrides", "files", "key", "suggestion"),
    [c for c in ANY if getattr(c, "id", None) in THROUGH_THE_CLI],
)
def test_the_cli_refuses_before_opening_anything(
    any_project: tuple[Path, str],
    overrides: list[str],
    files: dict[str, str],
    key: str,
    suggestion: str,
) -> None:
    root, experiment = any_project
    _refused(root, experiment, overrides, files, key, suggestion)


@pytest.mark.parametrize(("overrides", "files", "key", "suggestion"), EXAMPLE_ONLY)
def test_refused_at_composition_in_the_example(
    project: Path,
    overrides: list[str],
    files: dict[str, str],
    key: str,
    suggestion: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _refused_at_composition(
        project, "churn_baseline", overrides, files, key, suggestion, monkeypatch
    )


def test_the_table_is_lightgbms_own() -> None:
    """Names and aliases are exactly what the installed LightGBM's Python package knows."""
    from lightgbm.basic import _ConfigAliases

    from mlplat.core.config import lightgbm_params
    from mlplat.core.config.lightgbm_params import ParamType

    table = lightgbm_params.table()
    _ConfigAliases.get("num_leaves")  # loads LightGBM's alias table
    theirs = _ConfigAliases.aliases or {}
    assert {n: sorted(a) for n, a in theirs.items()} == {
        name: sorted(a for a, c in table.canonical.items() if c == name) for name in theirs
    }
    assert set(table.canonical.values()) == set(theirs)
    expected = {
        "num_leaves": ParamType.INT,
        "learning_rate": ParamType.FLOAT,
        "deterministic": ParamType.BOOL,
        "objective": ParamType.STRING,
        "metric": ParamType.LIST,
    }
    assert {name: table.types[name] for name in expected} == expected
    assert table.canonical["min_child_samples"] == "min_data_in_leaf"


@pytest.mark.parametrize(
    ("params", "refused"),
    [
        pytest.param({"min_child_samples": 5, "max_bin": 63}, None, id="alias-and-name"),
        pytest.param({"metric": ["auc", "binary_logloss"]}, None, id="list"),
        pytest.param({"cat_l2": None}, None, id="none-is-unset"),
        pytest.param({"deterministic": 1}, "true or false", id="bool"),
        pytest.param({"max_bin": 63.5}, "an int", id="float-for-int"),
        pytest.param({"learning_rate": {"a": 1}}, "a number", id="map"),
    ],
)
def test_parameter_types(params: dict[str, object], refused: str | None) -> None:
    from mlplat.core.config import lightgbm_params
    from mlplat.core.errors import ConfigError

    if refused is None:
        lightgbm_params.check(params, "binary")
        return
    with pytest.raises(ConfigError, match=refused):
        lightgbm_params.check(params, "binary")


def test_composition_does_not_import_the_lightgbm_package(project: Path) -> None:
    """The table comes from the library through ctypes: no lightgbm, no scikit-learn import."""
    code = (
        "import sys; from pathlib import Path; from mlplat.pipeline.compose import compose; "
        "compose(Path.cwd(), ['+experiment=churn_baseline', 'model.params.min_child_samples=5',"
        " 'model.params.min_data_in_leaf=null']); "
        "print(sorted(m for m in ('lightgbm', 'sklearn') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_any_lightgbm_parameter_is_set_without_plus(any_project: tuple[Path, str]) -> None:
    """An alias and a canonical name the project's files never mention reach LightGBM."""
    root, experiment = any_project
    done = mlplat(
        "run",
        f"+experiment={experiment}",
        "model.params.min_data_in_leaf=null",
        "model.params.min_child_samples=7",
        "model.params.max_bin=63",
        "model.num_boost_round=5",
        "segments.bootstrap=0",
        "segments.discovery.enabled=false",
        "registry.register=false",
        cwd=root,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    model = (root / "artifacts" / experiment / "train" / "model.txt").read_text()
    assert "[min_data_in_leaf: 7]" in model and "[max_bin: 63]" in model


def test_every_metric_name_has_one_direction_and_every_task_a_primary_metric() -> None:
    """The one definition the gates, sweeps, the report and the ML Test Score read."""
    from mlplat.core.metric_names import LOWER_IS_BETTER, NAMES, PRIMARY, Direction, direction
    from mlplat.core.vocabulary import Task

    assert set(NAMES) == set(PRIMARY) == set(Task)
    assert all(PRIMARY[task] in NAMES[task] for task in Task)
    assert {name for names in NAMES.values() for name in names} >= LOWER_IS_BETTER
    assert direction("log_loss") == Direction.MINIMIZE == "minimize"
    assert direction("auc") == Direction.MAXIMIZE
