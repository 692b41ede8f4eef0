"""`mlplat card` and `mlplat card diff`: the card of any registered version, and what changed
between two, built from the evidence in the project's tracking store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.errors import RegistryError
from mlplat.core.model_ref import ModelRef
from mlplat.tracking.tracker import Tracker

if TYPE_CHECKING:
    from mlplat.core.card.diff import CardDiff
    from mlplat.core.card.model import Card
    from mlplat.core.config import PlatformConfig


def _project(project: Path, overrides: list[str]) -> tuple[Tracker, PlatformConfig]:
    from mlplat.pipeline.compose import compose

    cfg = compose(project, overrides)
    return Tracker.of(project, cfg.tracking.uri), cfg


def _version(tracker: Tracker, uri: str, key: str) -> ModelRef:
    """`uri` pinned to the version it points at now (an alias moves; a card is of a version)."""
    ref = ModelRef.parse(uri, key=key)
    found = tracker.version(ref)
    if found is None:
        raise RegistryError(f"{uri} does not exist in {tracker.uri}", key=key)
    return ModelRef(ref.name, version=str(found.version))


def card(project: Path, model: str, overrides: list[str]) -> Card:
    from mlplat.tracking import cards

    tracker, cfg = _project(project, overrides)
    ref = _version(tracker, model, "--model")
    return cards.card_of(tracker.client, ref.name, str(ref.version), cfg.card)


def diff(project: Path, old: str, new: str, overrides: list[str]) -> CardDiff:
    from mlplat.core.card.diff import compare
    from mlplat.tracking import cards

    tracker, cfg = _project(project, overrides)
    a, b = _version(tracker, old, "--from"), _version(tracker, new, "--to")
    return compare(
        cards.card_of(tracker.client, a.name, str(a.version), cfg.card),
        cards.card_of(tracker.client, b.name, str(b.version), cfg.card),
    )
