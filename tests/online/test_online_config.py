"""The `online` config group: typed, defaulting to off, refused at the boundary naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplat.core.errors import ConfigError
from mlplat.core.vocabulary import OnlineMode
from mlplat.pipeline.compose import compose


def test_the_default_is_off(project: Path) -> None:
    cfg = compose(project, [])
    assert cfg.online.mode == OnlineMode.OFF
    assert cfg.online.decision.alpha == 0.05
    assert cfg.online.champion == "champion" and cfg.online.challenger == "challenger"


@pytest.mark.parametrize(
    ("override", "key"),
    [
        pytest.param("online.mode=sideways", "online.mode", id="mode"),
        pytest.param("online.split=1.5", "online.split", id="split"),
        pytest.param("online.ramp=[0.5,0.25]", "online.ramp", id="ramp-order"),
        pytest.param("online.ramp=[0.5,2]", "online.ramp", id="ramp-share"),
        pytest.param("online.challenger=champion", "online.challenger", id="same-alias"),
        pytest.param("online.decision.metric=rmse", "online.decision.metric", id="metric"),
        pytest.param("online.decision.alpha=0", "online.decision.alpha", id="alpha"),
        pytest.param("online.decision.segments=[nowhere]", "online.decision.segments", id="seg"),
        pytest.param("online.decision.max_samples=10", "online.decision.max_samples", id="max"),
    ],
)
def test_a_bad_declaration_names_its_key(project: Path, override: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        compose(project, [override])
    assert caught.value.key == key or key in str(caught.value)


def test_the_modes_compose(project: Path) -> None:
    for mode in OnlineMode:
        assert compose(project, [f"online.mode={mode.value}"]).online.mode == mode
