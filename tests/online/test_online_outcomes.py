"""`POST /feedback`'s parts without a server: the body check, the recent-id map, the disk lookup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlplat.serving.errors import InputError
from mlplat.serving.online.outcomes import (
    Outcome,
    OutcomeWriter,
    RecentIds,
    logged_on_disk,
    parse,
)
from mlplat.serving.reqlog import record_line


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        pytest.param(b"{not json", 400, None, id="not-json"),
        pytest.param(b"[]", 422, "outcomes", id="not-an-object"),
        pytest.param(b'{"outcomes": []}', 422, "outcomes", id="empty"),
        pytest.param(b'{"outcomes": [1]}', 422, "outcomes[0]", id="not-an-outcome"),
        pytest.param(b'{"outcomes": [{"label": 1}]}', 422, "outcomes[0].request_id", id="no-id"),
        pytest.param(
            b'{"outcomes": [{"request_id": "a", "label": 1}, {"request_id": "b", "label": true}]}',
            422,
            "outcomes[1].label",
            id="bool-label",
        ),
        pytest.param(
            b'{"outcomes": [{"request_id": "a", "label": null}]}',
            422,
            "outcomes[0].label",
            id="null-label",
        ),
        pytest.param(
            b'{"outcomes": [{"request_id": "a", "label": 1, "y": 2}]}',
            422,
            "outcomes[0].y",
            id="unknown-field",
        ),
        pytest.param(
            json.dumps({"outcomes": [{"request_id": "x" * 257, "label": 1}]}).encode(),
            422,
            "outcomes[0].request_id",
            id="id-too-long",
        ),
    ],
)
def test_a_bad_body_is_a_4xx_naming_the_field(body: bytes, status: int, field: str | None) -> None:
    with pytest.raises(InputError) as caught:
        parse(body)
    assert caught.value.status == status
    assert caught.value.column == field


def test_a_good_body_keeps_numbers_and_class_names() -> None:
    body = {"outcomes": [{"request_id": "a", "label": 1}, {"request_id": "b/2", "label": "iris"}]}
    assert parse(json.dumps(body).encode()) == [Outcome("a", 1), Outcome("b/2", "iris")]


def test_the_recent_map_is_bounded_and_knows_rows() -> None:
    recent = RecentIds(capacity=2)
    recent.add("one", 1)
    recent.add("three-rows", 3)
    assert recent.knows("one") and recent.knows("three-rows/2")
    assert not recent.knows("three-rows") and not recent.knows("three-rows/3")
    recent.add("next", 1)  # evicts the oldest
    assert not recent.knows("one") and recent.knows("next")


def test_the_disk_lookup_finds_every_workers_ids_even_in_open_files(tmp_path: Path) -> None:
    extra = {"arm": "champion", "status": 200}
    (tmp_path / "requests-a-1-0001.jsonl").write_bytes(
        record_line("done", "m", "1", 1.0, {"x": [1]}, [0.5], extra)
    )
    (tmp_path / "requests-b-2-0001.jsonl.part").write_bytes(  # another worker, still writing
        record_line('with"quote', "m", "1", 1.0, {"x": [1, 2]}, [0.5, 0.6], extra)
    )
    wanted = ["done", 'with"quote/1', 'with"quote/2', 'with"quote', "done/0", "missing"]
    assert logged_on_disk(tmp_path, wanted, 24) == {"done", 'with"quote/1'}


def test_outcomes_are_written_whole_one_file_a_body(tmp_path: Path) -> None:
    writer = OutcomeWriter(tmp_path / "outcomes")
    first = writer.write([Outcome("a", 1), Outcome("b", 0)])
    second = writer.write([Outcome("c", "x")])
    assert first != second and sorted(p.name for p in (tmp_path / "outcomes").iterdir()) == sorted(
        [first.name, second.name]
    )
    lines = [json.loads(line) for line in first.read_text().splitlines()]
    assert [(r["label_id"], r["label"]) for r in lines] == [("a", 1), ("b", 0)]
