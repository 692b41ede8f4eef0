"""DictConfig -> PlatformConfig, once, plus the checks that need more than types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplat.core import budget, dataio, names, provenance
from mlplat.core.config import (
    PlatformConfig,
    bounds,
    columns,
    deploy,
    keys,
    lightgbm_params,
    notify,
    online,
)
from mlplat.core.config.ops import MonitoringConfig
from mlplat.core.errors import ConfigError
from mlplat.core.vocabulary import Engine, Task, choices, knows
from mlplat.stages.evaluate.gates import check_metrics as check_gates
from mlplat.stages.validate.contract import DTYPES

if TYPE_CHECKING:
    from omegaconf import DictConfig


def check(cfg: PlatformConfig) -> PlatformConfig:
    """Refuse a declaration that would fail later, naming the key, before any work starts."""
    dataio.check_source(cfg.data.path)
    columns.check(cfg)  # reads the data file's header only
    bounds.check(cfg)
    bounds.check_column_bounds(cfg.schema.columns)
    bounds.check_overrides(
        cfg.monitoring.feature_thresholds, MonitoringConfig, "monitoring.feature_thresholds"
    )
    budget.check_policies(cfg.budget)
    _check_vocabulary(cfg)
    online.check(cfg.online, cfg.model.task, list(cfg.segments.slices))
    deploy.check(cfg.deploy)
    notify.check(cfg.notify)
    _check_model_name(cfg)
    lightgbm_params.check(cfg.model.params, cfg.model.task)
    if cfg.registry.register:  # gates are judged at registration: refuse bad ones before training
        check_gates(cfg)
    return cfg


def _check_vocabulary(cfg: PlatformConfig) -> None:
    if not knows(Task, cfg.model.task):
        raise ConfigError(
            f"unknown task '{cfg.model.task}'; choose one of {choices(Task)}", key="model.task"
        )
    if not knows(Engine, cfg.model.engine):
        raise ConfigError(
            f"unknown engine '{cfg.model.engine}'; choose one of {choices(Engine)}",
            key="model.engine",
        )
    for name, column in cfg.schema.columns.items():
        if column.dtype not in DTYPES:
            raise ConfigError(
                f"unknown dtype '{column.dtype}'; choose one of {', '.join(DTYPES)}",
                key=f"schema.columns.{name}.dtype",
            )


def _check_model_name(cfg: PlatformConfig) -> None:
    name = provenance.model_name(cfg)
    if not names.fits_pattern(name, cfg.registry.name_pattern):
        template = f"registry.name_template '{cfg.registry.name_template}'"
        source = "registry.model_name" if cfg.registry.model_name else template
        raise ConfigError(
            f"registered model name '{name}' (from {source}) does not match the declared pattern "
            f"'{cfg.registry.name_pattern}'; names look like 'telco-churn-lgbm' "
            "({domain}-{target}-{algorithm}, lower case)",
            key="registry.model_name",
        )


def to_platform(cfg: DictConfig | Any) -> PlatformConfig:
    """Resolve interpolations and build the typed object; OmegaConf errors carry the full key."""
    from omegaconf import OmegaConf

    body = (
        OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"]) if "hydra" in cfg else cfg
    )
    keys.refuse_unknown(body)
    typed = OmegaConf.to_object(body)
    if not isinstance(typed, PlatformConfig):
        raise ConfigError(
            "conf/config.yaml must list 'mlplat_schema' first in its defaults",
            file="conf/config.yaml",
        )
    return check(typed)
