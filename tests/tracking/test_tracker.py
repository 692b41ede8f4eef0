"""The Tracker: one store, named once, passed explicitly (real sqlite MLflow store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplat.core.model_ref import ModelRef
from mlplat.tracking.tracker import Tracker


def test_of_prefers_the_declared_store_then_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert Tracker.of(tmp_path).uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert Tracker.of(tmp_path).uri == "http://127.0.0.1:9"
    assert Tracker.of(tmp_path, "sqlite:///x.db").uri == "sqlite:///x.db"


def test_side_run_ends_finished_or_failed_and_missing_versions_are_none(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with tracker.side_run("mlplat-test", "ok", {"k": "v"}) as run_id:
        tracker.client.log_metric(run_id, "m", 1.0)
    with pytest.raises(RuntimeError), tracker.side_run("mlplat-test", "bad") as failed_id:
        raise RuntimeError("boom")
    assert tracker.client.get_run(run_id).info.status == "FINISHED"
    assert tracker.client.get_run(run_id).data.tags["k"] == "v"
    assert tracker.client.get_run(failed_id).info.status == "FAILED"
    assert tracker.experiment_id("mlplat-test") == tracker.experiment_id("mlplat-test")
    assert tracker.version(ModelRef.parse("models:/nobody@champion")) is None
    tracker.client.create_registered_model("m")
    assert tracker.version(ModelRef.parse("models:/m@champion")) is None
    assert tracker.version(ModelRef.parse("models:/m/3")) is None
