"""Aliases with a memory: `champion` moves by gate, by `promote` or by `rollback`, and every move
is recorded as a tag on the registered model (who, when, why), so history survives any client.

Tags are keyed `mlplat.alias_history.<UTC timestamp>`: sortable, one small JSON value each (tag
values have a size limit, so one growing list would not do), and safe for concurrent writers.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from mlplat.core.errors import RegistryError
from mlplat.tracking import cards

if TYPE_CHECKING:
    from mlplat.tracking.tracker import Tracker

CHAMPION, CHALLENGER = "champion", "challenger"
HISTORY_PREFIX = "mlplat.alias_history."
OUTSIDE = "outside"  # the action of a move made outside mlplat, heard by `mlplat notify listen`
MAX_REASON = 1000


@dataclass(frozen=True)
class AliasEvent:
    at: str  # ISO UTC time
    alias: str
    version: str
    previous: str | None
    action: str  # gate | promote | rollback | online | online-keep | online-rollback | outside
    by: str
    reason: str


def user() -> str:
    """Who moved the alias: $MLPLAT_USER (CI sets it), else the login name."""
    try:
        return os.environ.get("MLPLAT_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def _model(tracker: Tracker, name: str) -> Any:
    try:
        return tracker.client.get_registered_model(name)
    except tracker.error as exc:
        raise RegistryError(f"no registered model '{name}' in the registry") from exc


def check_version(tracker: Tracker, name: str, version: str) -> None:
    _model(tracker, name)
    try:
        tracker.client.get_model_version(name, str(version))
    except tracker.error as exc:
        raise RegistryError(f"model '{name}' has no version '{version}'") from exc


def pointers(tracker: Tracker, name: str) -> dict[str, str]:
    """Alias -> version, as the registry holds them now."""
    found = getattr(_model(tracker, name), "aliases", {}) or {}
    return {alias: str(version) for alias, version in found.items()}


def current(tracker: Tracker, name: str, alias: str = CHAMPION) -> str | None:
    """The version an alias points at, or None."""
    return pointers(tracker, name).get(alias)


def history(tracker: Tracker, name: str) -> list[AliasEvent]:
    """Every recorded alias move, oldest first."""
    tags = _model(tracker, name).tags or {}
    events = [json.loads(v) for k, v in sorted(tags.items()) if k.startswith(HISTORY_PREFIX)]
    return [AliasEvent(**e) for e in events]


def _event(
    alias: str, version: str, previous: str | None, action: str, reason: str, by: str
) -> tuple[AliasEvent, str]:
    """An event about `alias`, and the history tag key it is recorded under."""
    now = dt.datetime.now(dt.UTC)
    event = AliasEvent(
        at=now.isoformat(timespec="seconds"),
        alias=alias,
        version=str(version),
        previous=previous,
        action=action,
        by=by,
        reason=reason[:MAX_REASON],
    )
    return event, HISTORY_PREFIX + now.strftime("%Y%m%dT%H%M%S.%fZ")


def _record(tracker: Tracker, name: str, event: AliasEvent, key: str) -> None:
    tracker.client.set_registered_model_tag(name, key, json.dumps(asdict(event), sort_keys=True))


def note(
    tracker: Tracker, name: str, alias: str, version: str, action: str, reason: str
) -> AliasEvent:
    """Record an event that leaves `alias` where it is, beside the moves: an online experiment
    that stopped sending the challenger traffic is news to whoever reads the history next."""
    check_version(tracker, name, version)
    previous = current(tracker, name, alias)
    event, key = _event(alias, version, previous, action, reason, user())
    _record(tracker, name, event, key)
    return event


def move(
    tracker: Tracker, name: str, alias: str, version: str, action: str, reason: str
) -> AliasEvent:
    """Point `alias` at `version` and record the move."""
    previous = current(tracker, name, alias)
    event, key = _event(alias, version, previous, action, reason, user())
    tracker.client.set_registered_model_alias(name, alias, str(version))
    _record(tracker, name, event, key)
    tracker.client.set_model_version_tag(name, str(version), f"mlplat.{alias}_since", event.at)
    if alias == CHAMPION and event.previous not in (None, event.version):
        cards.at_promotion(tracker.client, name, str(event.previous), event.version)
    return event


def promote(
    tracker: Tracker, name: str, version: str, reason: str, action: str = "promote"
) -> AliasEvent:
    if not reason.strip():
        raise RegistryError('a promotion needs a reason (--reason "...")')
    check_version(tracker, name, version)
    return move(tracker, name, CHAMPION, version, action, reason)


def last(events: list[AliasEvent], alias: str) -> AliasEvent | None:
    """The latest recorded event about `alias`, or None."""
    return next((event for event in reversed(events) if event.alias == alias), None)


def heard(
    tracker: Tracker, name: str, alias: str, version: str, before: AliasEvent | None, reason: str
) -> AliasEvent:
    """Record a move made outside mlplat (the MLflow UI, another tool), after the fact: rollback
    then goes back past it, and the same version set again outside is not mistaken for mlplat's.
    The registry already points at `version`: what it pointed at before is the last recorded
    event about the alias, `before`."""
    previous = before.version if before else None
    event, key = _event(alias, version, previous, OUTSIDE, reason, "outside mlplat")
    _record(tracker, name, event, key)
    return event


def champion_stack(events: list[AliasEvent]) -> list[str]:
    """Champions in order, as promotions push and rollbacks pop them."""
    stack: list[str] = []
    for event in events:
        if event.alias != CHAMPION:
            continue
        if event.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != event.version:
                stack.append(event.version)
        else:
            stack.append(event.version)
    return stack


def rollback(tracker: Tracker, name: str, reason: str = "") -> AliasEvent:
    """Move `champion` back to the champion before the current one."""
    stack = champion_stack(history(tracker, name))
    if len(stack) < 2:
        raise RegistryError(f"model '{name}' has no previous champion to roll back to")
    target = stack[-2]
    check_version(tracker, name, target)
    return move(
        tracker, name, CHAMPION, target, "rollback", reason or f"rollback from version {stack[-1]}"
    )


def tag_version(tracker: Tracker, name: str, version: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        tracker.client.set_model_version_tag(name, str(version), key, value[:5000])
