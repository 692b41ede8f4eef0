"""Which arm answers a request: a pure function of the key, the experiment id and the weights.

The key is hashed with the experiment id to a point in [0, 1); the challenger takes the points
below its share. No state, so every worker, replica and restart gives a key the same arm; a
new experiment id reshuffles the keys; and raising the share (a canary ramp) only moves keys
from the champion to the challenger, never back.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from mlplat.core.vocabulary import Arm


def point(key: str, experiment: str) -> float:
    """The key's place in [0, 1) for this experiment (blake2b: stable across processes and
    Python versions, unlike `hash`)."""
    digest = hashlib.blake2b(f"{experiment}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def assign(
    key: str | None,
    experiment: str,
    challenger_share: float,
    draw: Callable[[], float] = random.random,
) -> Arm:
    """The arm of one request; a request without a key gets a random point."""
    where = draw() if key is None else point(key, experiment)
    return Arm.CHALLENGER if where < challenger_share else Arm.CHAMPION
