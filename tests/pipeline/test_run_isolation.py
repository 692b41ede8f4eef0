"""A run owns its working directory (issue 20, item 2): two runs at once in one project never mix
their files, each registers the bundle it would have registered alone, names never collide, and
what is published in artifacts/<experiment>/ is one run's, whole (docs/reliability.md)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlplat.core.stage import ArtifactPaths
from mlplat.pipeline import rundir
from tests.conftest import make_project
from tests.run_support import (
    EXPERIMENT,
    MODEL,
    client,
    published,
    read,
    registered_bundle,
    runs,
    stage_process,
    start,
    wait_for,
)

RUN = ("run", f"+experiment={EXPERIMENT}", "model.num_boost_round=60")
SEEDS = (1, 2)


def comparable(bundle: Path) -> dict[str, Any]:
    """A bundle's files, byte for byte, except the two that record when it was made:
    metadata.json without `created_at`, and MANIFEST.json without the digest of metadata.json.
    Two bundles of one config are equal here exactly when every other byte is."""
    files: dict[str, Any] = {p.name: p.read_bytes() for p in sorted(bundle.iterdir())}
    metadata = json.loads(files.pop("metadata.json"))
    metadata.pop("created_at")
    manifest = json.loads(files.pop("MANIFEST.json"))
    manifest["files"].pop("metadata.json")
    return {**files, "metadata.json": metadata, "MANIFEST.json": manifest}


def registered(root: Path) -> dict[int, tuple[dict[str, Any], dict[str, float]]]:
    """Each registered version's bundle (comparable) and metrics, by its run's split seed."""
    found = {}
    for version in client(root).search_model_versions(f"name='{MODEL}'"):
        run = client(root).get_run(version.run_id)
        metrics = {
            k: v for k, v in run.data.metrics.items() if not k.startswith(("time.", "cost."))
        }
        seed = int(run.data.params["data.split.seed"])
        found[seed] = (comparable(registered_bundle(root, version.version)), metrics)
    return found


def finish(process: Any) -> None:
    _, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-3000:]


@pytest.mark.slow
def test_two_runs_at_once_each_register_what_they_register_alone(tmp_path: Path) -> None:
    alone = {seed: make_project(tmp_path / f"alone{seed}") for seed in SEEDS}
    for process in [start(*RUN, f"data.split.seed={s}", cwd=alone[s]) for s in SEEDS]:
        finish(process)
    expected = {s: registered(alone[s])[s] for s in SEEDS}
    assert expected[1][0]["model.txt"] != expected[2][0]["model.txt"]  # the seeds matter

    shared = make_project(tmp_path / "shared")
    first = start(*RUN, "data.split.seed=1", cwd=shared)
    wait_for(
        lambda: list((shared / "artifacts").rglob("featurize/feature_spec.json")),
        "the first run's features",
        first,
    )
    # the first trains slowly (its stage process held still), while the second runs whole
    stages = stage_process(first)
    stages.suspend()
    second = start(*RUN, "data.split.seed=2", cwd=shared)
    finish(second)
    stages.resume()
    finish(first)

    both = runs(shared)
    assert len({r.info.run_name for r in both}) == 2
    assert max(r.info.start_time for r in both) < min(r.info.end_time for r in both)
    concurrent = registered(shared)
    for seed in SEEDS:
        bundle, metrics = concurrent[seed]
        assert bundle == expected[seed][0], f"seed {seed}: the registered bundle differs"
        assert metrics == pytest.approx(expected[seed][1], rel=1e-12)
    # what is published is the run that published last, whole
    base = shared / "artifacts" / EXPERIMENT
    last = comparable(base / "bundle")
    assert last in (expected[1][0], expected[2][0])
    assert (base / "train" / "model.txt").read_bytes() == last["model.txt"]
    assert not [p for p in (base / ".runs").iterdir() if p.name != rundir.LOCK]  # all removed


def _outputs(place: rundir.RunDir, text: str) -> None:
    for rel in ("train/model.txt", "bundle/model.txt", "cost.json"):
        (place.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (place.root / rel).write_text(text)


def test_run_names_are_claimed_once(tmp_path: Path) -> None:
    names = [rundir.RunDir.claim(tmp_path, "exp-lgbm-20260101-000000").name for _ in range(3)]
    assert names == [
        "exp-lgbm-20260101-000000",
        "exp-lgbm-20260101-000000-2",
        "exp-lgbm-20260101-000000-3",
    ]
    assert [p.name for p in tmp_path.joinpath(rundir.RUNS).iterdir() if p.name[0] == "."] == []


def test_a_publication_cut_short_is_finished_before_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that dies between two renames leaves a journal; the next publication (or the
    next run's clean-up) finishes it first, so what is published is never two runs' mixed."""
    shared = tmp_path / "artifacts" / EXPERIMENT
    old = rundir.RunDir.claim(shared, "old")
    _outputs(old, "old")
    old.publish()
    dying = rundir.RunDir.claim(shared, "dying")
    _outputs(dying, "dying")
    moves = 0
    real_replace = os.replace

    def dies_midway(src: Any, dst: Any) -> None:
        nonlocal moves
        moves += 1
        # the journal, bundle set aside and moved in, cost.json set aside: then death
        if moves > 4:
            raise SystemExit("killed")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", dies_midway)
    with pytest.raises(SystemExit):
        dying.publish()
    monkeypatch.setattr(os, "replace", real_replace)
    half = {k: read(shared / k) for k in ("bundle/model.txt", "cost.json", "train/model.txt")}
    assert half == {"bundle/model.txt": "dying", "cost.json": None, "train/model.txt": "old"}

    following = rundir.RunDir.claim(shared, "following")
    _outputs(following, "following")
    (following.root / "gates.json").write_text("{}")
    dying_then = {}

    real_move = rundir.RunDir._move

    def watched(self: rundir.RunDir) -> None:
        real_move(self)
        if self == dying:
            dying_then.update(published(tmp_path))

    monkeypatch.setattr(rundir.RunDir, "_move", watched)
    following.publish()
    assert set(dying_then.values()) == {_digest("dying")}  # the dead one's, whole, first
    assert published(tmp_path)["gates.json"] == _digest("{}")
    after = {k: v for k, v in published(tmp_path).items() if k != "gates.json"}
    assert set(after.values()) == {_digest("following")}
    following.publish(drop=("gates.json",))  # a later run that writes no gate verdicts
    assert "gates.json" not in published(tmp_path)


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def test_run_paths_stay_inside_the_runs_own_directory(tmp_path: Path) -> None:
    place = rundir.RunDir.claim(tmp_path / "artifacts" / EXPERIMENT, "r")
    paths = place.paths(Path("data.csv"))
    keys = ("validation", "train_rows", "model", "bundle", "metrics", "run_report", "cost")
    assert all(paths[k].is_relative_to(place.root) for k in keys)
    assert ArtifactPaths(root=place.shared, data=Path("data.csv"))["model"] == (
        tmp_path / "artifacts" / EXPERIMENT / "train" / "model.txt"
    )
    shutil.rmtree(place.root)
