"""Typed configuration: one dataclass per Hydra group, validated once at the boundary."""

from mlplat.core.config.platform import PlatformConfig, register_schemas

__all__ = ["PlatformConfig", "register_schemas"]
