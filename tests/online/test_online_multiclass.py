"""Online decisions for a multiclass model: per-row log loss, Brier score or 0/1 loss of the
class probabilities against the class the outcome names, through the same sequential test."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from mlplat.online.decision import class_losses
from tests.conftest import mlplat
from tests.serving_support import client, request, running_server, task_project

TOKEN = "iris-secret"
CLASSES = ["setosa", "versicolor", "virginica"]


def test_class_losses_use_the_logged_class_order() -> None:
    frame = pd.DataFrame(
        {
            "prediction": [[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.5, 0.0]],
            "classes": [CLASSES, CLASSES, None, CLASSES],
            "label": ["setosa", "virginica", 2.0, "daisy"],  # no classes logged: by index
        }
    )
    log_loss = class_losses("log_loss", frame)
    assert log_loss[:3] == pytest.approx([-math.log(0.7), -math.log(0.1), -math.log(0.6)])
    assert math.isnan(log_loss[3])  # a class the model does not know gives no loss
    assert list(class_losses("zero_one_loss", frame)[:3]) == [0.0, 1.0, 0.0]
    brier = class_losses("brier", frame)
    assert brier[0] == pytest.approx(0.3**2 + 0.2**2 + 0.1**2)


@pytest.mark.slow
def test_a_multiclass_experiment_is_served_labelled_and_decided(tmp_path: Path) -> None:
    root = task_project(tmp_path / "iris", "multiclass")  # version 1
    weak = ("model.num_boost_round=2", "gates.fail_exit=false")
    done = mlplat("run", "+experiment=baseline", *weak, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr  # version 2: a far weaker model
    registry = client(root)
    name = registry.search_registered_models()[0].name
    registry.set_registered_model_alias(name, "champion", "1")
    registry.set_registered_model_alias(name, "challenger", "2")
    rows = pd.read_csv(tmp_path / "iris" / "multiclass.csv")
    inputs = rows.drop(columns=["species"])
    split = ("--model", f"models:/{name}@champion", "--mode", "split", "--split", "0.5")
    headers = {"Content-Type": "application/json"}
    with running_server(root, *split, env={"MLPLAT_ADMIN_TOKEN": TOKEN}) as (_, port):
        for i, row in enumerate(inputs.itertuples(index=False)):
            body = json.dumps({"dataframe_split": {"columns": list(inputs), "data": [list(row)]}})
            keyed = {**headers, "x-request-id": f"iris-{i}", "x-user-id": f"user-{i}"}
            status, _, raw = request(port, "POST", "/invocations", body, keyed)
            assert status == 200, raw
            assert json.loads(raw)["classes"] == CLASSES
        # two outcomes name a class the model does not know: counted, never silently dropped
        named = ["daisy", "Setosa", *rows["species"][2:]]
        outcomes = [{"request_id": f"iris-{i}", "label": y} for i, y in enumerate(named)]
        auth = {**headers, "Authorization": f"Bearer {TOKEN}"}
        posted = request(port, "POST", "/feedback", json.dumps({"outcomes": outcomes}), auth)
        assert posted[0] == 200, posted[2]
    joined = mlplat("feedback", "--json", cwd=root)
    assert joined.returncode == 0, joined.stderr
    reported = json.loads(joined.stdout)
    assert reported["joined"] == len(rows)  # as sent, to be found and corrected
    assert "give no loss" in reported["warnings"][0] and "'daisy'" in reported["warnings"][0]
    few = "online.decision.min_samples=20"
    status = mlplat("online", "status", "--json", few, cwd=root)
    assert status.returncode == 0, status.stderr
    found = json.loads(status.stdout)
    assert found["metric"] == "log_loss"
    assert found["label_free"] == {}  # the label-free estimate is for binary models only
    overall = found["overall"]
    assert overall["n_champion"] + overall["n_challenger"] == len(rows) - 2
    assert overall["effect"] > 0  # two boosting rounds lose to the full model
    arms = {a["arm"]: a for a in found["arms"]}  # offline (holdout) beside online, per arm
    assert arms["challenger"]["offline_loss"] > arms["champion"]["offline_loss"] > 0
    assert arms["challenger"]["mean_loss"] > arms["champion"]["mean_loss"]
    assert sum(a["unusable_labels"] for a in arms.values()) == 2
    assert sorted(e for a in arms.values() for e in a["unusable_examples"]) == ["Setosa", "daisy"]
    table = mlplat("online", "status", few, cwd=root, env={"COLUMNS": "80"})
    shown = " ".join((table.stdout + table.stderr).split())
    assert "unusable labels" in shown and "'daisy'" in shown and "'Setosa'" in shown
    rails = {g["name"]: g for g in found["guardrails"]}
    assert rails["prediction_shift"]["value"] is not None  # per class, not a number per row
    # the weak model's class probabilities shift far: judged by the test, not the guardrail
    unguarded = "online.decision.guardrails.max_prediction_shift=null"
    decided = mlplat("online", "decide", "--json", few, unguarded, cwd=root)
    verdict = json.loads(decided.stdout)
    assert decided.returncode == 1 and verdict["verdict"] == "keep", verdict
    assert "the challenger is worse" in verdict["reason"]
    assert str(registry.get_model_version_by_alias(name, "champion").version) == "1"
    zero_one = mlplat(
        "online", "status", "--json", few, "online.decision.metric=zero_one_loss", cwd=root
    )
    assert json.loads(zero_one.stdout)["metric"] == "zero_one_loss"


def test_offline_figures_are_the_same_loss_as_the_online_one() -> None:
    from mlplat.online.offline import OFFLINE

    holdout = {"log_loss": 0.3, "accuracy": 0.9, "rmse": 2.0, "mae": 1.5}
    found = {metric: OFFLINE[metric](holdout) for metric in OFFLINE}
    assert found == {
        "log_loss": 0.3,
        "brier": None,  # not measured: left out, never guessed
        "zero_one_loss": pytest.approx(0.1),
        "squared_error": 4.0,
        "absolute_error": 1.5,
    }
