"""`POST /feedback` on a real server: authenticated, checked whole, stored, joined."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mlplat.serving.reqlog import record_line
from tests.conftest import mlplat
from tests.serving_support import (
    MODEL,
    request,
    running_server,
    sample_split,
    two_versions,
)

pytestmark = pytest.mark.slow
TOKEN = "feedback-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
SPLIT = ("--model", f"models:/{MODEL}@champion", "--mode", "split", "--split", "0.5")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_versions(tmp_path_factory.mktemp("feedback") / "proj")


def score(port: int, root: Path, rid: str, rows: int = 1) -> None:
    body = json.dumps({"dataframe_split": sample_split(root, rows)})
    headers = {"Content-Type": "application/json", "x-request-id": rid, "x-user-id": rid}
    assert request(port, "POST", "/invocations", body, headers)[0] == 200


def send(port: int, outcomes: Any, headers: dict[str, str] = AUTH) -> tuple[int, dict[str, Any]]:
    body = outcomes if isinstance(outcomes, bytes) else json.dumps({"outcomes": outcomes})
    status, _, raw = request(port, "POST", "/feedback", body, headers)
    return status, json.loads(raw)


def stored(root: Path, experiment: str) -> list[Path]:
    return sorted((root / "online" / experiment / "outcomes").glob("outcomes-*.jsonl"))


def test_feedback_needs_the_admin_token(root: Path) -> None:
    good = [{"request_id": "r", "label": 1}]
    with running_server(root, *SPLIT, "online.experiment=noauth") as (_, port):
        assert send(port, good, {})[0] == 403  # no token set: the endpoint is off
    with running_server(root, *SPLIT, env={"MLPLAT_ADMIN_TOKEN": TOKEN}) as (_, port):
        assert send(port, good, {})[0] == 401
        assert send(port, good, {"Authorization": "Bearer wrong"})[0] == 401
    off = ("--model", f"models:/{MODEL}@champion")
    with running_server(root, *off, env={"MLPLAT_ADMIN_TOKEN": TOKEN}) as (_, port):
        assert send(port, good)[0] == 409  # mode off: no experiment to take outcomes for


def test_outcomes_are_checked_stored_and_joined_across_two_workers(root: Path) -> None:
    env = {"MLPLAT_ADMIN_TOKEN": TOKEN}
    args = (*SPLIT, "--workers", "2", "online.experiment=posted")
    ids = [f"req-{i}" for i in range(20)]
    with running_server(root, *args, env=env) as (_, port):
        for rid in ids:
            score(port, root, rid)
        score(port, root, "batch", rows=3)
        time.sleep(0.5)  # the other worker's log reaches the disk (flushed every 50 ms)
        # whichever worker answers, each id is known: its own map, or the other's log on disk
        for i, rid in enumerate(ids):
            assert send(port, [{"request_id": rid, "label": i % 2}])[0] == 200
        status, found = send(
            port, [{"request_id": "batch/0", "label": 1}, {"request_id": "batch/2", "label": 0}]
        )
        assert status == 200 and found["stored"] == 2
        before = stored(root, "posted")
        for bad, code, field in (
            ([{"request_id": "nobody", "label": 1}], 404, "outcomes[0].request_id"),
            (
                [{"request_id": "req-1", "label": 1}, {"request_id": "batch/3", "label": 1}],
                404,
                "outcomes[1].request_id",
            ),
            ([{"request_id": "req-1", "label": [1]}], 422, "outcomes[0].label"),
            (b'{"outcomes": "yes"}', 422, "outcomes"),
            (b"not json", 400, None),
        ):
            status, found = send(port, bad)
            assert status == code, found
            assert (found["errors"][0]["column"] if field else None) == field
        assert stored(root, "posted") == before  # a refused body stores nothing
        doc = json.loads(request(port, "GET", "/openapi.json")[2])
        schema = {**doc["components"]["schemas"]["Outcomes"], "components": doc["components"]}
        jsonschema.validate({"outcomes": [{"request_id": "req-1", "label": 1}]}, schema)
        assert "post" in doc["paths"]["/feedback"]
        metrics = request(port, "GET", "/metrics")[2].decode()
        assert "mlplat_online_outcomes_total" in metrics
    assert len(stored(root, "posted")) == len(ids) + 1
    done = mlplat("feedback", "--json", "online.experiment=posted", cwd=root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["posted"] == len(ids) + 2 and report["new"] == len(ids) + 2
    assert report["unknown"] == 0 and report["joined"] == len(ids) + 2
    assert stored(root, "posted") == []  # joined files move to outcomes/joined/, kept
    assert len(list((root / "online/posted/outcomes/joined").iterdir())) == len(ids) + 1
    again = mlplat("feedback", "online.experiment=posted", cwd=root)
    assert again.returncode == 2 and "no labels" in again.stderr


def test_an_id_served_by_a_worker_before_a_restart_is_found_on_disk(root: Path) -> None:
    log = root / "online" / "restarted" / "requests"
    log.mkdir(parents=True)
    extra = {"arm": "champion", "experiment": "restarted", "mode": "split", "status": 200}
    line = record_line("earlier", MODEL, "1", 1.0, {"plan": ["basic"]}, [0.3], extra)
    (log / "requests-20260101T000000-1-0001.jsonl").write_bytes(line)
    args = (*SPLIT, "online.experiment=restarted")
    with running_server(root, *args, env={"MLPLAT_ADMIN_TOKEN": TOKEN}) as (_, port):
        assert send(port, [{"request_id": "earlier", "label": 0}])[0] == 200
        assert send(port, [{"request_id": "never", "label": 0}])[0] == 404
