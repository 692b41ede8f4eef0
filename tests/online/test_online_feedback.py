"""`mlplat feedback`: outcomes joined to every arm's logged prediction by request id."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlplat.serving.reqlog import record_line
from tests.conftest import make_project, mlplat, tracking_uri


def log_requests(root: Path, ids: list[str], old: str | None = None) -> None:
    """The online log as the server writes it: each id scored by both arms (shadow)."""
    requests = root / "online" / "default" / "requests"
    requests.mkdir(parents=True, exist_ok=True)
    lines = b""
    for i, rid in enumerate(ids):
        for arm, version, p in (("champion", "1", 0.2), ("challenger", "2", 0.3)):
            extra = {"arm": arm, "experiment": "default", "mode": "shadow", "status": 200}
            lines += record_line(rid, "m", version, 1.0, {"plan": ["basic"]}, [p + i / 100], extra)
    if old:  # a prediction logged long before its label arrives
        line = json.loads(record_line(old, "m", "1", 1.0, {"plan": ["pro"]}, [0.5], extra))
        line["ts"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()
        lines += json.dumps(line).encode() + b"\n"
    (requests / "requests-1.jsonl").write_bytes(lines)


def labels(root: Path, rows: list[tuple[str, int]], name: str = "labels.csv") -> Path:
    path = root / name
    pd.DataFrame(rows, columns=["request_id", "churned"]).to_csv(path, index=False)
    return path


def feedback(root: Path, path: Path, *extra: str) -> dict:
    done = mlplat(
        "feedback", "--labels", str(path), "--label-column", "churned", "--json", *extra, cwd=root
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_labels_join_once_per_arm_and_nothing_is_lost(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", rows=200)
    log_requests(root, ["a", "b", "c"], old="stale")
    first = feedback(root, labels(root, [("a", 1), ("b", 0), ("ghost", 1), ("stale", 0)]))
    assert first["new"] == 2 and first["joined"] == 4  # two ids, each scored by two arms
    assert first["unknown"] == 1 and first["late"] == 1  # counted, never joined silently
    again = feedback(root, labels(root, [("a", 1), ("b", 1), ("c", 0)], "more.csv"))
    assert again["duplicates"] == 1 and again["changed"] == 1 and again["new"] == 1
    joined = pd.read_parquet(root / "online" / "default" / "joined.parquet")
    assert len(joined) == 6 and set(joined["arm"]) == {"champion", "challenger"}
    assert joined.set_index(["label_id", "arm"]).loc[("b", "champion"), "label"] == 1
    assert list(joined.loc[joined["label_id"] == "c", "plan"]) == ["basic", "basic"]


COUNTS = ("labels", "posted", "joined", "new", "duplicates", "changed", "unknown", "late")


def assert_summarised(root: Path, found: dict, tmp_path: Path) -> dict[str, float]:
    """The feedback's run: FINISHED in mlplat-online, its counts those printed, the report as
    an artifact; its metrics."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri(root))
    run = client.get_run(found["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == found["run_name"]
    assert found["run_name"].startswith("default-feedback-")
    assert client.get_experiment(run.info.experiment_id).name == "mlplat-online"
    assert run.data.tags["mlplat.online.experiment"] == "default"
    assert run.data.tags["mlplat.model_name"] and run.data.tags["mlplat.online.mode"]
    assert {k: run.data.metrics[k] for k in COUNTS} == {k: float(found[k]) for k in COUNTS}
    artifact = client.download_artifacts(found["run_id"], "online/feedback.json", str(tmp_path))
    assert json.loads(Path(artifact).read_text())["report"]["joined"] == found["joined"]
    return dict(run.data.metrics)


def test_each_feedback_is_summarised_in_one_mlflow_run(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", rows=200)
    log_requests(root, ["a", "b"])
    path = labels(root, [("a", 1), ("b", 0)])
    once = feedback(root, path)
    first = assert_summarised(root, once, tmp_path / "first")
    assert first["champion.labelled"] == first["challenger.labelled"] == 2
    # log loss of P(churn) 0.2 (a, churned) and 0.21 (b, stayed); the challenger's 0.3, 0.31
    assert first["champion.mean_loss"] == pytest.approx(-(np.log(0.2) + np.log(0.79)) / 2)
    assert first["challenger.mean_loss"] == pytest.approx(-(np.log(0.3) + np.log(0.69)) / 2)
    again = feedback(root, path)  # the same labels sent twice: counted, joined once
    metrics = assert_summarised(root, again, tmp_path / "again")
    assert again["run_id"] != once["run_id"] and metrics["duplicates"] == 2 and metrics["new"] == 0
    assert metrics["joined"] == 4 and metrics["champion.labelled"] == 2


def test_labels_that_give_no_loss_are_counted_shown_and_left_out(tmp_path: Path) -> None:
    """A binary label that is not a number is joined (as sent, to be found), counted per arm in
    feedback and status, and the test runs on the other rows."""
    root = make_project(tmp_path / "proj", rows=200)
    log_requests(root, ["a", "b", "c"])
    found = feedback(root, labels(root, [("a", 1), ("b", "yes"), ("c", 0)]))
    assert found["joined"] == 6 and found["new"] == 3
    arms = {a["arm"]: a for a in found["arms"]}
    assert arms["champion"]["unusable_labels"] == arms["challenger"]["unusable_labels"] == 1
    assert arms["champion"]["labelled"] == 2 and arms["champion"]["unusable_examples"] == ["yes"]
    assert "champion 1, challenger 1; e.g. 'yes'" in found["warnings"][0]
    metrics = assert_summarised(root, found, tmp_path / "run")
    assert metrics["champion.unusable_labels"] == metrics["challenger.unusable_labels"] == 1
    only_plan = "online.decision.segments=[plan]"
    status = json.loads(mlplat("online", "status", "--json", only_plan, cwd=root).stdout)
    assert [(a["labelled"], a["unusable_labels"]) for a in status["arms"]] == [(2, 1), (2, 1)]
    assert status["overall"]["n_champion"] == status["overall"]["n_challenger"] == 2
    table = mlplat("online", "status", only_plan, cwd=root, env={"COLUMNS": "80"})
    shown = " ".join((table.stdout + table.stderr).split())
    assert "unusable labels" in shown and "champion 1, challenger 1; e.g. 'yes'" in shown


def test_an_unreachable_store_keeps_the_labels_and_names_the_store(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", rows=200)
    log_requests(root, ["a"])
    path = labels(root, [("a", 1)])
    store = "tracking.uri=http://127.0.0.1:9"  # nothing listens on the discard port
    args = ("--labels", str(path), "--label-column", "churned", "--json")
    done = mlplat("feedback", *args, store, "tracking.max_retries=0", cwd=root)
    assert done.returncode == 0, done.stderr  # the labels are stored: a warning, not a failure
    found = json.loads(done.stdout)
    assert found["joined"] == 2 and found["run_id"] is None
    assert "summary not logged to MLflow" in found["warnings"][0]
    assert "warning:" in done.stderr and "'http://127.0.0.1:9'" in done.stderr
    assert len(pd.read_parquet(root / "online" / "default" / "joined.parquet")) == 2


def test_a_run_that_breaks_half_way_ends_failed_and_the_labels_stay(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    root = make_project(tmp_path / "proj", rows=200)
    log_requests(root, ["a"])
    blocker = root / "not-a-directory"
    blocker.write_text("")  # the experiment's artifacts cannot go under a file
    client = MlflowClient(tracking_uri(root))
    experiment = client.create_experiment("mlplat-online", str(blocker / "artifacts"))
    found = feedback(root, labels(root, [("a", 1)]))  # exits 0: a warning, the labels stored
    assert found["run_id"] is None and found["joined"] == 2
    assert "summary not logged to MLflow" in found["warnings"][0]
    assert f"tracking store '{tracking_uri(root)}'" in found["warnings"][0]
    [run] = client.search_runs([experiment], f"attributes.run_name = '{found['run_name']}'")
    assert run.info.status == "FAILED" and run.data.metrics["joined"] == 2  # never RUNNING
    assert (root / "online" / "default" / "joined.parquet").is_file()


def test_a_label_file_with_the_wrong_columns_exits_2_naming_the_column(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", rows=200)
    log_requests(root, ["a"])
    path = labels(root, [("a", 1)])
    done = mlplat("feedback", "--labels", str(path), "--label-column", "outcome", cwd=root)
    assert done.returncode == 2
    assert "no column 'outcome'" in done.stderr and "--label-column" in done.stderr
    assert not (root / "online" / "default" / "joined.parquet").exists()


def test_files_servers_still_write_are_read_but_not_a_half_written_line(tmp_path: Path) -> None:
    from mlplat.online.feedback import log_records
    from mlplat.serving.online.state import Layout

    layout = Layout(tmp_path)
    layout.requests.mkdir(parents=True)
    extra = {"arm": "champion", "status": 200}
    done = record_line("closed", "m", "1", 1.0, {"plan": ["basic"]}, [0.1], extra)
    live = record_line("open", "m", "1", 1.0, {"plan": ["pro"]}, [0.2], extra)
    (layout.requests / "requests-a.jsonl").write_bytes(done)
    (layout.requests / "requests-b.jsonl.part").write_bytes(live + live[:25])  # mid-write
    assert [r["request_id"] for r in log_records(layout)] == ["closed", "open"]
    (layout.requests / "requests-c.jsonl").write_bytes(live[:25] + b"\n")
    with pytest.raises(ValueError):  # a complete file that does not parse is a real problem
        list(log_records(layout))
