"""MLflow, in one place: store resolution, experiment creation, runs, logging and registration."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import provenance, tracking_store
from mlplat.core.bundle import MANIFEST_TAG, copy_bundle
from mlplat.core.errors import ConfigError, TrackingStoreError
from mlplat.core.io import atomic_path, cache_dir, copy_if_absent, create_if_absent
from mlplat.tracking.tracker import Tracker

if TYPE_CHECKING:
    from mlflow.entities import Run

    from mlplat.core.config import PlatformConfig

_log = logging.getLogger(__name__)
STOP_TAG = "mlplat.stop_signal"  # the signal that stopped a run (KILLED)
ERROR_TAG = "mlplat.error"  # why a run failed or was stopped, in one line
PYFUNC_FILE = Path(__file__).resolve().parent / "pyfunc.py"


def tracking_uri(cfg: PlatformConfig, project: Path) -> str:
    """Config first, then $MLFLOW_TRACKING_URI, then the embedded sqlite store in the project."""
    return cfg.tracking.uri or tracking_store.default_uri(project)


def experiment_name(cfg: PlatformConfig) -> str:
    return cfg.tracking.experiment or cfg.experiment_name


def run_name(cfg: PlatformConfig, now: dt.datetime | None = None) -> str:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return cfg.tracking.run_name_pattern.format(
        experiment=cfg.experiment_name, model=cfg.model.algorithm, timestamp=stamp
    )


@dataclass(frozen=True)
class Started:
    """The active run `tracked_run` started."""

    run_id: str
    run_name: str


def connect(cfg: PlatformConfig, project: Path) -> tuple[Tracker, str]:
    """Point MLflow at the store and make sure the experiment exists: the store and its id.

    Creating the store and experiment once, before any run (and before parallel trials), avoids
    MLflow's races on a brand-new sqlite store. A store that cannot be used is reported within
    the declared timeout and retries, by its URI with any credentials masked.
    """
    import mlflow
    from mlflow.tracking.registry import UnsupportedModelRegistryStoreURIException

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(cfg, project)
    tracking_store.apply_limits(cfg.tracking, uri)
    seed_sqlite_store(uri)
    tracker = Tracker(uri).activate()
    name = experiment_name(cfg)
    try:
        existing = mlflow.get_experiment_by_name(name)
    except UnsupportedModelRegistryStoreURIException:
        source = "" if cfg.tracking.uri else " (from $MLFLOW_TRACKING_URI)"
        raise ConfigError(
            f"'{tracking_store.redact(uri)}'{source} is not a tracking store URI MLflow knows "
            "(sqlite:///..., http(s)://..., postgresql://...)",
            key="tracking.uri" if cfg.tracking.uri else None,
        ) from None
    except mlflow.exceptions.MlflowException as exc:
        raise tracking_store.unreachable(uri, exc, cfg.tracking) from None
    if existing is not None:
        return tracker, str(existing.experiment_id)
    try:
        return tracker, str(mlflow.create_experiment(name, cfg.tracking.artifact_location))
    except mlflow.exceptions.MlflowException:  # created by a concurrent process meanwhile
        found = mlflow.get_experiment_by_name(name)
        if found is None:
            raise
        return tracker, str(found.experiment_id)


def seed_sqlite_store(uri: str) -> None:
    """A sqlite store that does not exist yet starts as a copy of an empty one.

    MLflow builds a new sqlite store by running every schema migration it has (1-1.5 s here, on
    each fresh project and each sweep on a fresh store); the empty store is built that way once
    per MLflow version, in mlplat's cache. It holds no experiment: MLflow adds its Default
    experiment as it opens the copy, with the artifact location it would have given it anyway.
    An existing store is never touched, nor a missing directory made; if the cache cannot be used,
    MLflow builds the store, on a temp file beside it that is linked into place once complete:
    a build that fails (a full disk) leaves no store, never one MLflow cannot open again.
    """
    path = _sqlite_path(uri)
    if path is None or path.exists() or not path.parent.is_dir():  # MLflow says what is missing
        return
    try:
        copy_if_absent(_empty_store(), path)
    except (OSError, sqlite3.Error) as err:
        _log.debug("no empty store copied to %s (%s); building it there", path, err)
        try:
            create_if_absent(path, _build_empty)
        except Exception as exc:  # MLflow's migrations raise SQLAlchemy's errors, among others
            reason = tracking_store.scrub(str(exc).splitlines()[0] if str(exc) else repr(exc))
            raise TrackingStoreError(
                f"cannot create the MLflow store: {reason}", file=str(path)
            ) from None


def _sqlite_path(uri: str) -> Path | None:
    """The file of a `sqlite:///` URI (relative or absolute), None for other stores or memory."""
    if not uri.startswith("sqlite:///"):
        return None
    name = uri.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(name) if name and name != ":memory:" else None


def _empty_store() -> Path:
    """This MLflow version's empty sqlite store, built once (atomically) in mlplat's cache."""
    import mlflow

    empty = cache_dir("mlflow") / f"empty-store-{mlflow.__version__}.db"
    if empty.exists():
        return empty
    with atomic_path(empty) as building:
        _build_empty(building)
    return empty


def _build_empty(path: Path) -> None:
    """MLflow's schema in the sqlite file `path`, with no experiment; sqlite's own files beside
    it (a rollback journal) go with a build that fails."""
    import mlflow

    try:
        mlflow.MlflowClient(f"sqlite:///{path}").search_experiments(max_results=1)
        with closing(sqlite3.connect(path)) as db, db:
            db.execute("DELETE FROM experiments")  # the Default experiment, made for this path
    except BaseException:
        for suffix in ("-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise


def flat_params(tree: Any, prefix: str = "") -> dict[str, str]:
    """Nested config -> MLflow params like `model.params.num_leaves` (values cut to fit)."""
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for key, value in tree.items():
            out.update(flat_params(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: str(tree)[:6000]}


@contextmanager
def tracked_run(
    cfg: PlatformConfig,
    project: Path,
    experiment_id: str,
    tags: dict[str, str] | None = None,
    parent_run_id: str | None = None,
    name: str | None = None,
) -> Iterator[Started]:
    """A run that always ends: FINISHED on success, KILLED with the signal as a tag when a stop
    (Ctrl-C, SIGTERM, SIGHUP) ends it, FAILED on any error (never left RUNNING by any of them).

    Ending it may fail too (the store went away): that is logged, and the error that ended the
    run is the one raised; the next run in the project marks it FAILED (see `rundir`)."""
    import mlflow

    all_tags = {
        "mlplat.experiment": cfg.experiment_name,
        "mlplat.config_hash": provenance.config_hash(cfg),
        **{f"mlplat.{k}": v for k, v in provenance.git_state(project).items()},
        **(tags or {}),
    }
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run = mlflow.start_run(
        experiment_id=experiment_id, run_name=name or run_name(cfg), tags=all_tags
    )
    try:
        yield Started(str(run.info.run_id), str(run.info.run_name))
    except BaseException as exc:
        _end_quietly(exc)
        raise
    mlflow.end_run(status="FINISHED")


@contextmanager
def resumed(run_id: str) -> Iterator[None]:
    """The finished run `run_id` active again (a sweep's best trial, registered after it ended)."""
    import mlflow

    with mlflow.start_run(run_id=run_id):
        yield


def _end_quietly(exc: BaseException) -> None:
    import mlflow

    try:
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C, or a Stopped from a stop signal
            mlflow.set_tag(STOP_TAG, getattr(exc, "signal_name", "SIGINT"))
        mlflow.end_run(status="KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
    except Exception as err:
        _log.warning("could not end the run: %s", tracking_store.scrub(str(err)))


def tag_failure(text: str) -> None:
    """Why the active run failed or stopped, as its error tag (credentials masked)."""
    import mlflow

    mlflow.set_tag(ERROR_TAG, tracking_store.scrub(text)[:5000])


def end_abandoned(
    tracker: Tracker, experiment_id: str, run_id: str | None, name: str, reason: str
) -> str | None:
    """Mark FAILED, with `reason`, the run `run_id` (or the RUNNING run named `name`, whose id
    its process did not live to record) if it is still RUNNING; its id, if one was marked."""
    client = tracker.client
    if run_id is None:
        found = client.search_runs(
            [experiment_id],
            f"attributes.run_name = '{name}' AND attributes.status = 'RUNNING'",
            max_results=1,
        )
        run_id = found[0].info.run_id if found else None
    if run_id is None or client.get_run(run_id).info.status != "RUNNING":
        return None
    client.set_tag(run_id, ERROR_TAG, reason)
    client.set_terminated(run_id, "FAILED")
    return run_id


def log_config(cfg: PlatformConfig) -> None:
    import mlflow
    import yaml

    tree = provenance.config_dict(cfg)
    if tree["tracking"]["uri"]:  # never its credentials, in params or the logged config
        tree["tracking"]["uri"] = tracking_store.redact(tree["tracking"]["uri"])
    mlflow.log_text(yaml.safe_dump(tree, sort_keys=False), "config/resolved.yaml")
    mlflow.log_params({k: v for k, v in flat_params(tree).items() if not k.startswith("schema.")})


def finite(values: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Metrics MLflow can store: floats, NaN and infinities left out."""
    import math

    return {f"{prefix}{k}": float(v) for k, v in values.items() if math.isfinite(float(v))}


def log_metrics(values: dict[str, Any], prefix: str = "") -> None:
    """Metrics on the active run (NaN and infinities left out)."""
    import mlflow

    mlflow.log_metrics(finite(values, prefix))


def log_artifact(path: Path | str, directory: str | None = None) -> None:
    """A file onto the active run, under `directory`."""
    import mlflow

    mlflow.log_artifact(str(path), directory)


def log_artifacts(path: Path | str, directory: str) -> None:
    """A directory's files onto the active run, under `directory`."""
    import mlflow

    mlflow.log_artifacts(str(path), directory)


def log_table(table: Any, artifact_file: str) -> None:
    """A table (a DataFrame, or columns -> values) MLflow's UI shows as one, on the active run."""
    import mlflow

    mlflow.log_table(table, artifact_file=artifact_file)


def set_tags(tags: dict[str, str]) -> None:
    """Tags on the active run."""
    import mlflow

    mlflow.set_tags(tags)


def log_bundle(bundle_dir: Path, model_id: str | None = None) -> str:
    """Log the bundle as a models-from-code pyfunc (no pickle) on the active run (or as the
    logged model `model_id`); its URI.

    What is logged is a verified copy of exactly the listed files, under the name `bundle`
    that every download looks for (MLflow names an artifact directory after its source), and
    the manifest's sha256 is tagged on the logged model for `register` to pin.

    Logged before the run's metrics: MLflow links every metric the run already has to a model
    it logs, one query per metric (a second for the ~450 of a run with segments)."""
    import logging
    import tempfile

    import mlflow

    import mlplat

    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    # it warns that no signature can be inferred: none is meant (the bundle checks its inputs)
    pyfunc_log.setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="mlplat-log-") as tmp:
        digest = copy_bundle(bundle_dir, Path(tmp) / "bundle")
        try:
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(PYFUNC_FILE),
                artifacts={"bundle": str(Path(tmp) / "bundle")},
                pip_requirements=[f"mlplat=={mlplat.__version__}", "lightgbm", "pandas", "numpy"],
                model_id=model_id,
            )
        finally:
            pyfunc_log.setLevel(level)
    mlflow.set_logged_model_tags(info.model_id, {MANIFEST_TAG: digest})
    return str(info.model_uri)


def log_bundle_after(tracker: Tracker, run: Run, bundle_dir: Path) -> str:
    """Log the bundle as a model of `run`, which has logged its metrics already (a sweep's best
    trial); its URI. Outside any active run, so MLflow does not link each metric to the model
    (see `log_bundle`); the model still names the run as its source and is one of its outputs."""
    import mlflow
    from mlflow.entities import LoggedModelOutput

    model = mlflow.initialize_logged_model(
        name="model", source_run_id=run.info.run_id, experiment_id=run.info.experiment_id
    )
    uri = log_bundle(bundle_dir, model.model_id)
    tracker.client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, 0)])
    return uri


def register(
    tracker: Tracker, model_uri: str, name: str, tags: dict[str, str], alias: str = "challenger"
) -> str:
    """A new version of `name` from a logged model (`log_bundle`), with its tags, and `alias`
    on it. The bundle manifest's sha256 is pinned on the version: every load checks it."""
    import mlflow
    from mlflow.utils.logging_utils import disable_logging, enable_logging

    logged = mlflow.get_logged_model(model_uri.removeprefix("models:/"))
    pin = {MANIFEST_TAG: logged.tags[MANIFEST_TAG]}  # set by log_bundle, on every bundle
    disable_logging()  # MLflow prints "Created version ..."; the caller prints its own line
    try:
        version = str(mlflow.register_model(model_uri, name, tags={**tags, **pin}).version)
    finally:
        enable_logging()
    tracker.client.set_registered_model_alias(name, alias, version)
    return version
