"""An event worth telling people about, as one typed value every payload is built from."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from mlplat.core.vocabulary import NotifyEvent


@dataclass(frozen=True)
class Event:
    id: str  # the same occurrence always has the same id: at most one delivery per target
    kind: NotifyEvent
    at: str  # ISO UTC
    title: str  # one line
    summary: str  # a few lines of plain text
    facts: tuple[tuple[str, str], ...] = ()  # (name, value), shown as a table by Slack and Teams
    model: str | None = None
    version: str | None = None
    link: str | None = None  # where to read more: the card, the report

    def to_json(self) -> dict[str, Any]:
        found = asdict(self)
        found["facts"] = dict(self.facts)
        return found


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def event_id(kind: NotifyEvent, *parts: object) -> str:
    """`evt_` + a digest of what identifies the occurrence (kind, model, version, run, move)."""
    key = "/".join([kind.value, *(str(p) for p in parts)])
    return "evt_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def make(
    kind: NotifyEvent, parts: tuple[object, ...], title: str, summary: str, **more: Any
) -> Event:
    """An event identified by `kind` and `parts` (the values that make this occurrence unique)."""
    facts = tuple((str(k), str(v)) for k, v in more.pop("facts", {}).items())
    return Event(event_id(kind, *parts), kind, now(), title, summary, facts, **more)
