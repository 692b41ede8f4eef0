"""Target encoding shared by training and evaluation: multiclass labels map to 0..k-1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def encode_target(target: dict[str, Any], values: pd.Series) -> np.ndarray:
    import numpy as np

    if target["task"] == "multiclass":
        codes = {c: i for i, c in enumerate(target["classes"])}
        return values.astype("string").map(codes).to_numpy(dtype="float64", na_value=np.nan)
    return values.to_numpy(dtype="float64")
