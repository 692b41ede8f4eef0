"""A trial of an mlplat sweep, as the run inside it sees it: the ids of the sweep's parent run
(handed over in the environment, or published in a file for warm workers; see
`mlplat.sweeps.sweep`) and where the trial's artifacts go.

Here, below the sweep's own lifecycle, because every `mlplat run` asks whether it is a trial.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.errors import ConfigError
from mlplat.core.stage import ArtifactPaths

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig

PARENT_ENV = "MLPLAT_SWEEP_PARENT_RUN_ID"
EXPERIMENT_ENV = "MLPLAT_SWEEP_EXPERIMENT_ID"
IDS_ENV = "MLPLAT_SWEEP_IDS"  # the file the ids are published in (see the module's docstring)
STARTED_ENV = "MLPLAT_SWEEP_STARTED"
STOPPED_ENV = "MLPLAT_SWEEP_STOPPED"
IDS_WAIT_SECONDS = 600.0  # a fresh store on a slow database server, not a worker that died


@dataclass(frozen=True)
class SweepIds:
    tracking_uri: str
    experiment_id: str
    parent_run_id: str


def publish(path: Path, ids: SweepIds | None = None, error: str | None = None) -> None:
    """The ids, or why there are none, for the trials waiting on `path`."""
    from dataclasses import asdict

    from mlplat.core.io import write_json

    write_json(path, asdict(ids) if ids else {"error": error})


def published(path: Path, wait: float = IDS_WAIT_SECONDS) -> SweepIds:
    """The ids published in `path`, once they are; the process creating them may not be done."""
    from mlplat.core.io import read_json

    deadline = time.monotonic() + wait
    while not path.is_file():
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the sweep's parent run did not appear in {path} within {wait:.0f} s"
            )
        time.sleep(0.02)
    found = read_json(path)
    if "error" in found:
        raise RuntimeError(f"the sweep could not create its parent run: {found['error']}")
    return SweepIds(**found)


@dataclass(frozen=True)
class Trial:
    parent_run_id: str
    experiment_id: str
    number: int
    overrides: str

    def paths(self, cfg: PlatformConfig, project: Path) -> ArtifactPaths:
        base = ArtifactPaths.for_config(cfg, project)
        return ArtifactPaths(
            root=base.root / "trials" / self.parent_run_id / str(self.number),
            data=base.data,
            published=base.root,
        )


def current_trial() -> Trial | None:
    """The trial this process is running, when it runs inside an mlplat sweep."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    parent, experiment = os.environ.get(PARENT_ENV), os.environ.get(EXPERIMENT_ENV)
    if not parent and os.environ.get(IDS_ENV):  # a joblib worker: made while it started
        ids = published(Path(os.environ[IDS_ENV]))
        parent, experiment = ids.parent_run_id, ids.experiment_id
    if not parent or not experiment:  # Hydra turns a callback's error into a warning
        raise ConfigError(
            "this sweep has no MLflow parent run (see the SweepCallback warning above); "
            "conf/config.yaml must list the mlplat sweep callback",
            key="hydra.callbacks.mlplat_sweep",
        )
    hydra = HydraConfig.get()
    return Trial(parent, experiment, int(hydra.job.num), " ".join(hydra.overrides.task))
