"""The root config: every group, composed by Hydra and validated against these dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlplat import __version__
from mlplat.core.config.bounds import bounded
from mlplat.core.config.card import CardConfig
from mlplat.core.config.contract import FeaturesConfig, SchemaConfig
from mlplat.core.config.data import DataConfig
from mlplat.core.config.deploy import DeployConfig
from mlplat.core.config.model import ModelConfig
from mlplat.core.config.notify import NotifyConfig
from mlplat.core.config.online import OnlineConfig
from mlplat.core.config.ops import (
    BudgetConfig,
    MonitoringConfig,
    RegistryConfig,
    RetentionConfig,
    ServingConfig,
    TrackingConfig,
)
from mlplat.core.config.validation import GatesConfig, SegmentsConfig

SCHEMA_NAME = "mlplat_schema"


@dataclass
class PlatformConfig:
    experiment_name: str = "default"
    seed: int = bounded(42, ge=0, le=2**32 - 1)  # numpy and scikit-learn take 0..2**32-1
    artifacts_dir: str = "artifacts"
    # the mlplat that composed this config; a stage dependency of every compiled pipeline
    mlplat_version: str = __version__
    data: DataConfig = field(default_factory=DataConfig)
    schema: SchemaConfig = field(default_factory=SchemaConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    gates: GatesConfig = field(default_factory=GatesConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    online: OnlineConfig = field(default_factory=OnlineConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    card: CardConfig = field(default_factory=CardConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)


def register_schemas() -> None:
    """Register the root schema; `conf/config.yaml` lists it first in its defaults.

    `model.params` is left open (not struct): any LightGBM parameter or alias can be set without
    `+`, and LightGBM's own table checks the names and types at the boundary instead.
    """
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    schema = OmegaConf.structured(PlatformConfig)
    OmegaConf.set_struct(schema.model.params, False)
    ConfigStore.instance().store(name=SCHEMA_NAME, node=schema)
