"""Every budget and policy, end to end through `mlplat run`, with tiny limits on example data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlplat.core.errors import BudgetExceededError, ConfigError
from mlplat.core.io import read_json
from tests.conftest import mlplat, tracking_uri

FAST = ["+experiment=churn_baseline", "segments=none", "model.num_boost_round=40"]
TRAIN_INFO = Path("artifacts/churn_baseline/train/train_info.json")
COST = Path("artifacts/churn_baseline/cost.json")


def run_here(project: Path, *overrides: str) -> None:
    """`mlplat run` in this process (the CLI's own code below typer): no interpreter start-up."""
    from rich.console import Console

    from mlplat.cli.jobs import run_command

    run_command(project, [*FAST, *overrides], Console(stderr=True, quiet=True))


def runs(root: Path) -> list[Any]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri(root))
    experiment = client.get_experiment_by_name("churn_baseline")
    return client.search_runs([experiment.experiment_id]) if experiment else []


def registered(root: Path) -> list[Any]:
    from mlflow import MlflowClient

    return list(MlflowClient(tracking_uri(root)).search_registered_models())


@pytest.mark.slow
def test_stop_early_on_training_time_keeps_a_model_and_says_so(project: Path) -> None:
    """Training stops after the first round; money over budget only warns; both are recorded."""
    done = mlplat(
        "run",
        *FAST,
        "budget.max_train_seconds.limit=0",
        "budget.max_train_seconds.policy=stop_early",
        "budget.max_money.limit=0",
        "budget.max_money.policy=warn",
        "gates.fail_exit=false",  # one tree loses to the linear baseline: a failed gate
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    info = read_json(project / TRAIN_INFO)
    assert info["num_trees"] == 1 and info["budget"]["exceeded"] == "max_train_seconds"
    [run] = runs(project)
    assert run.info.status == "FINISHED"
    assert run.data.tags["budget.exceeded"] == "max_money,max_train_seconds"
    assert (
        run.data.metrics["cost.total.money"] > 0
        and "cost.train.cpu_user_seconds" in run.data.metrics
    )
    assert "max_money exceeded in stage 'validate'" in " ".join(done.stderr.split())
    assert registered(project), "a warn or stop_early budget still registers the model"
    assert read_json(project / COST)["budget_exceeded"] == {
        "max_money": "warn",
        "max_train_seconds": "stop_early",
    }
    assert "cost" in done.stdout and "total" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "stage", "budget"),
    [
        pytest.param(
            ["budget.max_peak_memory_mb.limit=1"], "validate", "max_peak_memory_mb", id="memory"
        ),
        pytest.param(
            ["budget.max_wall_seconds.limit=0.001"], "validate", "max_wall_seconds", id="wall"
        ),
        pytest.param(
            ["budget.max_money.limit=0", "budget.max_money.policy=fail"],
            "validate",
            "max_money",
            id="money",
        ),
        pytest.param(
            ["budget.max_train_seconds.limit=0", "budget.max_train_seconds.policy=fail"],
            "train",
            "max_train_seconds",
            id="train-time",
        ),
    ],
)
def test_fail_policy_stops_the_run_failed_and_registers_nothing(
    project: Path, overrides: list[str], stage: str, budget: str
) -> None:
    with pytest.raises(BudgetExceededError) as err:
        run_here(project, *overrides)
    assert f"budget {budget} exceeded in stage '{stage}'" in str(err.value)
    assert err.value.key == f"budget.{budget}.limit"
    [run] = runs(project)
    assert run.info.status == "FAILED"
    assert run.data.tags["budget.exceeded"] == budget
    assert f"cost.{stage}.peak_rss_mb" in run.data.metrics, "what ran before the breach is costed"
    assert registered(project) == []


@pytest.mark.slow
def test_warn_policies_record_every_breach_and_finish(project: Path) -> None:
    run_here(
        project,
        "budget.max_peak_memory_mb.limit=1",
        "budget.max_peak_memory_mb.policy=warn",
        "budget.max_wall_seconds.limit=0.001",
        "budget.max_wall_seconds.policy=warn",
        "budget.max_train_seconds.limit=0",
        "budget.max_train_seconds.policy=warn",
        "registry.register=false",
    )
    [run] = runs(project)
    assert run.info.status == "FINISHED"
    assert (
        run.data.tags["budget.exceeded"] == "max_peak_memory_mb,max_train_seconds,max_wall_seconds"
    )
    assert read_json(project / TRAIN_INFO)["num_trees"] > 1, "warn does not stop training"


def test_stop_early_where_nothing_can_stop_early_is_a_config_error(project: Path) -> None:
    with pytest.raises(ConfigError) as err:
        run_here(project, "budget.max_peak_memory_mb.policy=stop_early")
    assert err.value.key == "budget.max_peak_memory_mb.policy"
    assert runs(project) == []
