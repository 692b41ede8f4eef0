"""Where the served bundle comes from: a bundle directory, or a registry URI `models:/NAME@alias`.

A registry URI needs the MLflow client, imported lazily and only here, only in the update
thread: the request path never touches MLflow, and the container image serves a bundle
directory and does not install MLflow at all.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlplat.core.bundle import MANIFEST, BundleError, verify_registered
from mlplat.core.io import sha256_file

REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))$")
BUNDLE_IN_MODEL = ("artifacts", "bundle")  # where tracking.log_bundle logs the bundle


@dataclass(frozen=True)
class Resolved:
    version: str  # what the server reports; a change means "load this one"
    run_id: str | None = None


class Source(Protocol):
    @property
    def uri(self) -> str: ...

    def resolve(self) -> Resolved: ...

    def fetch(self, resolved: Resolved) -> Path: ...


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
            raise BundleError(
                f"'{self.path}' is not a bundle: {MANIFEST} is missing", file=str(self.path)
            )
        return Resolved(sha256_file(manifest)[:12])

    def fetch(self, resolved: Resolved) -> Path:
        return self.path


@dataclass(frozen=True)
class RegistrySource:
    uri: str
    tracking_uri: str
    cache: Path

    def _client(self) -> Any:
        import mlflow
        from mlflow import MlflowClient

        mlflow.set_tracking_uri(self.tracking_uri)
        return MlflowClient(tracking_uri=self.tracking_uri)

    def resolve(self) -> Resolved:
        found = REGISTRY_URI.match(self.uri)
        assert found is not None, "checked by make_source"
        client = self._client()
        if found["alias"]:
            mv = client.get_model_version_by_alias(found["name"], found["alias"])
        else:
            mv = client.get_model_version(found["name"], found["version"])
        return Resolved(str(mv.version), mv.run_id)

    def fetch(self, resolved: Resolved) -> Path:
        import mlflow

        name = REGISTRY_URI.match(self.uri)["name"]  # type: ignore[index]
        target = self.cache / f"{name}-{resolved.version}"
        if not (target.joinpath(*BUNDLE_IN_MODEL) / MANIFEST).is_file():
            os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
            target.mkdir(parents=True, exist_ok=True)
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{resolved.version}", dst_path=str(target)
            )
        bundle = target.joinpath(*BUNDLE_IN_MODEL)
        tags = self._client().get_model_version(name, resolved.version).tags
        verify_registered(bundle, name, resolved.version, tags)  # cached or not: the pinned digest
        return bundle


def make_source(model: str, tracking_uri: str | None) -> Source:
    from mlplat.core.errors import ConfigError

    if model.startswith("models:/"):
        if not REGISTRY_URI.match(model):
            raise ConfigError(
                f"'{model}' is not models:/NAME@ALIAS or models:/NAME/VERSION", key="model"
            )
        if not tracking_uri:
            raise ConfigError("a registry model needs a tracking URI", key="tracking.uri")
        cache = Path(tempfile.mkdtemp(prefix="mlplat-serve-"))
        return RegistrySource(model, tracking_uri, cache)
    path = Path(model)
    if not (path / MANIFEST).is_file():
        raise ConfigError(
            f"'{model}' is neither a registry URI nor a bundle directory ({MANIFEST} is missing)",
            key="model",
        )
    return DirectorySource(path.resolve())
