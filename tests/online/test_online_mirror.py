"""The shadow process (`mirror.py`): a copy it cannot score fails as data, and a child that
dies fails its batch and is replaced, never taking the shadow thread down."""

from __future__ import annotations

from pathlib import Path

from mlplat.serving.online.mirror import Item, Mirror, Version
from mlplat.serving.payloads import Protocol


def test_a_dead_child_fails_its_batch_and_a_new_one_takes_over(tmp_path: Path) -> None:
    version = Version(str(tmp_path / "no-bundle"), "1", "test", 10)
    item = Item(version, Protocol.MLFLOW, "application/json", b"{}")
    mirror = Mirror()
    try:
        mirror.load(version)  # refused in the child, which lives on
        assert [o.status for o in mirror.score([item, item])] == [500, 500]
        first = mirror.process
        assert first is not None and first.is_alive()
        first.kill()
        first.join()
        assert [o.status for o in mirror.score([item])] == [500]  # the batch the dead child had
        assert mirror.process is None
        assert [o.status for o in mirror.score([item])] == [500]  # a new child answered
        assert mirror.process is not None and mirror.process.is_alive()
    finally:
        mirror.close()
    assert mirror.process is None
