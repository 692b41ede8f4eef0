"""A tracking store with every case the retention policy decides on, built fast through MLflow's
own client (no training): old and young runs, failed runs, a sweep, registered versions with
aliases, logged models with artifacts of known sizes, and an orphaned artifact directory."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplat.serving.lease import LeaseWriter, lease_dir
from tests.conftest import mlplat, tracking_uri

DAY_MS = 86_400_000
MODEL = "telco-churn-lgbm"
ORPHAN = "0123456789abcdef0123456789abcdef"
# The policy the cases are written for (combined with OR, as in conf/retention).
POLICY = [
    "retention.runs_younger_than_days=7",
    "retention.best_runs_per_experiment=1",
    "retention.last_versions=1",
    "retention.champion_within_days=0",
    "retention.keep_runs=[listed]",
    "retention.failed_after_days=9",
    "retention.trials_after_days=30",
    "retention.others_after_days=90",
]


@dataclass(frozen=True)
class Case:
    name: str
    days_old: float
    auc: float | None = None
    status: str = "FINISHED"
    parent: str | None = None
    version: str | None = None  # registered from this run's logged model


CASES = (
    Case("fresh", 1, 0.70),
    Case("best", 100, 0.90),
    Case("old", 100, 0.60),
    Case("failed-old", 10, status="FAILED"),
    Case("failed-new", 3, status="FAILED"),
    Case("failed-recent", 8, status="KILLED"),
    Case("sweep", 100),
    Case("trial-best", 40, 0.65, parent="sweep"),
    Case("trial-other", 40, 0.64, parent="sweep"),
    Case("listed", 200, 0.50),
    Case("champion", 200, 0.55, version="1"),
    Case("leased", 200, 0.56, version="2"),
    Case("unkept-version", 200, 0.57, version="3"),
    Case("newest", 200, 0.58, version="4"),
)


def _file(directory: Path, name: str, size: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(os.urandom(size))
    return path


def build(root: Path) -> dict[str, str]:
    """The store in `root` (mlflow.db, artifacts under mlruns/); returns run name -> run id."""
    import mlflow

    from mlplat.tracking.runs import seed_sqlite_store

    seed_sqlite_store(tracking_uri(root))  # a copy of an empty store, not MLflow's migrations
    mlflow.set_tracking_uri(tracking_uri(root))  # registering from a logged model reads it
    ids = fill(mlflow.MlflowClient(tracking_uri(root)), (root / "mlruns" / "1").as_uri(), root)
    _file(root / "mlruns" / "1" / ORPHAN / "artifacts", "left.bin", 500)
    return ids


def fill(client: Any, artifact_location: str, root: Path) -> dict[str, str]:
    """Every case in experiment churn_baseline at `artifact_location` of `client`'s store (files
    written under `root` first); returns run name -> run id."""
    from mlplat.tracking import aliases
    from mlplat.tracking.tracker import Tracker

    experiment = client.create_experiment("churn_baseline", artifact_location=artifact_location)
    now = int(time.time() * 1000)
    ids: dict[str, str] = {}
    scratch = root / ".scratch"
    for i, case in enumerate(CASES):
        tags = {"mlflow.parentRunId": ids[case.parent]} if case.parent else {}
        run = client.create_run(
            experiment, start_time=now - int(case.days_old * DAY_MS), tags=tags, run_name=case.name
        )
        run_id = ids[case.name] = run.info.run_id
        client.log_artifact(run_id, str(_file(scratch / case.name, "report.bin", 1000 + i)))
        if case.auc is not None:
            client.log_metric(run_id, "auc", case.auc)
        if case.name in ("old", *(c.name for c in CASES if c.version)):
            _logged_model(client, experiment, run_id, case, scratch)
        client.set_terminated(run_id, case.status)
    client.set_tag(ids["sweep"], "mlplat.best_run_id", ids["trial-best"])
    aliases.move(Tracker(client.tracking_uri), MODEL, "champion", "1", "gate", "test")
    return ids


def _logged_model(client: Any, experiment: str, run_id: str, case: Case, scratch: Path) -> None:
    model = client.create_logged_model(experiment, source_run_id=run_id, name=case.name)
    files = _file(scratch / f"m-{case.name}", "model.bin", 2000).parent
    client.log_model_artifacts(model.model_id, str(files))
    client.finalize_logged_model(model.model_id, "READY")
    if case.version:
        if case.version == "1":
            client.create_registered_model(MODEL)
        client.create_model_version(
            MODEL, f"models:/{model.model_id}", run_id=run_id, model_id=model.model_id
        )


def file_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def gc(root: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = mlplat("gc", "--json", *args, cwd=root, env=env)
    assert done.returncode == 0 and done.stdout.startswith("{"), done.stdout + done.stderr
    return dict(json.loads(done.stdout))


def by_name(result: dict[str, Any], ids: dict[str, str], kind: str) -> dict[str, tuple[str, str]]:
    names = {v: k for k, v in ids.items()}
    return {
        names.get(i["id"], i["id"]): (i["action"], i["rule"])
        for i in result["items"]
        if i["kind"] == kind
    }


def lease(root: Path, version: str, age: float = 0.0) -> None:
    writer = LeaseWriter(lease_dir(root), f"models:/{MODEL}@champion", MODEL)
    writer.beat(version)
    if age:
        data = json.loads(writer.path.read_text())
        writer.path.write_text(json.dumps({**data, "heartbeat": data["heartbeat"] - age}))
