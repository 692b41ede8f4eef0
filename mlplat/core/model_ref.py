"""`models:/NAME@ALIAS` and `models:/NAME/VERSION`: parsed, looked up and downloaded here only.

Serving (its registry source), the image builder, monitoring and sizing all name a registered
model this way and all need the same three things: the URI's parts, the version it points at
now, and that version's bundle on disk, checked against the manifest digest pinned at
registration. MLflow is never imported here: the caller's registry (the Tracker, or serving's
lazy registry store) reads the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlplat.core.bundle import MANIFEST, verify_registered
from mlplat.core.errors import ConfigError, RegistryError
from mlplat.core.io import atomic_dir

MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))$")
BUNDLE_IN_MODEL = Path("artifacts") / "bundle"  # where the tracker logs the bundle in the model


class Registry(Protocol):
    """What a registered model is read through (`Tracker`, serving's `RegistryStore`)."""

    @property
    def client(self) -> Any: ...

    @property
    def error(self) -> type[Exception]: ...

    def download(self, artifact_uri: str, target: Path) -> Path: ...


def is_registry(model: str) -> bool:
    """A registry URI rather than a bundle directory (malformed ones included: parse says why)."""
    return model.startswith("models:/")


@dataclass(frozen=True)
class ModelRef:
    name: str
    alias: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, uri: str, key: str = "model") -> ModelRef:
        found = MODELS_URI.match(uri)
        if not found:
            raise ConfigError(f"'{uri}' is not models:/NAME@ALIAS or models:/NAME/VERSION", key=key)
        return cls(found["name"], found["alias"], found["version"])

    def __str__(self) -> str:
        tail = f"@{self.alias}" if self.alias else f"/{self.version}"
        return f"models:/{self.name}{tail}"

    def lookup(self, client: Any) -> Any:
        """The model version this reference points at now (MLflow's errors pass through)."""
        if self.alias:
            return client.get_model_version_by_alias(self.name, self.alias)
        return client.get_model_version(self.name, self.version)


def download(registry: Registry, name: str, version: str, target: Path) -> tuple[Path, str]:
    """Version `version`'s bundle, downloaded into `target` unless a whole earlier download is
    there, and checked against the digest pinned on the version either way. Returns the
    bundle's directory and its digest."""
    if not (target / BUNDLE_IN_MODEL / MANIFEST).is_file():
        with atomic_dir(target) as tmp:  # a download cut short never looks complete
            registry.download(f"models:/{name}/{version}", tmp)
    bundle = target / BUNDLE_IN_MODEL
    if not bundle.is_dir():
        raise RegistryError(
            f"models:/{name}/{version} has no mlplat bundle (no {BUNDLE_IN_MODEL})", key="model"
        )
    tags = registry.client.get_model_version(name, version).tags
    return bundle, verify_registered(bundle, name, version, tags)
