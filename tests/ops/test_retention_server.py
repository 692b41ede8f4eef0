"""`mlplat gc` against a real `mlflow server` on 127.0.0.1 whose artifacts live in S3-compatible
storage (moto): the experiment's own s3:// location, written by the client, and the server's
proxied `mlflow-artifacts:` destination, also in the bucket. Over HTTP there is no hard delete: a
purge removes the artifacts (the bytes, measured in the bucket) and leaves the deleted rows.

The server is started here (sqlite behind it), not the one `.ci/services.sh` shares: `mlplat gc`
plans over the whole tracking store, and on a shared server it would delete other tests' runs.
The S3 server is CI's (MLPLAT_TEST_S3_ENDPOINT) when there is one.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_project
from tests.mlflow_server_support import mlflow_server
from tests.retention_support import CASES, MODEL, ORPHAN, POLICY, by_name, fill, gc, lease
from tests.run_support import start
from tests.s3_support import FAKE_KEYS, bucket, s3_endpoint

__all__ = ["bucket", "s3_endpoint"]  # fixtures, used by name

GRACE_S = 2.0  # long enough that the first apply only soft-deletes, short enough to wait out
GOING = {"old", "failed-old", "trial-other", "unkept-version", "stray"}


def sizes(s3: Any, name: str) -> dict[str, int]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=name)
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


@pytest.fixture
def served(
    s3_endpoint: str, bucket: tuple[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str, Any]]:
    name, s3 = bucket
    env = {**FAKE_KEYS, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint}
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_endpoint)  # the client writes s3:// itself
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # its job consumers: nothing uses them
    with mlflow_server(tmp_path / "server", f"s3://{name}/proxied", env) as url:
        yield url, name, s3


def _store(
    served: tuple[str, str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Any, dict[str, str]]:
    """Every retention case on the server (artifacts in s3://BUCKET/direct), a run in the
    default experiment (proxied to s3://BUCKET/proxied), an orphan, a lease on version 2."""
    import mlflow

    url, name, s3 = served
    root = make_project(tmp_path / "proj", rows=200)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)  # registering from a logged model reads it
    mlflow.set_tracking_uri(url)
    client = mlflow.MlflowClient(url)
    ids = fill(client, f"s3://{name}/direct", root)
    # a run no rule keeps in the default experiment: its artifacts go through the server's proxy
    stray = client.create_run("0", start_time=int((time.time() - 400 * 86400) * 1000))
    ids["stray"] = stray.info.run_id
    client.log_artifact(ids["stray"], str(root / ".scratch" / "old" / "report.bin"))
    client.set_terminated(ids["stray"])
    s3.put_object(Bucket=name, Key=f"direct/{ORPHAN}/artifacts/left.bin", Body=b"x" * 500)
    lease(root, "2")
    return root, client, ids


@pytest.mark.slow
def test_gc_on_a_tracking_server_frees_exactly_the_planned_bytes_in_the_bucket(
    served: tuple[str, str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    url, name, s3 = served
    root, client, ids = _store(served, tmp_path, monkeypatch)
    policy = [f"tracking.uri={url}", *POLICY, f"retention.grace_days={GRACE_S / 86400}"]

    first = gc(root, *policy)
    runs = by_name(first, ids, "run")
    assert {n for n, (action, _) in runs.items() if action == "delete"} == GOING
    assert runs["champion"] == ("keep", f"registered as {MODEL}/1")
    assert by_name(first, ids, "version") == {
        f"{MODEL}/1": ("keep", "alias @champion"),
        f"{MODEL}/2": ("keep", "a live server follows it (lease)"),
        f"{MODEL}/3": ("delete", "no keep rule holds"),
        f"{MODEL}/4": ("keep", "newest 1 versions"),
    }
    [orphan] = [i for i in first["items"] if i["kind"] == "orphan"]
    assert (orphan["id"], orphan["bytes"]) == (f"s3://{name}/direct/{ORPHAN}", 500)
    held = sizes(s3, name)
    assert first["bytes"] == sum(held.values()), "every object in the bucket is planned for"
    assert first["frees_now"] == 500  # a grace period: only the orphan goes now

    applied = gc(root, "--apply", *policy)
    assert applied["applied"]["deleted"] == len(GOING) + 3  # runs, 2 logged models, version 3
    after = sizes(s3, name)
    assert sum(held.values()) - sum(after.values()) == 500
    going = [i for i in first["items"] if i["action"] == "delete" and i["kind"] != "version"]

    time.sleep(GRACE_S + 0.5)  # the deletions are now older than the grace period
    second = gc(root, *policy)
    purge = {i["id"] for i in second["items"] if i["action"] == "purge"}
    assert {ids[n] for n in GOING} <= purge, "deleted runs found over HTTP by their stamp"
    assert sum(1 for i in second["items"] if i["kind"] == "logged_model" and i["id"] in purge) == 2
    assert second["frees_now"] == sum(i["bytes"] for i in going) > 0
    gc(root, "--apply", *policy)
    assert sum(after.values()) - sum(sizes(s3, name).values()) == second["frees_now"]

    third = gc(root, *policy)
    assert third["frees_now"] == 0
    assert sorted(str(v.version) for v in client.search_model_versions()) == ["1", "2", "4"]
    local = mlflow.artifacts.download_artifacts(
        f"models:/{MODEL}@champion", dst_path=str(tmp_path / "champion")
    )
    assert (Path(local) / "model.bin").stat().st_size == 2000
    kept = {c.name for c in CASES} - GOING
    assert all(client.get_run(ids[n]).info.lifecycle_stage == "active" for n in kept)


@pytest.mark.slow
def test_a_sigkill_mid_apply_on_the_server_then_a_rerun_frees_what_the_plan_said(
    served: tuple[str, str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.entities import ViewType

    url, name, s3 = served
    root, client, ids = _store(served, tmp_path, monkeypatch)
    policy = [f"tracking.uri={url}", *POLICY, "retention.grace_days=0"]
    planned = gc(root, *policy)
    held = sum(sizes(s3, name).values())
    process = start("gc", "--apply", *policy, cwd=root, env={"MLPLAT_GC_STEP_DELAY": "0.5"})
    experiments = [e.experiment_id for e in client.search_experiments()]
    deadline = time.monotonic() + 120
    while not client.search_runs(experiments, run_view_type=ViewType.DELETED_ONLY):
        assert process.poll() is None, "the apply ended before its first run deletion"
        assert time.monotonic() < deadline, "no run deleted"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # soft deletions under way, nothing purged yet
    process.wait(30)
    assert held - sum(sizes(s3, name).values()) < planned["frees_now"]
    gc(root, "--apply", *policy)
    assert held - sum(sizes(s3, name).values()) == planned["frees_now"] > 0
    assert gc(root, *policy)["frees_now"] == 0
    assert sorted(str(v.version) for v in client.search_model_versions()) == ["1", "2", "4"]
    stages = {n: client.get_run(ids[n]).info.lifecycle_stage for n in ids}
    assert {n for n, stage in stages.items() if stage == "deleted"} == GOING
