"""Promote, rollback and history against a real sqlite MLflow registry, in process and by CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplat.core.errors import RegistryError
from mlplat.tracking import aliases
from tests.conftest import make_project, mlplat, tracking_uri

NAME = "telco-churn-lgbm"


def _registry(root: Path, versions: int = 3):  # type: ignore[no-untyped-def]
    """A registered model with `versions` versions (sources are plain directories)."""
    from mlplat.tracking.tracker import Tracker

    tracker = Tracker(tracking_uri(root))
    tracker.client.create_registered_model(NAME)
    for i in range(versions):
        source = root / f"model{i}"
        source.mkdir(parents=True)
        tracker.client.create_model_version(NAME, str(source))
    return tracker


def test_promote_rollback_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPLAT_USER", "alice")
    tracker = _registry(tmp_path)
    aliases.promote(tracker, NAME, "1", "first", action="gate")
    aliases.promote(tracker, NAME, "2", "better")
    aliases.promote(tracker, NAME, "3", "best")
    assert aliases.current(tracker, NAME) == "3"

    back = aliases.rollback(tracker, NAME, "v3 broke checkout")
    assert (back.version, back.previous, back.action, back.by) == ("2", "3", "rollback", "alice")
    assert aliases.current(tracker, NAME) == "2"
    aliases.rollback(tracker, NAME)
    assert aliases.current(tracker, NAME) == "1"
    with pytest.raises(RegistryError, match="no previous champion"):
        aliases.rollback(tracker, NAME)

    events = aliases.history(tracker, NAME)
    assert [(e.version, e.action) for e in events] == [
        ("1", "gate"),
        ("2", "promote"),
        ("3", "promote"),
        ("2", "rollback"),
        ("1", "rollback"),
    ]
    assert events[1].previous == "1" and events[1].reason == "better" and events[1].by == "alice"
    version = tracker.client.get_model_version(NAME, "1")
    assert "mlplat.champion_since" in version.tags


def test_refusals(tmp_path: Path) -> None:
    tracker = _registry(tmp_path, versions=1)
    with pytest.raises(RegistryError, match="no version '7'"):
        aliases.promote(tracker, NAME, "7", "why not")
    with pytest.raises(RegistryError, match="needs a reason"):
        aliases.promote(tracker, NAME, "1", "  ")
    with pytest.raises(RegistryError, match="no registered model 'other-model-name'"):
        aliases.history(tracker, "other-model-name")
    assert aliases.current(tracker, NAME) is None  # nothing moved


def test_cli_promote_rollback_history(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", rows=200)
    tracker = _registry(root, versions=2)
    aliases.promote(tracker, NAME, "1", "initial release", action="gate")
    done = mlplat(
        "promote", NAME, "2", "--reason", "retrained", cwd=root, env={"MLPLAT_USER": "bob"}
    )
    assert done.returncode == 0, done.stderr
    assert "@champion -> v2 (was v1) by bob: retrained" in done.stderr
    done = mlplat("rollback", NAME, "--reason", "latency regression", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "v2 -> v1" in done.stderr

    done = mlplat("registry", "history", NAME, cwd=root)
    assert done.returncode == 0, done.stderr
    for text in (
        "initial release",
        "bob",
        "retrained",
        "latency regression",
        "rollback",
        "@champion -> v1",
    ):
        assert text in done.stdout  # the history is the command's result: stdout

    bad = mlplat("promote", "Churn_Model", "1", "--reason", "x", cwd=root)
    assert bad.returncode == 1
    assert "does not match the declared pattern" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("override", "key", "text"),
    [
        pytest.param(
            "registry.model_name=Churn_Model",
            "registry.model_name",
            "does not match the declared pattern",
            id="bad-name",
        ),
        pytest.param(
            "registry.domain=Telco",
            "registry.model_name",
            "'Telco-churn-lgbm' (from registry.name_template",
            id="bad-template-value",
        ),
        pytest.param(
            "registry.name_pattern='['",
            "registry.name_pattern",
            "not a regular expression",
            id="bad-pattern",
        ),
        pytest.param(
            "model.task=regression model.params.objective=regression",
            "gates.floors.auc",
            "'auc' is not a regression metric",
            id="gate-metric-of-another-task",
        ),
    ],
)
def test_declarations_refused_before_any_work(
    project: Path, override: str, key: str, text: str
) -> None:
    from mlplat.core.errors import ConfigError
    from mlplat.pipeline.compose import compose

    with pytest.raises(ConfigError) as err:
        compose(project, ["+experiment=churn_baseline", *override.split()])
    assert err.value.key == key and text in str(err.value)


def test_run_refuses_a_bad_name_with_exit_2(project: Path) -> None:
    done = mlplat(
        "run", "+experiment=churn_baseline", "registry.model_name=ChurnModel", cwd=project
    )
    assert done.returncode == 2
    assert "registered model name 'ChurnModel'" in done.stderr and "Traceback" not in done.stderr
    assert not (project / "mlflow.db").exists() and not (project / "artifacts").exists()
