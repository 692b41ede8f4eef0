"""`assess`: every check of one model on one batch of current rows, as data."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mlplat.core import bounds
from mlplat.core.config.ops import MonitoringConfig, SloConfig
from mlplat.core.errors import ConfigError, DataValidationError
from mlplat.core.features import raw_columns
from mlplat.core.invariants import Rules
from mlplat.stages.monitor import drift, invariants
from mlplat.stages.monitor.checks import Check
from mlplat.stages.monitor.current import LOGGED

if TYPE_CHECKING:
    import pandas as pd

    from mlplat.core.bundle import Bundle

SUMMARY_VERSION = "mlplat-monitor/1"  # the layout of summary.json


@dataclass(frozen=True)
class MonitoredModel:
    """The bundle judged; `uri` and `version`: how it was named (None until resolved from one)."""

    model_name: str | None
    created_at: str | None
    run_id: str | None
    bundle_sha256: str
    uri: str | None = None
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        shape = asdict(self)
        if self.uri is None:  # judged from a bundle alone: summary.json names no reference
            return {k: v for k, v in shape.items() if k not in ("uri", "version")}
        return shape


@dataclass(frozen=True)
class Assessment:
    model: MonitoredModel
    rows: int
    features: list[drift.FeatureDrift]  # sorted by severity, worst first; prediction included
    checks: list[Check]  # every check, worst first
    notes: list[str] = field(default_factory=list)

    @property
    def breaches(self) -> list[Check]:
        return [c for c in self.checks if c.breached]

    @property
    def healthy(self) -> bool:
        return not self.breaches

    def summary(self) -> dict[str, Any]:
        return {
            "version": SUMMARY_VERSION,
            "healthy": self.healthy,
            "model": self.model.to_json(),
            "rows": self.rows,
            "breaches": [c.line() for c in self.breaches],
            "notes": self.notes,
            "checks": [c.as_dict() for c in self.checks],
            "features": [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "severity": f.severity,
                    "labels": f.labels,
                    "reference": f.reference,
                    "current": f.current,
                }
                for f in self.features
            ],
        }


def _require_columns(frame: pd.DataFrame, spec: dict[str, Any]) -> None:
    absent = [c for c in raw_columns(spec) if c not in frame.columns]
    if absent:
        raise DataValidationError(
            f"the current data lacks column(s) the model reads: {', '.join(absent)}"
        )


def _present(frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, int]:
    return {
        f["name"]: int(frame[f["column"]].notna().sum())
        for f in spec["features"]
        if f["kind"] == "category"
    }


def _alpha(cfg: MonitoringConfig, tests: int) -> float:
    if not 0.0 < cfg.confidence < 1.0:
        raise ConfigError(
            f"monitoring.confidence must be between 0 and 1, not {cfg.confidence}",
            key="monitoring.confidence",
        )
    return bounds.family_alpha(cfg.confidence, tests)


def assess(
    bundle: Bundle,
    frame: pd.DataFrame,
    cfg: MonitoringConfig,
    slo: SloConfig,
    rules: Rules,
    now: dt.datetime | None = None,
    bench: tuple[dict[str, float] | None, dict[str, float] | None] = (None, None),
) -> Assessment:
    """`bench`: the latest bench figures of this model and of the previous champion."""
    import numpy as np

    _require_columns(frame, bundle.feature_spec)
    matrix = bundle.features(frame)
    predictions = np.asarray(bundle.booster.predict(matrix))
    alpha = _alpha(cfg, len(bundle.profile["features"]) + 1)  # every feature and the prediction
    present = _present(frame, bundle.feature_spec)
    features = drift.feature_drift(bundle.feature_spec, bundle.profile, matrix, present, cfg, alpha)
    features.append(drift.prediction_drift(bundle.profile["prediction"], predictions, cfg, alpha))
    checks = [c for f in features for c in f.checks]
    checks.append(invariants.schema_checks(frame, bundle.schema, cfg))
    found, missing_profile = invariants.learned_checks(bundle.profile, frame, rules)
    checks.extend(found)
    if LOGGED in frame.columns:
        checks.append(invariants.prediction_skew(frame[LOGGED], predictions))
    checks.append(invariants.staleness_check(bundle.metadata, cfg, now or dt.datetime.now(dt.UTC)))
    checks.extend(invariants.performance_checks(*bench, slo, cfg))
    notes = [missing_profile] if missing_profile else []
    if len(frame) < cfg.min_rows:
        notes.append(f"only {len(frame)} current rows (min_rows {cfg.min_rows}): tests are weak")
    return Assessment(
        model=MonitoredModel(
            bundle.metadata.get("model_name"),
            bundle.metadata.get("created_at"),
            bundle.metadata.get("run_id"),
            bundle.sha256,
        ),
        rows=len(frame),
        features=sorted(features, key=lambda f: -f.severity),
        checks=sorted(checks, key=lambda c: (-c.severity, c.group, c.name, c.feature)),
        notes=notes,
    )
