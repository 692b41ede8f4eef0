"""An experiment's files under `online.directory/<experiment>/`, and its live state.

`requests/` holds the online request log (every request of every arm, shadow included, never
sampled: the test needs them all), `outcomes/` the labels posted to `/feedback`, `joined.parquet`
what `mlplat feedback` joined, and `state.json` what `mlplat online decide` last set: the canary
step, or why traffic went back to the champion. Servers re-read the state at every poll.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.io import read_json, write_json
from mlplat.core.vocabulary import OnlineMode

if TYPE_CHECKING:
    from mlplat.core.config.online import OnlineConfig

STATE = "state.json"
# the version tag holding a decided experiment's evidence (the ML Test Score reads it)
EVIDENCE_TAG = "mlplat.online.evidence"
RUN_TAG = "mlplat.online.run_id"  # the MLflow run holding that decision
# the MLflow experiment of decided online experiments and of `mlplat feedback`'s summaries
ONLINE_EXPERIMENT = "mlplat-online"


def experiment_id(online: OnlineConfig, experiment_name: str) -> str:
    return online.experiment or experiment_name


def layout_of(online: OnlineConfig, experiment_name: str, project: Path) -> Layout:
    """`online.directory/<experiment>` under the project: one experiment's files."""
    return Layout((project / online.directory / experiment_id(online, experiment_name)).resolve())


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def requests(self) -> Path:
        return self.root / "requests"

    @property
    def outcomes(self) -> Path:
        return self.root / "outcomes"

    @property
    def joined(self) -> Path:
        return self.root / "joined.parquet"

    @property
    def state(self) -> Path:
        return self.root / STATE


@dataclass(frozen=True)
class State:
    step: int = 0  # canary: the index of the ramp's current share
    stopped: str | None = None  # why the challenger takes no traffic any more
    at: str | None = None  # when this state was written (UTC)


def read_state(layout: Layout) -> State:
    """The state `online decide` wrote; a fresh experiment (no file yet) is at step 0."""
    if not layout.state.is_file():
        return State()
    found = read_json(layout.state)
    return State(int(found.get("step", 0)), found.get("stopped"), found.get("at"))


def write_state(layout: Layout, state: State) -> State:
    stamped = State(state.step, state.stopped, dt.datetime.now(dt.UTC).isoformat())
    write_json(layout.state, asdict(stamped))
    return stamped


def challenger_share(
    mode: OnlineMode, split: float, ramp: tuple[float, ...], state: State
) -> float:
    """The share of requests the challenger scores now (shadow: the share mirrored to it)."""
    if state.stopped is not None or mode is OnlineMode.OFF:
        return 0.0
    if mode is OnlineMode.CANARY:
        return ramp[min(state.step, len(ramp) - 1)]
    return split
