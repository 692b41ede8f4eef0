"""The ML Test Score reads online experiments: canary (infra_6), rollback (infra_7) and
offline/online evidence (model_2) become automatic once `mlplat online decide` recorded them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from mlplat.core.config import PlatformConfig
from mlplat.ops.score import collectors
from mlplat.ops.score.facts import Facts
from mlplat.ops.score.rubric import AUTOMATED
from mlplat.serving.online.state import EVIDENCE_TAG


def facts(**tags: dict[str, str]) -> Facts:
    return Facts(
        project=Path("."),
        cfg=PlatformConfig(),
        model_name="m",
        today=dt.date(2026, 12, 5),
        version_tags=dict(tags),
    )


def evidence(mode: str, verdict: str, effect: float | None) -> dict[str, str]:
    overall = None if effect is None else {"effect": effect}
    decision = {"mode": mode, "verdict": verdict, "metric": "log_loss", "overall": overall}
    return {EVIDENCE_TAG: json.dumps(decision)}


def test_experiments_earn_automatic_points() -> None:
    found = facts(
        **{"2": evidence("canary", "promote", -0.03), "3": evidence("split", "rollback", None)}
    )
    assert (
        collectors.infra_6(found).points == AUTOMATED and "2" in collectors.infra_6(found).evidence
    )
    assert (
        collectors.infra_7(found).points == AUTOMATED and "3" in collectors.infra_7(found).evidence
    )
    model_2 = collectors.model_2(found)
    assert model_2.points == AUTOMATED and "-0.03" in model_2.evidence


def test_without_experiments_nothing_is_credited() -> None:
    found = facts(**{"1": {"mlplat.gates": "pass"}, "2": evidence("split", "rollback", None)})
    assert collectors.infra_6(found).points == 0.0
    assert collectors.model_2(found).points == 0.0  # a stopped experiment measured nothing
