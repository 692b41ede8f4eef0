"""`conf/card/`: what only a person can say about a model, for its model card.

Everything else on a card (data, metrics, gates, cost) comes from evidence mlplat recorded; these
fields are the declared part (Mitchell et al. 2019: intended use, out-of-scope uses, caveats).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CardConfig:
    # True while the text is `mlplat init`'s draft: `mlplat lint` warns and every card says so
    draft: bool = True
    owners: list[str] = field(default_factory=list)  # "Name <contact>" or a team name
    license: str = "proprietary"  # an SPDX identifier, or "proprietary"
    overview: str = ""  # one line: what the model predicts, for whom
    intended_use: list[str] = field(default_factory=list)
    intended_users: list[str] = field(default_factory=list)
    out_of_scope: list[str] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)  # known, beyond what the evidence shows
    ethical_considerations: list[str] = field(default_factory=list)
