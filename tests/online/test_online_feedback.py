"""`mlplat feedback`: outcomes joined to every arm's logged prediction by request id."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from mlplat.serving.reqlog import record_line
from tests.conftest import make_project, mlplat


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
