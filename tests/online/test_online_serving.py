"""Two arms behind one `mlplat serve`: a sticky split, a shadow that never changes an answer."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.serving_support import (
    MODEL,
    bundle_dir,
    malformed_bundle,
    request,
    running_server,
    sample_split,
    two_versions,
)

pytestmark = pytest.mark.slow
CHAMPION, CHALLENGER = f"models:/{MODEL}@champion", f"models:/{MODEL}@challenger"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_versions(tmp_path_factory.mktemp("online") / "proj")


def body(root: Path, rows: int = 1) -> str:
    return json.dumps({"dataframe_split": sample_split(root, rows)})


def post(port: int, payload: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    status, head, raw = request(
        port,
        "POST",
        "/invocations",
        payload,
        {"Content-Type": "application/json", **(headers or {})},
    )
    return status, head, raw


def online_records(directory: Path, expected: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The online log's records once `expected` of them are written (files close at shutdown)."""
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(directory.glob("requests/*.jsonl*"))
        lines = [line for f in files for line in f.read_text().splitlines() if line.strip()]
        if len(lines) >= expected or time.monotonic() > deadline:
            return [json.loads(line) for line in lines]
        time.sleep(0.1)


def test_split_is_sticky_across_a_restart_and_logged_per_arm(root: Path) -> None:
    args = ("--model", CHAMPION, "--challenger", CHALLENGER, "--mode", "split", "--split", "0.5")
    users = [f"user-{i}" for i in range(40)]
    seen: dict[str, str] = {}
    for _ in range(2):  # a restart (or another replica) gives every key the same arm
        with running_server(root, *args) as (_, port):
            for user in users:
                status, head, raw = post(port, body(root), {"x-user-id": user})
                assert status == 200, raw
                arm = head["x-mlplat-arm"]
                assert seen.setdefault(user, arm) == arm
                assert head["x-model-version"] == {"champion": "1", "challenger": "2"}[arm]
                assert head["x-request-id"]
            status, head, _ = post(port, body(root), {"x-request-id": "client-chosen-id"})
            assert head["x-request-id"] == "client-chosen-id"
            state = json.loads(request(port, "GET", "/online")[2])
            assert state["mode"] == "split" and state["challenger_share"] == 0.5
            assert state["arms"]["challenger"]["model_version"] == "2"
            metrics = request(port, "GET", "/metrics")[2].decode()
            assert 'mlplat_online_requests_total{arm="challenger",status="200"}' in metrics
    assert set(seen.values()) == {"champion", "challenger"}
    records = online_records(root / "online" / "default", 2 * (len(users) + 1))
    assert len(records) == 2 * (len(users) + 1)
    for record in records:
        assert record["experiment"] == "default" and record["mode"] == "split"
        assert record["model_version"] == {"champion": "1", "challenger": "2"}[record["arm"]]
        assert len(record["predictions"]) == 1 and record["inputs"]
        # what the label-free estimate needs: the served positive class and threshold
        assert (record["positive_class"], record["threshold"]) == ("1", 0.5)
    by_key = {r["key"]: r["arm"] for r in records if r["key"]}
    assert by_key == seen
    assert len({r["request_id"] for r in records}) == len(users) * 2 + 1  # the client's id twice


def test_shadow_never_changes_the_answer_and_scores_the_challenger(root: Path) -> None:
    payloads = [body(root, rows) for rows in (1, 3, 10)]
    with running_server(root, "--model", CHAMPION) as (_, port):
        plain = [post(port, p)[2] for p in payloads]
    shadow = ("--model", CHAMPION, "--mode", "shadow", "--split", "1.0")
    with running_server(root, *shadow, "online.experiment=shadowed") as (_, port):
        answers = [post(port, p, {"x-user-id": "u1"}) for p in payloads]
        assert [raw for _, _, raw in answers] == plain  # byte-identical to mode off
        assert all(head["x-mlplat-arm"] == "champion" for _, head, _ in answers)
        bad = post(port, json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1]]}}))
        assert bad[0] == 422  # a client mistake: the champion says so, the challenger is spared
    records = online_records(root / "online" / "shadowed", 2 * len(payloads) + 1)
    arms = sorted((r["arm"], r["request_id"]) for r in records if r["status"] == 200)
    ids = {rid for _, rid in arms}
    assert len(ids) == len(payloads)  # each request: once per arm, under one request id
    assert sorted(a for a, _ in arms) == ["challenger"] * 3 + ["champion"] * 3
    assert [r["status"] for r in records if r["status"] != 200] == [422]


def test_a_challenger_that_cannot_load_leaves_the_champion_answering(
    root: Path, tmp_path: Path
) -> None:
    broken = malformed_bundle(bundle_dir(root), tmp_path / "broken")
    args = ("--model", CHAMPION, "--challenger", str(broken), "--mode", "split", "--split", "1")
    with running_server(root, *args, "online.experiment=broken") as (_, port):
        for user in ("a", "b", "c"):
            status, head, _ = post(port, body(root), {"x-user-id": user})
            assert status == 200 and head["x-mlplat-arm"] == "champion"
        state = json.loads(request(port, "GET", "/online")[2])
        assert state["arms"]["challenger"]["ready"] is False
        assert "refused" in state["arms"]["challenger"]["reason"]


def test_a_guardrail_breach_rolls_a_live_canary_back_and_says_why_everywhere(root: Path) -> None:
    """A real canary: the challenger's real latency breaks a strict p99 limit, `online decide`
    stops it, and the running server sends every request to the champion at its next poll,
    with the reason in /online, the alias history and an MLflow run."""
    from tests.conftest import mlplat
    from tests.serving_support import client

    declared = ("online.experiment=canaried", "online.ramp=[0.5,1.0]")
    strict = (
        "online.decision.guardrails.min_requests=5",
        "online.decision.guardrails.max_p99_latency_ms=0.001",
        "online.mode=canary",
    )
    args = ("--model", CHAMPION, "--mode", "canary", "--poll-interval", "0.2", *declared)
    users = [f"user-{i}" for i in range(60)]
    with running_server(root, *args) as (_, port):
        arms = {post(port, body(root), {"x-user-id": u})[1]["x-mlplat-arm"] for u in users}
        assert arms == {"champion", "challenger"}  # half the users on the canary
        online_records(root / "online" / "canaried", 1, timeout=2)  # the log reached the disk
        time.sleep(0.3)
        decided = mlplat("online", "decide", "--json", *declared, *strict, cwd=root)
        verdict = json.loads(decided.stdout)
        assert decided.returncode == 1 and verdict["verdict"] == "rollback", verdict
        assert "p99_latency_ms" in verdict["reason"]
        deadline = time.monotonic() + 10
        state = json.loads(request(port, "GET", "/online")[2])
        while state["challenger_share"] > 0 and time.monotonic() < deadline:
            time.sleep(0.1)
            state = json.loads(request(port, "GET", "/online")[2])
        assert state["challenger_share"] == 0 and "p99_latency_ms" in state["stopped"]
        after = {post(port, body(root), {"x-user-id": u})[1]["x-mlplat-arm"] for u in users}
        assert after == {"champion"}  # every user back on the champion, at once
    history = json.loads(mlplat("registry", "history", MODEL, "--json", cwd=root).stdout)
    stop = history["events"][-1]
    assert stop["action"] == "online-rollback" and "p99_latency_ms" in stop["reason"]
    run_id = client(root).get_model_version(MODEL, "2").tags["mlplat.online.run_id"]
    run = client(root).get_run(run_id)
    assert run.data.tags["mlplat.online.mode"] == "canary"
    assert "p99_latency_ms" in run.data.tags["mlplat.online.reason"]


def test_a_canary_that_breaks_a_guardrail_stops_itself_at_once_and_records_it_once(
    root: Path,
) -> None:
    """No `online decide`: two workers judge their own challenger answers, the first to see the
    strict p99 broken sends its traffic to the champion and records the stop (state file, alias
    history, MLflow) under a lock; the other stops too, and nothing is recorded twice."""
    from tests.conftest import mlplat
    from tests.serving_support import client

    declared = ("online.experiment=selfstop", "online.ramp=[0.5,1.0]")
    strict = (
        "online.decision.guardrails.min_requests=5",
        "online.decision.guardrails.max_p99_latency_ms=0.001",
    )
    before = json.loads(mlplat("registry", "history", MODEL, "--json", cwd=root).stdout)
    args = ("--model", CHAMPION, "--mode", "canary", "--workers", "2", *declared, *strict)
    users = [f"user-{i}" for i in range(40)]
    with running_server(root, *args) as (_, port):
        deadline, served = time.monotonic() + 30, set()
        while time.monotonic() < deadline:
            arms = [post(port, body(root), {"x-user-id": u})[1]["x-mlplat-arm"] for u in users]
            served.update(arms)
            if set(arms) == {"champion"}:
                break
            time.sleep(0.3)  # a guard tick
        assert served == {"champion", "challenger"}  # the canary did take traffic first
        assert set(arms) == {"champion"}, arms  # and every worker stopped it by itself
        # whichever worker answers (one may have had too few challenger requests to judge):
        # the other's stop reaches it through the state file within a guard tick
        time.sleep(1)
        for _ in range(10):
            state = json.loads(request(port, "GET", "/online")[2])
            assert state["challenger_share"] == 0 and "p99_latency_ms" in state["stopped"]
        judged = {g["name"]: g for g in state["guardrails"]}  # by whichever worker answered
        assert judged == {} or judged["p99_latency_ms"]["breached"]
    on_disk = json.loads((root / "online" / "selfstop" / "state.json").read_text())
    assert "p99_latency_ms" in on_disk["stopped"]
    after = json.loads(mlplat("registry", "history", MODEL, "--json", cwd=root).stdout)
    new = after["events"][len(before["events"]) :]
    assert [e["action"] for e in new] == ["online-rollback"], new  # once, for both workers
    assert "stopped by the server" in new[0]["reason"]
    run = client(root).get_run(
        client(root).get_model_version(MODEL, "2").tags["mlplat.online.run_id"]
    )
    assert run.data.tags["mlplat.online.verdict"] == "rollback"
    assert "stopped by the server" in run.data.tags["mlplat.online.reason"]
    assert float(run.data.metrics["guardrail.p99_latency_ms"]) > 0.001
    # `online decide` on the same log agrees, and does not record the stop a second time
    decided = mlplat("online", "decide", "--json", *declared, *strict, cwd=root)
    verdict = json.loads(decided.stdout)
    assert decided.returncode == 1 and verdict["verdict"] == "rollback", verdict
    assert verdict["done"].startswith("challenger traffic already stopped")
    again = json.loads(mlplat("registry", "history", MODEL, "--json", cwd=root).stdout)
    assert len(again["events"]) == len(after["events"])
