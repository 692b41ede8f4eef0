"""A Hydra sweeper on optuna's ask/tell API that honours `budget.sweep`.

Why our own: hydra-optuna-sweeper pins optuna < 3 and its sqlite storage fails with SQLAlchemy 2.
Ask/tell keeps this small: ask a batch of trials (one per parallel job), launch them through
whatever launcher is configured (basic or joblib), tell optuna each trial's metric, and before
every batch check the sweep budget (trials, total cost, total wall), stopping with a message.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    import optuna
    from hydra.types import HydraContext, TaskFunction

    from mlplat.core.config import PlatformConfig

log = logging.getLogger(__name__)


def distribution(override: Override) -> Any:
    """A Hydra sweep override -> the optuna distribution it describes."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    value = override.value()
    if isinstance(value, IntervalSweep):
        log_scale = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log_scale)
        return FloatDistribution(float(value.start or 0), float(value.end or 0), log=log_scale)
    if isinstance(value, RangeSweep) and not value.shuffle:
        numbers = (value.start, value.stop, value.step)
        if all(isinstance(x, int) for x in numbers):  # Hydra's range stop is exclusive
            return IntDistribution(
                int(value.start or 0), int(value.stop or 0) - int(value.step), step=int(value.step)
            )
    choices: list[Any] = list(override.sweep_iterator(transformer=Transformer.encode))
    return CategoricalDistribution(choices)


def trial_value(ret: JobReturn, metric: str) -> tuple[float | None, float]:
    """(the metric, or None for a failed trial; the trial's money) from a job's RunResult.

    A trial that finished without the metric means the metric is misnamed: every trial would
    lack it, so the sweep stops there."""
    from mlplat.core.errors import ConfigError

    if ret.status != JobStatus.COMPLETED:
        return None, 0.0
    result = ret.return_value
    money = float(getattr(result, "cost", {}).get("total", {}).get("money", 0.0))
    metrics = getattr(result, "metrics", {})
    if metric not in metrics:
        raise ConfigError(
            f"the trial finished without a metric {metric!r}; its metrics: "
            + ", ".join(sorted(metrics)),
            key="hydra.sweeper.metric",
        )
    return float(metrics[metric]), money


class MlplatOptunaSweeper(Sweeper):
    def __init__(
        self,
        metric: str | None = None,
        direction: str | None = None,
        n_trials: int = 8,
        n_jobs: int | None = None,
        seed: int | None = 42,
        storage: str | None = None,
        study_name: str | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        from mlplat.sweeps.sweep import check_direction

        check_direction(direction, "hydra.sweeper.direction")
        self.declared = (metric, direction)  # None: the task's primary metric, its direction
        self.metric = self.direction = ""  # resolved in setup, from the composed config
        self.n_trials, self.n_jobs, self.seed = n_trials, n_jobs, seed
        self.storage, self.study_name = storage, study_name
        self.params = dict(params or {})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from mlplat.sweeps.sweep import objective

        self.config, self.hydra_context = config, hydra_context
        self.metric, self.direction = objective(config.model.task, *self.declared)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def _space(self, arguments: list[str]) -> tuple[dict[str, Any], list[str]]:
        """Search space (sweep overrides) and fixed overrides: `params`, then the command line."""
        assert self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        lines = [f"{k}={v}" for k, v in self.params.items()] + list(arguments)
        space, fixed = {}, []
        for override in parser.parse_overrides(lines):
            if override.is_sweep_override():
                space[override.get_key_element()] = distribution(override)
            else:
                fixed.append(override.input_line or override.get_key_element())
        return space, fixed

    def _batch_size(self) -> int:
        assert self.config is not None
        if self.n_jobs:
            return self.n_jobs
        return int(OmegaConf.select(self.config, "hydra.launcher.n_jobs", default=1) or 1)

    def _platform(self) -> PlatformConfig:
        from mlplat.sweeps.sweep import platform_config

        assert self.config is not None
        return platform_config(self.config)

    def _study(self) -> optuna.Study:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        return optuna.create_study(
            direction="maximize" if self.direction == "maximize" else "minimize",
            storage=self.storage,
            study_name=self.study_name,
            sampler=optuna.samplers.TPESampler(seed=self.seed),
            load_if_exists=True,
        )

    def sweep(self, arguments: list[str]) -> list[list[JobReturn]]:
        from optuna.trial import TrialState

        from mlplat.core.budget import sweep_stop_reason
        from mlplat.sweeps.sweep import note_stop

        space, fixed = self._space(arguments)
        budget, study = self._platform().budget, self._study()
        started, launched, spent = time.time(), 0, 0.0
        returns: list[list[JobReturn]] = []
        while launched < self.n_trials:
            reason = sweep_stop_reason(budget, launched, spent, time.time() - started)
            if reason:
                log.info("mlplat_optuna: no new trials: %s", reason)
                note_stop(reason)
                break
            size = min(self._batch_size(), self.n_trials - launched)
            if budget.sweep.max_trials is not None:
                size = min(size, budget.sweep.max_trials - launched)
            trials = [study.ask(space) for _ in range(size)]
            batch = [[*fixed, *(f"{k}={t.params[k]}" for k in space)] for t in trials]
            self.validate_batch_is_legal(batch)
            assert self.launcher is not None
            results = list(self.launcher.launch(batch, initial_job_idx=launched))
            for trial, ret in zip(trials, results, strict=True):
                value, money = trial_value(ret, self.metric)
                spent += money
                if value is None:
                    study.tell(trial, state=TrialState.FAIL)
                else:
                    study.tell(trial, value)
            launched += size
            returns.append(results)
        self._report(study, launched)
        return returns

    def _report(self, study: optuna.Study, launched: int) -> None:
        from optuna.trial import TrialState

        done = study.get_trials(states=(TrialState.COMPLETE,))
        if not done:
            if launched:
                raise RuntimeError("mlplat_optuna: every trial failed; see the errors above")
            return
        log.info(
            "mlplat_optuna: best %s=%.4f with %s", self.metric, study.best_value, study.best_params
        )
