"""What MLflow's client does not offer for retention: artifact sizes, deleted logged models, hard
deletes, and the artifact directories no run or logged model owns.

Hard deletes use the store's own `_hard_delete_run` / `_hard_delete_logged_model`, which is what
`mlflow gc` calls; the artifacts go first, then the rows, so an interrupted purge leaves a deleted
run whose artifacts are partly gone, and the next purge finishes it (never an orphan it cannot
find). `mlflow gc` misses logged models' artifacts, stops at the first missing directory and
needs the backend store itself; these functions list and size directories themselves.

A store reached over HTTP (`mlflow server`) exposes no hard delete: `purgeable` says so and
`mlplat gc` then only soft-deletes (run `mlflow gc` on the server's backend store).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mlplat.tracking.tracker import Tracker

RUN_DIR = re.compile(r"^[0-9a-f]{32}$")
MODEL_DIR = re.compile(r"^m-[0-9a-f]{32}$")
PAGE = 1000


def _store(tracker: Tracker) -> Any:
    return tracker.client._tracking_client.store


def purgeable(tracker: Tracker) -> bool:
    store = _store(tracker)
    return hasattr(store, "_hard_delete_run") and hasattr(store, "_hard_delete_logged_model")


def local_path(uri: str) -> Path | None:
    """The directory of a file-system artifact URI; None for a remote one (s3://, http://)."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return Path(parts.path if parts.scheme else uri)
    return None


def artifact_bytes(tracker: Tracker, uri: str) -> int:
    """The bytes under an artifact URI: walked on disk, listed (every page) elsewhere."""
    path = local_path(uri)
    if path is not None:
        return tree_bytes(path)
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    repo = get_artifact_repository(uri, tracking_uri=tracker.uri)
    return sum(f.file_size or 0 for f in _walk(repo, None))


def _walk(repo: Any, path: str | None) -> Iterator[Any]:
    for entry in repo.list_artifacts(path):
        if entry.is_dir:
            yield from _walk(repo, entry.path)
        else:
            yield entry


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:  # removed while listed
                continue
    return total


def remove_artifacts(tracker: Tracker, uri: str) -> None:
    """Everything under `uri`; nothing there is no error (an earlier purge got this far)."""
    path = local_path(uri)
    if path is None:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        get_artifact_repository(uri, tracking_uri=tracker.uri).delete_artifacts()
        return
    # a run's or logged model's own directory holds its artifacts/: the whole directory goes
    owner = path.parent
    if path.name == "artifacts" and (RUN_DIR.match(owner.name) or MODEL_DIR.match(owner.name)):
        path = owner
    shutil.rmtree(path, ignore_errors=True)


def deleted_before(tracker: Tracker, seconds: float) -> tuple[set[str], set[str]]:
    """Ids of the runs and logged models deleted at least `seconds` ago (empty on a store with
    no hard delete)."""
    if not purgeable(tracker):
        return set(), set()
    store, ms = _store(tracker), int(seconds * 1000)
    runs = store._get_deleted_runs(older_than=ms)
    return set(runs), set(store._get_deleted_logged_models(older_than=ms))


def deleted_models(tracker: Tracker) -> list[Any]:
    """The logged models in the deleted stage (the client's search leaves them out)."""
    store = _store(tracker)
    if not hasattr(store, "_get_deleted_logged_models"):
        return []
    return [
        store.get_logged_model(model_id, allow_deleted=True)
        for model_id in store._get_deleted_logged_models()
    ]


def purge_run(tracker: Tracker, run_id: str) -> None:
    try:
        run = tracker.client.get_run(run_id)
    except tracker.error as exc:
        if tracker.missing(exc):
            return  # purged by an earlier, interrupted apply
        raise
    remove_artifacts(tracker, run.info.artifact_uri)
    _store(tracker)._hard_delete_run(run_id)


def purge_logged_model(tracker: Tracker, model_id: str) -> None:
    store = _store(tracker)
    try:
        model = store.get_logged_model(model_id, allow_deleted=True)
    except tracker.error as exc:
        if tracker.missing(exc):
            return
        raise
    remove_artifacts(tracker, model.artifact_location)
    store._hard_delete_logged_model(model_id)


@dataclass(frozen=True)
class Orphan:
    uri: str
    bytes: int


def owned_dirs(locations: Iterable[str]) -> list[Path]:
    """The run and logged-model directories under the experiments' local artifact locations.
    List them BEFORE the store's runs and models: a run created in between is then known."""
    found: list[Path] = []
    for location in locations:
        root = local_path(location)
        if root is not None and root.is_dir():
            found.extend(c for c in sorted(root.iterdir()) if c.is_dir() and RUN_DIR.match(c.name))
            models = root / "models"
            if models.is_dir():
                found.extend(
                    c for c in sorted(models.iterdir()) if c.is_dir() and MODEL_DIR.match(c.name)
                )
    return found


def orphans(dirs: Iterable[Path], runs: set[str], models: set[str]) -> list[Orphan]:
    """The directories that no run or logged model of the store (deleted ones included) owns."""
    return [
        Orphan(str(d), tree_bytes(d))
        for d in dirs
        if d.name not in (models if MODEL_DIR.match(d.name) else runs)
    ]


def _every(fetch: Callable[[str | None], Any]) -> list[Any]:
    """Every page of a paged search, `fetch(page_token)` returning MLflow's PagedList."""
    found: list[Any] = []
    token = None
    while True:
        page = fetch(token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def all_runs(tracker: Tracker, experiment_ids: list[str]) -> list[Any]:
    """Every run of the experiments, active and deleted."""
    from mlflow.entities import ViewType

    if not experiment_ids:
        return []
    return _every(
        lambda token: tracker.client.search_runs(
            experiment_ids, run_view_type=ViewType.ALL, max_results=PAGE, page_token=token
        )
    )


def all_logged_models(tracker: Tracker, experiment_ids: list[str]) -> tuple[list[Any], list[Any]]:
    """The logged models of the experiments: the active ones and the deleted ones."""
    if not experiment_ids:
        return [], []
    active = _every(
        lambda token: tracker.client.search_logged_models(
            experiment_ids, max_results=PAGE, page_token=token
        )
    )
    return active, deleted_models(tracker)


def all_versions(tracker: Tracker) -> list[Any]:
    return _every(
        lambda token: tracker.client.search_model_versions(max_results=PAGE, page_token=token)
    )
