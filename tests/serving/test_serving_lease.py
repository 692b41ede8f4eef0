"""Serving leases: a server following a registry model keeps a lease on the version it serves,
which `mlplat gc` honours, and removes it as it stops; a bundle directory takes no lease."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlplat.serving.lease import BEATS_PER_TTL, LeaseWriter, lease_dir, read_leases
from tests.conftest import mlplat
from tests.serving_support import (
    MODEL,
    client,
    request,
    running_server,
    sample_split,
    score,
    trained_project,
    two_versions,
)

STRICT = ["retention.last_versions=0", "retention.champion_within_days=0"]
TTL = 2.0  # seconds: heartbeats every 0.5 s


def test_a_lease_is_written_renewed_and_released(tmp_path: Path) -> None:
    assert LeaseWriter.following("/some/bundle", str(tmp_path)) is None
    assert LeaseWriter.following(f"models:/{MODEL}@champion", None) is None
    writer = LeaseWriter.following(f"models:/{MODEL}@champion", str(tmp_path))
    assert writer is not None
    writer.beat("3")
    first = read_leases(tmp_path)
    writer.beat("4")
    [lease] = read_leases(tmp_path)
    assert (lease.model, lease.version, len(first)) == (MODEL, "4", 1)
    assert lease.heartbeat >= first[0].heartbeat and lease.live(time.time(), 60)
    writer.release()
    writer.release()  # twice: nothing left is no error
    assert read_leases(tmp_path) == []


def _version_1(root: Path) -> tuple[str, str]:
    done = mlplat("gc", "--json", *STRICT, cwd=root)
    assert done.returncode == 0, done.stderr
    [item] = [i for i in json.loads(done.stdout)["items"] if i["id"] == f"{MODEL}/1"]
    return item["action"], item["rule"]


@pytest.mark.slow
def test_gc_keeps_the_version_a_live_server_follows(tmp_path: Path) -> None:
    root = trained_project(tmp_path / "proj")
    for alias in ("champion", "challenger"):  # no alias keeps version 1: only the lease may
        client(root).delete_registered_model_alias(MODEL, alias)
    with running_server(root, "--model", f"models:/{MODEL}/1", "--poll-interval", "0.2"):
        deadline = time.monotonic() + 30
        while not read_leases(lease_dir(root)):
            assert time.monotonic() < deadline, "no lease written"
            time.sleep(0.1)
        assert _version_1(root) == ("keep", "a live server follows it (lease)")
    assert read_leases(lease_dir(root)) == []  # released on SIGTERM
    assert _version_1(root) == ("delete", "no keep rule holds")


@pytest.mark.slow
def test_a_heartbeat_keeps_both_arms_leased_with_no_polling(tmp_path: Path) -> None:
    """--poll-interval 0 means no update check after start-up: only the heartbeat thread keeps
    the leases alive past their TTL, the champion's and the challenger's alike."""
    root = two_versions(tmp_path / "proj")  # v1 @champion, v2 @challenger
    for alias in ("champion", "challenger"):  # no alias keeps them: only the leases may
        client(root).delete_registered_model_alias(MODEL, alias)
    ttl = [f"retention.lease_ttl_seconds={TTL}"]
    arms = ["--challenger", f"models:/{MODEL}/2", "--mode", "shadow"]
    with running_server(root, "--model", f"models:/{MODEL}/1", *arms, "--poll-interval", "0", *ttl):
        time.sleep(3 * TTL)  # well past the TTL, and no update check since start-up
        leases = read_leases(lease_dir(root))
        assert sorted((x.version, x.uri) for x in leases) == [
            ("1", f"models:/{MODEL}/1"),
            ("2", f"models:/{MODEL}/2"),
        ]
        assert all(x.live(time.time(), TTL) for x in leases), leases
        versions = _versions(root, *ttl)
        assert versions == {
            f"{MODEL}/1": ("keep", "a live server follows it (lease)"),
            f"{MODEL}/2": ("keep", "a live server follows it (lease)"),
        }
    assert read_leases(lease_dir(root)) == []  # both released on SIGTERM, no beat after
    time.sleep(TTL / BEATS_PER_TTL + 0.5)  # a heartbeat thread left running would rewrite one
    assert read_leases(lease_dir(root)) == []
    assert {a for a, _ in _versions(root, *ttl).values()} == {"delete"}


def _versions(root: Path, *args: str) -> dict[str, tuple[str, str]]:
    done = mlplat("gc", "--json", *STRICT, *args, cwd=root)
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)["items"]
    return {i["id"]: (i["action"], i["rule"]) for i in items if i["kind"] == "version"}


@pytest.mark.slow
def test_a_server_following_champion_keeps_serving_through_a_strict_apply(tmp_path: Path) -> None:
    root = two_versions(tmp_path / "proj")  # v1 @champion, v2 @challenger
    client(root).delete_registered_model_alias(MODEL, "challenger")  # nothing keeps v2
    strict = [
        *STRICT,
        "retention.runs_younger_than_days=0",
        "retention.best_runs_per_experiment=0",
        "retention.others_after_days=0",
        "retention.grace_days=0",
    ]
    payload = {"dataframe_split": sample_split(root, rows=3)}
    with running_server(root, "--model", f"models:/{MODEL}@champion") as (_, port):
        before = score(port, payload)
        done = mlplat("gc", "--apply", "--json", *strict, cwd=root)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["frees_now"] > 0, "the strict policy purged something"
        assert score(port, payload) == before  # same answer from the same loaded version
        assert request(port, "GET", "/ready")[0] == 200
    assert sorted(str(v.version) for v in client(root).search_model_versions()) == ["1"]
    # every alias still loads: a fresh server fetches @champion's artifacts after the purge
    with running_server(root, "--model", f"models:/{MODEL}@champion") as (_, port):
        assert score(port, payload) == before
