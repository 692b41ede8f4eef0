"""Public data sets that ship inside Python packages, shaped as a new user would bring them.

Each case is a CSV a user could hand to `mlplat init --data FILE --target COL`: scikit-learn's
bundled loaders (no download) and statsmodels' bundled data sets. Where a set lacks a shape the
issue asks us to cover (R-style dotted names, Yes/No labels, missing values), the change is
small, seeded and named in `note`, so a failure reads as "mlplat on this kind of data".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlplat.core.metric_names import PRIMARY


@dataclass(frozen=True)
class Case:
    name: str
    frame: pd.DataFrame
    target: str
    task: str
    positive_class: str | None = None
    note: str = ""
    date_column: str | None = None

    @property
    def primary(self) -> str:
        return PRIMARY[self.task]


def _holes(frame: pd.DataFrame, columns: list[str], share: float, seed: int) -> pd.DataFrame:
    """Blank a seeded share of the values of `columns` (missing values in features)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for column in columns:
        out.loc[rng.random(len(out)) < share, column] = np.nan
    return out


def _sklearn(loader: Callable[..., object], target: str, labels: bool) -> pd.DataFrame:
    bunch = loader(as_frame=True)
    frame = bunch.frame.rename(columns={"target": target})  # type: ignore[attr-defined]
    if labels:  # the class names, as strings, the way a CSV export would hold them
        names = np.asarray(bunch.target_names)  # type: ignore[attr-defined]
        frame[target] = names[frame[target].to_numpy()]
    return frame


def breast_cancer() -> Case:
    from sklearn.datasets import load_breast_cancer

    frame = _holes(
        _sklearn(load_breast_cancer, "diagnosis", True), ["mean area", "worst area"], 0.05, 1
    )
    return Case(
        "breast_cancer",
        frame,
        "diagnosis",
        "binary",
        positive_class="malignant",  # no conventional name: the minority class
        note="string labels, column names with spaces, 5% missing in two features",
    )


def iris() -> Case:
    from sklearn.datasets import load_iris

    return Case("iris", _sklearn(load_iris, "species", True), "species", "multiclass")


def wine() -> Case:
    from sklearn.datasets import load_wine

    return Case("wine", _sklearn(load_wine, "cultivar", True), "cultivar", "multiclass")


def digits() -> Case:
    from sklearn.datasets import load_digits

    return Case(
        "digits",
        _sklearn(load_digits, "Digit", False),
        "Digit",
        "multiclass",
        note="64 columns, ten integer classes, a capitalised target",
    )


def diabetes() -> Case:
    from sklearn.datasets import load_diabetes

    return Case(
        "diabetes", _sklearn(load_diabetes, "progression", False), "progression", "regression"
    )


def anes96() -> Case:
    from statsmodels.datasets import anes96 as data

    frame = data.load_pandas().data
    frame["vote"] = frame["vote"].astype(int)
    return Case(
        "anes96",
        frame,
        "vote",
        "binary",
        positive_class="1",
        note="0/1 target, capitalised column names (TVnews, PID, ClinLR)",
    )


def fair() -> Case:
    from statsmodels.datasets import fair as data

    frame = data.load_pandas().data
    frame["Affair"] = np.where(frame.pop("affairs") > 0, "Yes", "No")
    frame = frame.rename(columns={"yrs_married": "yrs.married", "rate_marriage": "Rate.Marriage"})
    return Case(
        "fair",
        frame,
        "Affair",
        "binary",
        positive_class="Yes",
        note="Yes/No target, R-style dotted and capitalised names",
    )


def co2() -> Case:
    from statsmodels.datasets import co2 as data

    frame = data.load_pandas().data.rename_axis("date").reset_index()
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    return Case(
        "co2",
        frame,
        "co2",
        "regression",
        date_column="date",
        note="weekly dates, 59 rows with a missing target",
    )


def macrodata() -> Case:
    from statsmodels.datasets import macrodata as data

    frame = data.load_pandas().data
    quarters = pd.PeriodIndex.from_fields(
        year=frame.pop("year").astype(int), quarter=frame.pop("quarter").astype(int), freq="Q"
    )
    frame.insert(0, "Date", quarters.start_time.strftime("%Y-%m-%d"))
    return Case(
        "macrodata",
        frame,
        "infl",
        "regression",
        date_column="Date",
        note="203 quarterly rows: small data with a date column",
    )


CASES: tuple[Callable[[], Case], ...] = (
    breast_cancer,
    iris,
    wine,
    digits,
    diabetes,
    anes96,
    fair,
    co2,
    macrodata,
)
