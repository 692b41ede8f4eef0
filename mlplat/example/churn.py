"""A seeded generator of a realistic telco churn table.

Regions and plans churn differently on purpose (south + premium churns far more than average), so
segment metrics, gates and weak-segment discovery have something real to find.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

REGIONS = ("north", "south", "east", "west", "central")
PLANS = ("basic", "standard", "premium", "unlimited")
CONTRACTS = ("month_to_month", "one_year", "two_year")
PAYMENTS = ("card", "bank_transfer", "electronic_check", "mailed_check")
PLAN_PRICE = {"basic": 25.0, "standard": 45.0, "premium": 70.0, "unlimited": 95.0}


def _logit(
    contract: Any,
    support: Any,
    dropped: Any,
    tenure_months: Any,
    payment: Any,
    region: Any,
    plan: Any,
    usage: Any,
) -> Any:
    """Churn's log-odds, deliberately not linear: it spikes in the first months, after a third
    support call, for heavy users on the basic plan (and, in `generate`, at both ends of the age
    range). A logit-linear table lets a linear baseline match the boosted model, so the demo's
    lift gate would have nothing honest to show."""
    return (
        -3.8
        + 1.4 * (contract == "month_to_month")
        - 0.8 * (contract == "two_year")
        + 1.6 * (tenure_months < 8)
        + 1.8 * (support >= 3)
        + 0.25 * dropped
        - 0.01 * tenure_months
        + 0.5 * (payment == "electronic_check")
        + 1.6 * ((region == "south") & (plan == "premium"))
        - 0.6 * ((region == "east") & (plan == "basic"))
        + 1.2 * ((usage > 18) & (plan == "basic"))
    )


def generate(rows: int = 30_000, seed: int = 7) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, rows, p=[0.25, 0.2, 0.2, 0.2, 0.15])
    plan = rng.choice(PLANS, rows, p=[0.35, 0.3, 0.2, 0.15])
    contract = rng.choice(CONTRACTS, rows, p=[0.55, 0.25, 0.2])
    payment = rng.choice(PAYMENTS, rows)
    signup = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 2000, rows), unit="D")
    tenure_months = ((pd.Timestamp("2024-07-01") - signup).days / 30.44).to_numpy()
    price = np.vectorize(PLAN_PRICE.get)(plan) * rng.normal(1.0, 0.08, rows)
    lines = rng.integers(1, 6, rows)
    monthly = np.round(price + 8.0 * (lines - 1), 2)
    total = np.round(monthly * tenure_months * rng.normal(1.0, 0.05, rows), 2)
    usage = np.round(rng.gamma(2.0, 6.0, rows) * (1 + (plan == "unlimited")), 2)
    support = rng.poisson(1.2 + 1.5 * (region == "south"), rows)
    dropped = rng.poisson(0.8, rows)
    age = rng.integers(18, 86, rows).astype(float)
    logit = _logit(contract, support, dropped, tenure_months, payment, region, plan, usage)
    logit = logit + 0.01 * (monthly - 50) + 0.0025 * (age - 50) ** 2
    churn = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    total[tenure_months < 1.5] = np.nan  # new customers have no bill yet
    usage[rng.random(rows) < 0.05] = np.nan
    age[rng.random(rows) < 0.03] = np.nan
    return pd.DataFrame(
        {
            "customer_id": np.arange(100_000, 100_000 + rows),
            "signup_date": signup.strftime("%Y-%m-%d"),
            "region": region,
            "plan": plan,
            "contract": contract,
            "payment_method": payment,
            "num_lines": lines,
            "monthly_charges": monthly,
            "total_charges": total,
            "data_usage_gb": usage,
            "support_calls": support,
            "dropped_calls": dropped,
            "age": age,
            "paperless_billing": rng.random(rows) < 0.6,
            "churn": churn,
        }
    )


def write(path: str | Path, rows: int = 30_000, seed: int = 7) -> Path:
    from mlplat.core.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        generate(rows, seed).to_csv(tmp, index=False, lineterminator="\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", default="data/churn.csv")
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(write(args.path, args.rows, args.seed))


if __name__ == "__main__":
    main()
