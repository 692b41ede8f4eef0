"""A fresh sqlite store starts as a copy of MLflow's empty store, built once per MLflow version."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from mlplat.core.io import copy_if_absent
from mlplat.tracking import runs as tracking


def _experiments(uri: str) -> list[tuple[str, str, str]]:
    client = mlflow.MlflowClient(uri)
    client.create_experiment("churn")
    run = client.create_run(client.get_experiment_by_name("churn").experiment_id)
    client.log_metric(run.info.run_id, "auc", 0.9)
    client.set_terminated(run.info.run_id)
    found = client.search_experiments(order_by=["experiment_id"])
    return [(e.experiment_id, e.name, e.artifact_location) for e in found]


def test_a_fresh_store_is_copied_and_behaves_as_one_mlflow_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPLAT_CACHE_DIR", str(tmp_path / "cache"))
    empty = tmp_path / "cache" / "mlplat" / "mlflow" / f"empty-store-{mlflow.__version__}.db"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the empty store is built in another directory
    tracking.seed_sqlite_store("sqlite:///../first.db")  # relative, as SQLAlchemy reads it
    assert empty.is_file() and (tmp_path / "first.db").is_file()
    monkeypatch.chdir(tmp_path)
    built = empty.stat().st_mtime_ns
    tracking.seed_sqlite_store(f"sqlite:///{tmp_path / 'sub' / 'second.db'}")
    assert not (tmp_path / "sub").exists()  # as with MLflow, the directory must exist
    (tmp_path / "sub").mkdir()
    tracking.seed_sqlite_store(f"sqlite:///{tmp_path / 'sub' / 'second.db'}")
    assert empty.stat().st_mtime_ns == built  # built once, then only copied

    by_mlflow = _experiments(f"sqlite:///{tmp_path / 'own.db'}")
    assert by_mlflow[0][1] == "Default"
    assert _experiments("sqlite:///first.db") == by_mlflow  # Default's location: here
    assert _experiments(f"sqlite:///{tmp_path / 'sub' / 'second.db'}") == by_mlflow
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_existing_store_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPLAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _experiments(uri)
    before = (tmp_path / "mlflow.db").read_bytes()
    tracking.seed_sqlite_store(uri)
    assert (tmp_path / "mlflow.db").read_bytes() == before
    assert [e.name for e in mlflow.MlflowClient(uri).search_experiments()] == ["churn", "Default"]

    other = tmp_path / "other.txt"
    other.write_text("mine")
    assert copy_if_absent(tmp_path / "mlflow.db", other) is False
    assert other.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_unusable_cache_builds_the_store_beside_it_then_moves_it_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cache").write_text("a file where the cache directory should be")
    monkeypatch.setenv("MLPLAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking.seed_sqlite_store(uri)
    assert (tmp_path / "mlflow.db").is_file()
    assert [e[1] for e in _experiments(uri)] == ["Default", "churn"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:///mlflow.db", "mlflow.db"),
        ("sqlite:////abs/dir/mlflow.db", "/abs/dir/mlflow.db"),
        ("sqlite:///mlflow.db?timeout=20", "mlflow.db"),
        ("sqlite:///:memory:", None),
        ("sqlite://", None),
        ("postgresql://user@127.0.0.1:5432/mlflow", None),
        ("http://127.0.0.1:5000", None),
        ("file:///tmp/mlruns", None),
    ],
)
def test_only_sqlite_files_are_seeded(uri: str, path: str | None) -> None:
    found = tracking._sqlite_path(uri)
    assert (str(found) if found else None) == path
