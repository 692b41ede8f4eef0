"""`conf/score/attestations.yaml`: tests done by hand, with who, when and a link to the results.

    data_5:
      by: alice@example.com
      date: 2026-10-01
      evidence: https://wiki.example.com/privacy-review-2026
      valid_days: 180

An attestation earns the manual half point while it is valid (date + valid_days >= today).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplat.core.errors import ConfigError
from mlplat.ops.score.rubric import TESTS

ATTESTATIONS = Path("conf") / "score" / "attestations.yaml"
REQUIRED = ("by", "date", "evidence", "valid_days")


@dataclass(frozen=True)
class Attestation:
    test: str
    by: str
    date: dt.date
    evidence: str
    valid_days: int

    def expires(self) -> dt.date:
        return self.date + dt.timedelta(days=self.valid_days)

    def valid(self, today: dt.date) -> bool:
        return self.date <= today <= self.expires()


def _parse(test: str, entry: Any, file: str) -> Attestation:
    if not isinstance(entry, dict):
        raise ConfigError(f"attestation '{test}' must be a mapping", key=test, file=file)
    absent = [k for k in REQUIRED if entry.get(k) in (None, "")]
    if absent:
        raise ConfigError(f"attestation '{test}' lacks {', '.join(absent)}", key=test, file=file)
    try:
        date = dt.date.fromisoformat(str(entry["date"]))
        days = int(entry["valid_days"])
    except ValueError as exc:
        raise ConfigError(f"attestation '{test}': {exc}", key=test, file=file) from exc
    return Attestation(test, str(entry["by"]), date, str(entry["evidence"]), days)


def load(project: Path) -> dict[str, Attestation]:
    import yaml

    path = project / ATTESTATIONS
    if not path.is_file():
        return {}
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse: {exc}", file=str(path)) from exc
    known = {t.id for t in TESTS}
    if not isinstance(tree, dict):
        raise ConfigError("attestations must map test ids to entries", file=str(path))
    for test in tree:
        if test not in known:
            raise ConfigError(
                f"unknown test '{test}'; tests are data_N, model_N, infra_N, monitoring_N (N 1-7)",
                key=str(test),
                file=str(path),
            )
    return {str(t): _parse(str(t), e, str(path)) for t, e in tree.items()}
