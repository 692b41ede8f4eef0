"""`mlplat promote`, `rollback` and `registry history`: the project's registry, by hand.

The store is the project's (conf/tracking, else $MLFLOW_TRACKING_URI, else ./mlflow.db) and a model
name must match the declared `registry.name_pattern`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlplat.core import names
from mlplat.core.config.notify import NotifyConfig
from mlplat.core.config.ops import RegistryConfig
from mlplat.core.errors import MlplatError, RegistryError
from mlplat.tracking import aliases, notices
from mlplat.tracking.tracker import Tracker


def _settings(project: Path) -> tuple[Tracker, RegistryConfig, NotifyConfig]:
    """The tracking store, registry and notification settings; without a usable conf/, the
    defaults."""
    from mlplat.pipeline.compose import compose

    try:
        cfg = compose(project, [])
    except MlplatError:
        return Tracker.of(project), RegistryConfig(), NotifyConfig()
    return Tracker.of(project, cfg.tracking.uri), cfg.registry, cfg.notify


def check_name(name: str, registry: RegistryConfig) -> None:
    if not names.fits_pattern(name, registry.name_pattern):
        raise RegistryError(
            f"model name '{name}' does not match the declared pattern '{registry.name_pattern}' "
            f"(template '{registry.name_template}')",
            key="registry.name_pattern",
        )


def tracker(project: Path, name: str) -> Tracker:
    found, registry, _ = _settings(project)
    check_name(name, registry)
    return found


@dataclass(frozen=True)
class Moved:
    event: aliases.AliasEvent
    warnings: tuple[str, ...] = ()  # notifications that were not delivered


def promote(project: Path, name: str, version: str, reason: str) -> Moved:
    found = tracker(project, name)
    return _told(project, found, name, aliases.promote(found, name, version, reason))


def rollback(project: Path, name: str, reason: str) -> Moved:
    found = tracker(project, name)
    return _told(project, found, name, aliases.rollback(found, name, reason))


def _told(project: Path, found: Tracker, name: str, event: aliases.AliasEvent) -> Moved:
    notify = _settings(project)[2]
    return Moved(event, notices.at_move(notify, found.client, name, event))


def history(project: Path, name: str) -> tuple[list[aliases.AliasEvent], dict[str, str]]:
    """Alias moves, oldest first, and where each alias points now."""
    store = tracker(project, name)
    return aliases.history(store, name), aliases.pointers(store, name)


def pin(project: Path, name: str, version: str) -> tuple[str, bool]:
    """Pin the manifest digest of a version registered without one (by an mlplat before the
    pin, or by hand) after verifying its bundle: (digest, whether it was already pinned). A
    version pinned to another digest is refused: its bundle changed after registration."""
    import tempfile

    from mlplat.core.bundle import MANIFEST_TAG, verify
    from mlplat.core.model_ref import BUNDLE_IN_MODEL

    store = tracker(project, name)
    found = store.client
    pinned = found.get_model_version(name, version).tags.get(MANIFEST_TAG)
    with tempfile.TemporaryDirectory(prefix="mlplat-pin-") as tmp:
        local = store.download(f"models:/{name}/{version}", Path(tmp))
        digest = verify(local / BUNDLE_IN_MODEL)
    if pinned and pinned != digest:
        raise RegistryError(
            f"models:/{name}/{version} is pinned to manifest {pinned[:12]} but its bundle now "
            f"has {digest[:12]}: the bundle changed in the artifact store after registration"
        )
    if not pinned:
        found.set_model_version_tag(name, version, MANIFEST_TAG, digest)
    return digest, bool(pinned)
