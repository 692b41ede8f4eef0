"""Where the served bundle comes from: a bundle directory, or a registry URI `models:/NAME@alias`.

A registry URI needs the MLflow client, imported lazily and only here, only in the update
thread: the request path never touches MLflow, and the container image serves a bundle
directory and does not install MLflow at all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self

from mlplat.core import model_ref, tracking_store
from mlplat.core.bundle import MANIFEST
from mlplat.core.io import sha256_file
from mlplat.core.model_ref import ModelRef

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class RegistryStore:
    """A model registry read through MLflow's client, imported lazily and only here (and in
    `mlplat.tracking`, whose Tracker extends this): the request path never touches it."""

    uri: str

    @classmethod
    def polled(cls, uri: str) -> Self:
        """A store with a short HTTP budget: a server polls again anyway (MLflow's own defaults
        kept `mlplat serve` silent for minutes)."""
        tracking_store.default_limits(uri)
        return cls(uri)

    @cached_property
    def client(self) -> MlflowClient:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    @property
    def error(self) -> type[Exception]:
        """MLflow's exception type, for `except store.error:` without importing mlflow."""
        from mlflow.exceptions import MlflowException

        return MlflowException

    def missing(self, exc: BaseException) -> bool:
        """MLflow's answer for a deleted model, run or version, or an alias that is not set."""
        code = getattr(exc, "error_code", "")
        return isinstance(exc, self.error) and (
            code == "RESOURCE_DOES_NOT_EXIST"
            or (code == "INVALID_PARAMETER_VALUE" and "not found" in str(exc).lower())
        )

    def download(self, artifact_uri: str, target: Path) -> Path:
        """The artifacts at `artifact_uri` (`models:/...`, `runs:/...`) into `target`."""
        import mlflow
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        if not model_ref.is_registry(artifact_uri):
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=artifact_uri, dst_path=str(target), tracking_uri=self.uri
            )
            return Path(local)
        # MLflow resolves a models:/ URI through its process-global registry URI whatever
        # registry it is handed, so this store resolves it with its own client: two stores in
        # one process never read each other's versions
        repository = get_artifact_repository(self._location(artifact_uri), tracking_uri=self.uri)
        return Path(repository.download_artifacts("", str(target)))

    def _location(self, uri: str) -> str:
        """Where the files of the version a `models:/` URI names are."""
        ref = ModelRef.parse(uri)
        version = ref.lookup(self.client).version
        location = str(self.client.get_model_version_download_uri(ref.name, version))
        if location.startswith("models:/"):  # a logged model's id (MLflow 3)
            logged = self.client.get_logged_model(location.removeprefix("models:/"))
            location = str(logged.artifact_location)
        return location


class VersionGoneError(Exception):
    """The model the server follows no longer exists: a deleted version, alias or bundle."""


@dataclass(frozen=True)
class Resolved:
    version: str  # what the server reports; a change means "load this one"
    run_id: str | None = None


class Source(Protocol):
    @property
    def uri(self) -> str: ...

    def resolve(self) -> Resolved: ...

    def fetch(self, resolved: Resolved) -> Path: ...

    def forget(self, resolved: Resolved) -> None: ...

    def exists(self, version: str) -> bool: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DirectorySource:
    """A bundle directory: the manifest's sha256 is the version, so SIGHUP picks up a rewrite."""

    path: Path

    @property
    def uri(self) -> str:
        return str(self.path)

    def resolve(self) -> Resolved:
        manifest = self.path / MANIFEST
        if not manifest.is_file():
            raise VersionGoneError(f"'{self.path}' is not a bundle any more: {MANIFEST} is missing")
        return Resolved(sha256_file(manifest)[:12])

    def fetch(self, resolved: Resolved) -> Path:
        return self.path

    def forget(self, resolved: Resolved) -> None:
        """Nothing is cached: every load reads the directory again."""

    def exists(self, version: str) -> bool:
        return True  # a rewritten bundle is a new version, not a deleted one

    def close(self) -> None:
        """Nothing to clean up: the directory is the user's."""


@dataclass
class RegistrySource:
    """A registry URI; downloads go to `cache` (a fresh temp directory when None, made on the
    first download and removed by `close`)."""

    uri: str
    tracking_uri: str
    cache: Path | None = None

    @property
    def name(self) -> str:
        return ModelRef.parse(self.uri).name

    def resolve(self) -> Resolved:
        store = RegistryStore.polled(self.tracking_uri)
        try:
            mv = ModelRef.parse(self.uri).lookup(store.client)
        except Exception as exc:
            if store.missing(exc):
                message = f"{self.uri} no longer resolves: {tracking_store.scrub(str(exc))}"
                raise VersionGoneError(message) from exc
            raise
        return Resolved(str(mv.version), mv.run_id)

    def exists(self, version: str) -> bool:
        """False only when the registry says the version is gone (an outage is not a deletion)."""
        store = RegistryStore.polled(self.tracking_uri)
        try:
            store.client.get_model_version(self.name, version)
        except Exception as exc:
            return not store.missing(exc)
        return True

    def _target(self, resolved: Resolved) -> Path:
        if self.cache is None:
            self.cache = Path(tempfile.mkdtemp(prefix="mlplat-serve-"))
        return self.cache / f"{self.name}-{resolved.version}"

    def fetch(self, resolved: Resolved) -> Path:
        store = RegistryStore.polled(self.tracking_uri)
        bundle, _ = model_ref.download(store, self.name, resolved.version, self._target(resolved))
        return bundle

    def forget(self, resolved: Resolved) -> None:
        """Drop the download: the next fetch gets and checks the store's files again."""
        shutil.rmtree(self._target(resolved), ignore_errors=True)

    def close(self) -> None:
        if self.cache is not None:
            shutil.rmtree(self.cache, ignore_errors=True)


def make_source(model: str, tracking_uri: str | None) -> Source:
    from mlplat.core.errors import ConfigError

    if model_ref.is_registry(model):
        ModelRef.parse(model)
        if not tracking_uri:
            raise ConfigError("a registry model needs a tracking URI", key="tracking.uri")
        return RegistrySource(model, tracking_uri)
    path = Path(model)
    if not (path / MANIFEST).is_file():
        raise ConfigError(
            f"'{model}' is neither a registry URI nor a bundle directory ({MANIFEST} is missing)",
            key="model",
        )
    return DirectorySource(path.resolve())
