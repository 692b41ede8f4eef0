"""The feature catalog: every feature declared under conf/features/ and the experiments using it.

An experiment uses a feature when its composed config holds a feature of that name with the same
definition, so inline overrides in an experiment show up as their own row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlplat.core.config.contract import FeatureConfig, FeaturesConfig
from mlplat.core.features import describe
from mlplat.pipeline.compose import compose, conf_dir


@dataclass
class FeatureRow:
    name: str
    kind: str
    definition: str
    description: str
    experiments: list[str] = field(default_factory=list)


def _declared(conf: Path) -> dict[str, FeatureConfig]:
    """Features from every conf/features/*.yaml file, typed as the schema types them."""
    from omegaconf import OmegaConf

    out: dict[str, FeatureConfig] = {}
    for path in sorted((conf / "features").glob("*.yaml")):
        merged = OmegaConf.merge(OmegaConf.structured(FeaturesConfig), OmegaConf.load(path))
        typed = OmegaConf.to_object(merged)
        assert isinstance(typed, FeaturesConfig)
        out.update(typed.definitions)
    return out


def _row(name: str, feature: FeatureConfig) -> FeatureRow:
    definition = {k: v for k, v in asdict(feature).items() if v not in (None, "", [])}
    return FeatureRow(name, feature.kind, describe(definition), feature.description)


def feature_catalog(project: Path) -> list[FeatureRow]:
    conf = conf_dir(project)
    rows: dict[tuple[str, str], FeatureRow] = {}
    for name, feature in _declared(conf).items():
        row = _row(name, feature)
        rows.setdefault((name, row.definition), row)
    for path in sorted((conf / "experiment").glob("*.yaml")):
        cfg = compose(project, [f"+experiment={path.stem}"])
        for name, feature in cfg.features.definitions.items():
            row = _row(name, feature)
            rows.setdefault((name, row.definition), row).experiments.append(path.stem)
    return sorted(rows.values(), key=lambda r: (r.name, r.definition))
