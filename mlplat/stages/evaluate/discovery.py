"""Weak-segment discovery: single-column slices where the model does significantly worse.

The approach is SliceFinder's (Chung et al., "Automated Data Slicing for Model Validation", 2019):
compare the per-row loss inside a slice with the rest of the holdout by Welch's t-test, keep only
slices whose effect size is large enough to matter, and control the false discovery rate over all
slices tested (Benjamini-Hochberg), so scanning many slices does not turn noise into findings.
Slices are every value of a low-cardinality column and quantile bins of numeric columns.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from mlplat.stages.evaluate import fast
from mlplat.stages.evaluate.segments import slug

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlplat.core.config.validation import DiscoveryConfig

NEGLIGIBLE = 1e-9  # a loss spread this small relative to the loss itself is rounding

Candidate = tuple[str, str, str, "np.ndarray"]  # (name, column, description, mask)


def _is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def _quantile_slices(series: pd.Series, column: str, bins: int) -> list[Candidate]:
    import pandas as pd

    binned = pd.qcut(series, q=bins, duplicates="drop")
    out = []
    for i, interval in enumerate(binned.cat.categories):
        mask = (binned == interval).fillna(False).to_numpy(dtype=bool)
        text = f"{interval.left:.4g} < {column} <= {interval.right:.4g}"
        out.append((f"{column}.q{i + 1}", column, text, mask))
    return out


def candidates(frame: pd.DataFrame, columns: list[str], config: DiscoveryConfig) -> list[Candidate]:
    """Every single-column slice to test: values of categoricals, quantile bins of numerics."""
    out: list[Candidate] = []
    for column in columns:
        series = frame[column]
        distinct = series.nunique(dropna=True)
        if _is_numeric(series) and distinct > config.quantile_bins:
            out.extend(_quantile_slices(series, column, config.quantile_bins))
        elif distinct <= config.max_categories:
            keys = series.astype("string")
            for value in sorted(keys.dropna().unique()):
                mask = (keys == value).fillna(False).to_numpy(dtype=bool)
                out.append((f"{column}.{slug(value)}", column, f"{column} == {value}", mask))
        if series.isna().any():
            out.append(
                (f"{column}.missing", column, f"{column} is missing", series.isna().to_numpy())
            )
    return out


def _test(loss: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """One-sided Welch t-test (slice loss greater than the rest) and Cohen's d."""
    import numpy as np
    from scipy import stats

    inside, outside = loss[mask], loss[~mask]
    pooled = np.sqrt((inside.var(ddof=1) + outside.var(ddof=1)) / 2.0)
    if pooled <= NEGLIGIBLE * max(abs(inside.mean()), abs(outside.mean()), 1.0):
        # (nearly) equal losses, e.g. one prediction for every row: rounding noise, not
        # evidence; the t-test would call it significant and scipy warn on the console
        return 1.0, 0.0
    effect = float((inside.mean() - outside.mean()) / pooled)
    with warnings.catch_warnings():
        # one side of equal losses (a slice with one prediction) is valid for Welch's test;
        # scipy still warns about it, on the user's console
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        result = stats.ttest_ind(inside, outside, equal_var=False, alternative="greater")
    return float(result.pvalue), effect


def scan(
    frame: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    task: str,
    threshold: float,
    columns: list[str],
    config: DiscoveryConfig,
) -> dict[str, Any]:
    """Slices flagged as weak (sorted by effect size) and how many slices were tested."""
    import numpy as np
    from scipy import stats

    if not config.enabled:
        return {"tested": 0, "weak": []}
    loss = fast.row_loss(task, y, p)
    tested = [
        c
        for c in candidates(frame, columns, config)
        if config.min_support <= int(c[3].sum()) <= len(y) - 2
    ]
    if not tested:
        return {"tested": 0, "weak": []}
    results = [_test(loss, mask) for *_, mask in tested]
    raw = np.nan_to_num(np.asarray([r[0] for r in results]), nan=1.0)
    adjusted = stats.false_discovery_control(raw, method="bh")
    weak = []
    for (name, column, text, mask), (pvalue, effect), padj in zip(
        tested, results, adjusted, strict=True
    ):
        if padj < config.alpha and effect >= config.min_effect_size:
            weak.append(
                {
                    "segment": name,
                    "column": column,
                    "slice": text,
                    "support": int(mask.sum()),
                    "mean_loss": float(loss[mask].mean()),
                    "rest_loss": float(loss[~mask].mean()),
                    "effect_size": effect,
                    "p_value": pvalue,
                    "p_adjusted": float(padj),
                    "metrics": fast.compute(task, y[mask], p[mask], threshold),
                }
            )
    return {"tested": len(tested), "weak": sorted(weak, key=lambda w: -w["effect_size"])}
