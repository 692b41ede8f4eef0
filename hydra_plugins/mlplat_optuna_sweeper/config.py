"""The `hydra/sweeper=mlplat_optuna` config (Hydra imports every module under hydra_plugins)."""
# No `from __future__ import annotations`: Hydra executes this module before it is in sys.modules,
# where dataclasses cannot resolve string annotations.

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore


@dataclass
class MlplatOptunaSweeperConf:
    _target_: str = "hydra_plugins.mlplat_optuna_sweeper.mlplat_optuna_sweeper.MlplatOptunaSweeper"
    # a key of the run's overall metrics (artifacts/.../metrics.json); None: the task's primary
    # metric (auc, log_loss, rmse)
    metric: str | None = None
    direction: str | None = None  # maximize | minimize; None: the way the metric improves
    n_trials: int = 8
    n_jobs: int | None = None  # trials per batch; None: hydra.launcher.n_jobs, else 1
    seed: int | None = 42
    storage: str | None = None  # e.g. sqlite:///optuna.db to resume a study; None: in memory
    study_name: str | None = None
    # search space in Hydra's override grammar: choice(15,31,63), range(8,64), interval(0.01,0.3),
    # tag(log, interval(0.01, 0.3)); sweep overrides on the command line add to it
    params: dict[str, str] = field(default_factory=dict)


ConfigStore.instance().store(
    group="hydra/sweeper", name="mlplat_optuna", node=MlplatOptunaSweeperConf, provider="mlplat"
)
