"""Unknown keys are refused wherever they come from, with the closest known key as a suggestion.

Group and experiment files are merged into the typed schema, where OmegaConf refuses a key the
dataclass lacks. Hydra's `+key=value`, though, opens the node it adds to (`force_add`), and
OmegaConf then sets the extra key as a plain attribute of the dataclass it builds: the typo ran
to completion, ignored. So the composed config is walked once, before it becomes typed: every
key of a node backed by a dataclass must be one of that dataclass's fields. Maps (`dict[str, X]`)
keep their free keys; their values are checked as their own type.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from mlplat.core.errors import ConfigError

if TYPE_CHECKING:
    from omegaconf import DictConfig


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known word nearest `word` (case does not count), or None when none is close."""
    by_lower = {k.lower(): k for k in known}
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def did_you_mean(word: str, known: Iterable[str], prefix: str = "") -> str:
    """ "did you mean 'data.target'?" for the closest known word, or "" when none is close."""
    found = closest(word, known)
    return f"did you mean '{prefix}{found}'?" if found else ""


def hint(full_key: str, known: Sequence[str]) -> str:
    """What to write instead of an unknown key: the closest known key, else all of them."""
    parent, _, word = full_key.rpartition(".")
    found = did_you_mean(word, known, f"{parent}." if parent else "")
    return found or f"{parent or 'the root'} has: {', '.join(known)}"


def _unknown(node: DictConfig, path: str) -> Iterator[tuple[str, list[str]]]:
    """(full key, the fields it could have been) of every key no dataclass has."""
    from omegaconf import DictConfig, OmegaConf

    kind = OmegaConf.get_type(node)
    fields = [f.name for f in dataclasses.fields(kind)] if dataclasses.is_dataclass(kind) else None
    for key, child in node.items_ex(resolve=False):
        full = f"{path}{key!s}"
        if fields is not None and key not in fields:
            yield full, fields
        # None and ??? nodes have no keys (Hydra's own walk over a composed config checks the same)
        elif isinstance(child, DictConfig) and not (child._is_none() or child._is_missing()):
            yield from _unknown(child, f"{full}.")


def refuse_unknown(config: DictConfig) -> None:
    """Raise one error naming every unknown key, each with its suggestion or the known keys."""
    found = list(_unknown(config, ""))
    if not found:
        return
    hints = [hint(full, fields) for full, fields in found]
    if len(found) == 1:
        raise ConfigError(f"unknown key; {hints[0]}", key=found[0][0])
    named = ", ".join(f"'{key}' ({text})" for (key, _), text in zip(found, hints, strict=True))
    raise ConfigError(f"unknown keys {named}", key=found[0][0])
