"""`conf/schema/*.yaml` -> a pandera DataFrameSchema that behaves as the hand-written one would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplat.core.config.contract import Unseen
from mlplat.core.errors import ConfigError

if TYPE_CHECKING:
    import pandera.pandas as pa

    from mlplat.core.config.contract import ColumnConfig, SchemaConfig

# declared dtype -> (pandas dtype, nullable pandas dtype)
DTYPES = {
    "int": ("int64", "Int64"),
    "float": ("float64", "float64"),
    "bool": ("bool", "boolean"),
    "str": ("str", "str"),
    "category": ("category", "category"),
    "datetime": ("datetime64[ns]", "datetime64[ns]"),
}


def _bound(value: Any, dtype: str) -> Any:
    """Datetime bounds are written as strings in YAML; compare them as timestamps."""
    if dtype == "datetime" and value is not None:
        import pandas as pd

        return pd.Timestamp(value)
    return value


def _checks(name: str, col: ColumnConfig) -> list[pa.Check]:
    import pandera.pandas as pa

    checks = []
    for op in ("ge", "gt", "le", "lt"):
        value = getattr(col, op)
        if value is not None:
            checks.append(getattr(pa.Check, op)(_bound(value, col.dtype)))
    if col.between is not None:
        if len(col.between) != 2:
            raise ConfigError("'between' takes [low, high]", key=f"schema.columns.{name}.between")
        low, high = (_bound(v, col.dtype) for v in col.between)
        checks.append(pa.Check.in_range(low, high))
    if col.isin is not None and col.unseen == Unseen.reject:  # unknown: features bucket them
        checks.append(pa.Check.isin(list(col.isin)))
    if col.notin is not None:
        checks.append(pa.Check.notin(list(col.notin)))
    if col.str_matches is not None:
        checks.append(pa.Check.str_matches(col.str_matches))
    if col.str_length is not None:
        checks.append(pa.Check.str_length(col.str_length.min, col.str_length.max))
    if col.min_distinct is not None:
        checks.append(
            pa.Check(
                lambda s, n=col.min_distinct: s.nunique() >= n,
                name=f"min_distinct({col.min_distinct})",
            )
        )
    return checks


def _must_coerce(col: ColumnConfig) -> bool:
    """CSV has no datetime type, and pandas reads an int or bool column with blanks as float or
    object: such columns are always converted (a value that cannot convert still fails)."""
    return col.dtype == "datetime" or (col.nullable and col.dtype in ("int", "bool"))


def compile_column(name: str, col: ColumnConfig) -> pa.Column:
    import pandera.pandas as pa

    if col.dtype not in DTYPES:
        raise ConfigError(
            f"unknown dtype '{col.dtype}'; choose one of {', '.join(DTYPES)}",
            key=f"schema.columns.{name}.dtype",
        )
    if col.unseen not in tuple(Unseen):
        raise ConfigError(
            f"unknown unseen policy '{col.unseen}'; choose one of {', '.join(Unseen)}",
            key=f"schema.columns.{name}.unseen",
        )
    strict_dtype, nullable_dtype = DTYPES[col.dtype]
    return pa.Column(
        nullable_dtype if col.nullable else strict_dtype,
        checks=_checks(name, col),
        nullable=col.nullable,
        required=col.required,
        unique=col.unique,
        coerce=col.coerce or _must_coerce(col),
        regex=col.regex,
        description=col.description or None,
    )


def positive_share(frame: Any, target: str) -> float | None:
    """Share of the largest label (1 for a 0/1 target); None when there is no target to count."""
    if target not in frame or frame[target].dropna().empty:
        return None
    values = frame[target].dropna()
    if values.isin([0, 1]).all():  # 0/1 and bool targets: the positive class even when absent
        return float((values == 1).mean())
    return float(values.value_counts(normalize=True).sort_index().iloc[-1])


def _frame_checks(schema: SchemaConfig, target: str | None) -> list[pa.Check]:
    import pandera.pandas as pa

    checks = []
    if schema.min_rows is not None:
        checks.append(
            pa.Check(
                lambda df, n=schema.min_rows: len(df) >= n, name=f"min_rows({schema.min_rows})"
            )
        )
    if schema.max_rows is not None:
        checks.append(
            pa.Check(
                lambda df, n=schema.max_rows: len(df) <= n, name=f"max_rows({schema.max_rows})"
            )
        )
    balance = schema.target_balance
    if balance is not None and target:
        low = balance.min if balance.min is not None else 0.0
        high = balance.max if balance.max is not None else 1.0

        def in_balance(df: Any) -> bool:
            share = positive_share(df, target)
            return share is not None and low <= share <= high

        checks.append(pa.Check(in_balance, name=f"target_balance({target}, {low}, {high})"))
    return checks


def balance_target(check: str) -> str | None:
    """The target column a target_balance check is about (the report blames it, not the frame)."""
    if not check.startswith("target_balance("):
        return None
    return check[len("target_balance(") :].split(",")[0]


def observed(frame: Any, column: str, check: str) -> str | None:
    """What an aggregate check saw, for the report: pandera itself only records `False`."""
    kind = check.split("(")[0]
    if kind in ("min_rows", "max_rows"):
        return f"{len(frame)} rows"
    if kind == "min_distinct" and column in frame:
        return f"{frame[column].nunique()} distinct value(s)"
    if kind == "target_balance":
        share = positive_share(frame, balance_target(check) or "")
        return "no target values" if share is None else f"positive share {share:.4f}"
    return None


UNIQUE_TOGETHER = "unique_together"


def _unique_check(group: list[str]) -> pa.Check:
    import pandera.pandas as pa

    return pa.Check(
        lambda df: ~df.duplicated(subset=group, keep=False),
        name=f"{UNIQUE_TOGETHER}({', '.join(group)})",
    )


def unique_group(check: str) -> list[str] | None:
    """The columns of a `unique_together(a, b)` check, whose failures pandera reports for every
    column of the frame; the report keeps only these."""
    if not check.startswith(f"{UNIQUE_TOGETHER}("):
        return None
    return check[len(UNIQUE_TOGETHER) + 1 : -1].split(", ")


def compile_schema(schema: SchemaConfig, target: str | None = None) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    columns = {name: compile_column(name, col) for name, col in schema.columns.items()}
    for group in schema.unique_together:
        unknown = [c for c in group if c not in columns]
        if unknown:
            raise ConfigError(
                f"unique_together names undeclared column '{unknown[0]}'",
                key="schema.unique_together",
            )
    extra = [_unique_check(list(group)) for group in schema.unique_together[1:]]
    return pa.DataFrameSchema(
        columns=columns,
        checks=_frame_checks(schema, target) + extra,
        strict=schema.strict,
        ordered=schema.ordered,
        # pandera's `unique` holds one combination; any further ones become frame checks.
        unique=list(schema.unique_together[0]) if schema.unique_together else None,
        name=schema.name,
    )
