"""What the gates decide, as the registration, the run report and `mlplat run --json` read it.

Its own module, beside the gates that produce it: the evaluate stage's report reads these types
without importing (and so without a DVC code dependency on) the gates themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mlplat.core.vocabulary import GateStatus


@dataclass(frozen=True)
class Verdict:
    """One gate judged on one scope (overall, a segment, a baseline); `ci`: the interval of
    `value` when bootstrapped."""

    gate: str
    scope: str
    metric: str
    value: float | None
    bound: float | None
    status: GateStatus
    detail: str = ""
    support: int | None = None
    ci: list[float] | None = None


@dataclass(frozen=True)
class Decision:
    """Every gate's verdict for one model; `passed` only if none failed."""

    passed: bool
    champion_version: str | None
    verdicts: tuple[Verdict, ...]
    failed: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The shape gates.json and `mlplat run --json` have always had."""
        shape = asdict(self)
        return shape | {"verdicts": list(shape["verdicts"]), "failed": list(self.failed)}
