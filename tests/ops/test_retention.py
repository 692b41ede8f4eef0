"""`mlplat gc` on a real sqlite MLflow store (and a real DVC cache): the plan says what each rule
keeps, --apply frees exactly the bytes the plan said and never an aliased or leased version, and
a SIGKILL between two deletions followed by a rerun ends where an uninterrupted apply ends."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from mlplat.ops.retention import champion_until
from mlplat.serving.lease import lease_dir, read_leases
from tests import dvc_support
from tests.conftest import make_project, tracking_uri
from tests.retention_support import (
    MODEL,
    ORPHAN,
    POLICY,
    build,
    by_name,
    file_bytes,
    gc,
    lease,
)
from tests.run_support import start

GRACE_0 = [*POLICY, "retention.grace_days=0"]


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = make_project(tmp_path / "proj", rows=200)
    return root, build(root)


def test_plan_names_the_rule_behind_every_decision(store: tuple[Path, dict[str, str]]) -> None:
    root, ids = store
    lease(root, "2")
    result = gc(root, *POLICY)
    runs = by_name(result, ids, "run")
    assert runs == {
        "fresh": ("keep", "younger than 7 d"),
        "best": ("keep", "best 1 by auc"),
        "old": ("delete", "run no rule keeps, 90 d old or more"),
        "failed-old": ("delete", "failed run, 9 d old or more"),
        "failed-new": ("keep", "younger than 7 d"),
        "failed-recent": ("keep", "killed run, not 9 d old yet"),
        "sweep": ("keep", "sweep of a kept trial"),
        "trial-best": ("keep", f"best trial of sweep {ids['sweep']}"),
        "trial-other": ("delete", "sweep trial (not the best), 30 d old or more"),
        "listed": ("keep", "named in retention.keep_runs"),
        "champion": ("keep", f"registered as {MODEL}/1"),
        "leased": ("keep", f"registered as {MODEL}/2"),
        "unkept-version": ("delete", "run no rule keeps, 90 d old or more"),
        "newest": ("keep", f"registered as {MODEL}/4"),
    }
    assert by_name(result, ids, "version") == {
        f"{MODEL}/1": ("keep", "alias @champion"),
        f"{MODEL}/2": ("keep", "a live server follows it (lease)"),
        f"{MODEL}/3": ("delete", "no keep rule holds"),
        f"{MODEL}/4": ("keep", "newest 1 versions"),
    }
    models = sorted(i["action"] for i in result["items"] if i["kind"] == "logged_model")
    assert models == ["delete", "delete", "keep", "keep", "keep"]
    [orphan] = [i for i in result["items"] if i["kind"] == "orphan"]
    assert orphan["id"].endswith(ORPHAN) and orphan["bytes"] == 500
    # a grace period: only the orphan is purged now; the deleted runs' bytes wait
    going = sum(i["bytes"] for i in result["items"] if i["action"] == "delete")
    groups = {g["kind"]: g for g in result["groups"]}
    assert (
        result["frees_now"] == 500
        and groups["run"]["frees_later"] + groups["logged_model"]["frees_later"] == going
    )
    assert result["cost_per_month"] == pytest.approx(result["bytes"] / 1e9 * 0.023)
    assert result["applied"] is None
    assert len(runs) == 14  # planning deleted nothing


def test_apply_frees_what_the_plan_said_and_keeps_aliases(
    store: tuple[Path, dict[str, str]],
) -> None:
    from mlflow import MlflowClient

    root, _ = store
    lease(root, "2")
    before = file_bytes(root / "mlruns")
    planned = gc(root, *GRACE_0)
    applied = gc(root, "--apply", *GRACE_0)
    assert applied["frees_now"] == planned["frees_now"] > 0
    assert before - file_bytes(root / "mlruns") == planned["frees_now"]
    client = MlflowClient(tracking_uri(root))
    kept = {str(v.version) for v in client.search_model_versions()}
    assert kept == {"1", "2", "4"}
    champion = client.get_model_version_by_alias(MODEL, "champion")
    model = client.get_logged_model(champion.source.removeprefix("models:/"))
    assert (Path(model.artifact_location.removeprefix("file://")) / "model.bin").is_file()
    again = gc(root, *GRACE_0)
    assert again["frees_now"] == 0, [i for i in again["items"] if i["action"] != "keep"]
    storage = client.get_experiment_by_name("mlplat-storage")
    [last, *_] = client.search_runs([storage.experiment_id], order_by=["start_time DESC"])
    assert last.data.metrics["storage.bytes.total"] == again["bytes"]
    assert last.data.metrics["storage.usd_month"] == pytest.approx(again["cost_per_month"])


def test_a_stale_lease_keeps_nothing(store: tuple[Path, dict[str, str]]) -> None:
    root, ids = store
    lease(root, "2", age=3600)
    result = gc(root, *POLICY, "retention.lease_ttl_seconds=60")
    assert by_name(result, ids, "version")[f"{MODEL}/2"] == ("delete", "no keep rule holds")
    [found] = read_leases(lease_dir(root))
    assert not found.live(time.time(), 60)


def _end_state(root: Path) -> dict[str, Any]:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri(root))
    experiment = client.get_experiment_by_name("churn_baseline").experiment_id
    runs = client.search_runs([experiment], run_view_type=ViewType.ALL)
    return {
        "runs": sorted((r.info.run_name, r.info.lifecycle_stage) for r in runs),
        "versions": sorted(str(v.version) for v in client.search_model_versions()),
        "models": sorted(m.name for m in client.search_logged_models([experiment])),
        "bytes": file_bytes(root / "mlruns" / "1"),
        "dirs": len(list((root / "mlruns" / "1").iterdir())),
    }


@pytest.mark.slow
def test_sigkill_between_deletions_then_rerun_converges(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    twin = make_project(tmp_path / "twin", rows=200)
    build(twin)
    gc(twin, "--apply", *GRACE_0)
    root = make_project(tmp_path / "proj", rows=200)
    build(root)
    client = MlflowClient(tracking_uri(root))
    process = start("gc", "--apply", *GRACE_0, cwd=root, env={"MLPLAT_GC_STEP_DELAY": "0.5"})
    deadline = time.monotonic() + 120
    while len(client.search_model_versions()) == 4:  # wait for the first deletion
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.6)  # one more step in
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    middle = _end_state(root)
    gc(root, "--apply", *GRACE_0)
    assert middle != _end_state(root)  # the kill left work undone, the rerun did it
    assert _end_state(root) == _end_state(twin)


def test_champion_until_follows_the_moves() -> None:
    moves = [(10.0, "1"), (20.0, "2"), (30.0, "1")]
    assert champion_until(moves, now=99.0) == {"1": 99.0, "2": 30.0}
    assert champion_until([], now=99.0) == {}


def _dvc_project(root: Path) -> None:
    dvc_support.sh("git", "init", "-q", "-b", "main", cwd=root)
    dvc_support.dvc("init", "-q", cwd=root)
    (root / "data" / "extra.csv").write_text("a\n" + "1\n" * 5000)
    dvc_support.dvc("add", "-q", "data/extra.csv", cwd=root)
    dvc_support.commit(root, "first")


def test_dvc_cache_keeps_the_workspace_and_kept_commits(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", rows=200)
    _dvc_project(root)
    first = dvc_support.sh("git", "rev-parse", "HEAD", cwd=root).stdout.strip()
    (root / "data" / "extra.csv").write_text("a\n" + "2\n" * 7000)
    dvc_support.dvc("add", "-q", "data/extra.csv", cwd=root)
    dvc_support.commit(root, "second")
    cache = root / ".dvc" / "cache"
    plan = gc(root)
    objects = {i["id"]: i for i in plan["items"] if i["kind"] == "dvc_cache"}
    assert sorted((i["action"], i["bytes"]) for i in objects.values()) == [
        ("keep", 14002),
        ("purge", 10002),
    ]
    # a kept run that ran at the first commit keeps that commit's outputs
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri(root))
    experiment = client.create_experiment("x", artifact_location=(root / "mlruns").as_uri())
    run = client.create_run(experiment, tags={"mlplat.git_sha": first})
    client.set_terminated(run.info.run_id)
    kept = gc(root)
    assert {i["action"] for i in kept["items"] if i["kind"] == "dvc_cache"} == {"keep"}
    client.delete_run(run.info.run_id)
    before = file_bytes(cache)
    applied = gc(root, "--apply", "retention.grace_days=0")
    assert applied["applied"]["cache_objects"] == 1
    assert before - file_bytes(cache) == 10002
    status = dvc_support.dvc("status", "-q", cwd=root, check=False)
    assert status.returncode == 0, status.stdout
