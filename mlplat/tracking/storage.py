"""What MLflow's client does not offer for retention: artifact sizes, deleted logged models, hard
deletes, and the artifact directories no run or logged model owns.

Hard deletes use the store's own `_hard_delete_run` / `_hard_delete_logged_model`, which is what
`mlflow gc` calls; the artifacts go first, then the rows, so an interrupted purge leaves a deleted
run whose artifacts are partly gone, and the next purge finishes it (never an orphan it cannot
find). `mlflow gc` misses logged models' artifacts, stops at the first missing directory and
needs the backend store itself; these functions list and size directories themselves, on disk or
through MLflow's artifact repositories (S3, proxied `mlflow-artifacts:`), every page.

A store reached over HTTP (`mlflow server`) exposes no hard delete and no deletion time of a run:
there a purge removes the artifacts (the bytes) and leaves the row in the deleted stage (`mlflow
gc` on the server's backend store removes rows), a run's deletion time is the `mlplat.deleted_at`
tag `mark_deleted` sets before deleting it, and the deleted logged models (which no search
returns) are found through their directories in the artifact store.
"""

from __future__ import annotations

import os
import re
import shutil
import time
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
DELETED_AT = "mlplat.deleted_at"  # epoch seconds, set on a run just before mlplat deletes it


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


def deleted_before(
    tracker: Tracker, seconds: float, runs: Iterable[Any], deleted_models: Iterable[Any]
) -> tuple[set[str], set[str]]:
    """Ids of the runs and logged models deleted at least `seconds` ago. Over HTTP a run's
    deletion time is its `mlplat.deleted_at` tag (one deleted otherwise is old enough only at a
    grace of 0) and a deleted logged model's is its last update (the deletion)."""
    if purgeable(tracker):
        store, ms = _store(tracker), int(seconds * 1000)
        return set(store._get_deleted_runs(older_than=ms)), set(
            store._get_deleted_logged_models(older_than=ms)
        )
    cutoff = time.time() - seconds
    old_runs = {
        r.info.run_id
        for r in runs
        if r.info.lifecycle_stage == "deleted"
        and (seconds <= 0 or float(r.data.tags.get(DELETED_AT, "inf")) <= cutoff)
    }
    old_models = {
        m.model_id for m in deleted_models if (m.last_updated_timestamp or 0) / 1000 <= cutoff
    }
    return old_runs, old_models


def due(
    tracker: Tracker, seconds: float, run_ids: Iterable[str], model_ids: Iterable[str]
) -> tuple[set[str], set[str]]:
    """Which of these runs and logged models are deleted at least `seconds` ago, as the store
    says now (`deleted_before`, asking only about these where the store cannot list)."""
    if purgeable(tracker):
        return deleted_before(tracker, seconds, [], [])
    runs = []
    for run_id in run_ids:
        try:
            runs.append(tracker.client.get_run(run_id))
        except tracker.error as exc:
            if not tracker.missing(exc):
                raise
    return deleted_before(tracker, seconds, runs, deleted_models(tracker, model_ids))


def delete_run(tracker: Tracker, run_id: str) -> None:
    """A run to the deleted stage, stamped first with when (no HTTP API tells it later)."""
    tracker.client.set_tag(run_id, DELETED_AT, f"{time.time():.3f}")
    tracker.client.delete_run(run_id)


def deleted_models(tracker: Tracker, candidates: Iterable[str]) -> list[Any]:
    """The logged models in the deleted stage (the client's search leaves them out). A store with
    no listing of them (HTTP) is asked about `candidates`, the ids of model directories found in
    the artifact store: deleted is what it returns only when asked to allow deleted ones."""
    store = _store(tracker)
    if purgeable(tracker):
        return [
            store.get_logged_model(model_id, allow_deleted=True)
            for model_id in store._get_deleted_logged_models()
        ]
    found = []
    for model_id in candidates:
        if _logged_model(tracker, model_id, allow_deleted=False) is None:
            model = _logged_model(tracker, model_id, allow_deleted=True)
            if model is not None:  # else a directory no logged model owns: an orphan
                found.append(model)
    return found


def _logged_model(tracker: Tracker, model_id: str, allow_deleted: bool) -> Any | None:
    try:
        return _store(tracker).get_logged_model(model_id, allow_deleted=allow_deleted)
    except tracker.error as exc:
        if tracker.missing(exc):
            return None
        raise


def purge_run(tracker: Tracker, run_id: str) -> None:
    try:
        run = tracker.client.get_run(run_id)
    except tracker.error as exc:
        if tracker.missing(exc):
            return  # purged by an earlier, interrupted apply
        raise
    remove_artifacts(tracker, run.info.artifact_uri)
    if purgeable(tracker):
        _store(tracker)._hard_delete_run(run_id)


def purge_logged_model(tracker: Tracker, model_id: str) -> None:
    model = _logged_model(tracker, model_id, allow_deleted=True)
    if model is None:
        return  # purged by an earlier, interrupted apply
    remove_artifacts(tracker, model.artifact_location)
    if purgeable(tracker):
        _store(tracker)._hard_delete_logged_model(model_id)


@dataclass(frozen=True)
class Orphan:
    uri: str
    bytes: int


def owned_dirs(tracker: Tracker, locations: Iterable[str]) -> list[str]:
    """The URIs of the run and logged-model directories under the experiments' artifact
    locations. List them BEFORE the store's runs and models: a run created in between is then
    known."""
    found: list[str] = []
    for location in locations:
        root = local_path(location)
        if root is not None:
            found.extend(str(d) for d in _local_dirs(root))
        elif location:
            found.extend(_remote_dirs(tracker, location.rstrip("/")))
    return found


def _local_dirs(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    yield from (c for c in sorted(root.iterdir()) if c.is_dir() and RUN_DIR.match(c.name))
    models = root / "models"
    if models.is_dir():
        yield from (c for c in sorted(models.iterdir()) if c.is_dir() and MODEL_DIR.match(c.name))


def _remote_dirs(tracker: Tracker, location: str) -> Iterator[str]:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    repo = get_artifact_repository(location, tracking_uri=tracker.uri)
    for entry in repo.list_artifacts(None):
        name = entry.path.rsplit("/", 1)[-1]
        if entry.is_dir and RUN_DIR.match(name):
            yield f"{location}/{name}"
        elif entry.is_dir and name == "models":
            for model in repo.list_artifacts("models"):
                key = model.path.rsplit("/", 1)[-1]
                if model.is_dir and MODEL_DIR.match(key):
                    yield f"{location}/models/{key}"


def dir_id(uri: str) -> str:
    """The run or logged-model id a directory of `owned_dirs` is named by."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def orphans(
    tracker: Tracker, dirs: Iterable[str], runs: set[str], models: set[str]
) -> list[Orphan]:
    """The directories that no run or logged model of the store (deleted ones included) owns."""
    return [
        Orphan(d, artifact_bytes(tracker, d))
        for d in dirs
        if dir_id(d) not in (models if MODEL_DIR.match(dir_id(d)) else runs)
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


def all_logged_models(
    tracker: Tracker, experiment_ids: list[str], dirs: Iterable[str]
) -> tuple[list[Any], list[Any]]:
    """The logged models of the experiments: the active ones and the deleted ones (`dirs`:
    the directories of `owned_dirs`)."""
    if not experiment_ids:
        return [], []
    active = _every(
        lambda token: tracker.client.search_logged_models(
            experiment_ids, max_results=PAGE, page_token=token
        )
    )
    known = {m.model_id for m in active}
    candidates = [dir_id(d) for d in dirs if MODEL_DIR.match(dir_id(d)) and dir_id(d) not in known]
    return active, deleted_models(tracker, candidates)


def all_versions(tracker: Tracker) -> list[Any]:
    return _every(
        lambda token: tracker.client.search_model_versions(max_results=PAGE, page_token=token)
    )
