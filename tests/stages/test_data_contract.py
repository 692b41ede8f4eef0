"""conf/schema -> pandera: the compiled schema behaves as the hand-written one, option by option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from omegaconf import OmegaConf

from mlplat.core.config.contract import SchemaConfig
from mlplat.core.errors import ConfigError
from mlplat.stages.validate.contract import compile_schema
from mlplat.stages.validate.validate import validate_frame
from tests.conftest import REPO


def schema_from(tree: dict[str, Any] | Path) -> SchemaConfig:
    """Typed exactly as Hydra types conf/schema/*.yaml (unknown keys and bad types fail)."""
    loaded = OmegaConf.load(tree) if isinstance(tree, Path) else OmegaConf.create(tree)
    typed = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(SchemaConfig), loaded))
    assert isinstance(typed, SchemaConfig)
    return typed


def outcome(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> set[tuple[str, ...]]:
    """What failed, independent of the schema's name: (context, column, check, case, row)."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        column = cases["column"].where(cases["schema_context"] == "Column", None)
        keys = pd.DataFrame(
            {
                "ctx": cases["schema_context"],
                "column": column,
                "check": cases["check"],
                "case": cases["failure_case"],
                "row": cases["index"],
            }
        )
        return {
            tuple("-" if pd.isna(v) else str(v) for v in row)
            for row in keys.astype(object).itertuples(index=False)
        }
    return set()


# ---------------------------------------------------------------- the KYC example, issue text
KYC = schema_from(REPO / "conf" / "schema" / "kyc.yaml")
KYC_BY_HAND = pa.DataFrameSchema(
    {
        "Id": pa.Column(int, nullable=False),
        "BVN": pa.Column("boolean", nullable=True, required=False, coerce=True),
        "IdentificationType": pa.Column(
            str, pa.Check.isin(["NIN", "Passport", "Driver's license"])
        ),
        "Nationality": pa.Column(str, pa.Check.isin(["NG", "GH", "UG", "SA"])),
        "DateOfBirth": pa.Column(
            pa.DateTime, pa.Check.le(pd.Timestamp("2000-01-01")), nullable=True, coerce=True
        ),
        ".*_Risk": pa.Column(float, coerce=True, regex=True),
    },
    strict=True,
    ordered=True,
)


def kyc_good() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Id": [1, 2, 3, 4],
            "BVN": pd.array([True, None, False, True], dtype="boolean"),
            "IdentificationType": ["NIN", "Passport", "Driver's license", "NIN"],
            "Nationality": ["NG", "GH", "UG", "SA"],
            "DateOfBirth": ["1980-01-02", None, "1999-12-31", "2000-01-01"],
            "Credit_Risk": ["0.1", "2", "3.5", "1e-3"],  # strings that coerce to float
            "Fraud_Risk": [1, 2, 3, 4],
        }
    )


KYC_FRAMES = {
    "good": kyc_good,
    "bvn_absent": lambda: kyc_good().drop(columns="BVN"),
    "bvn_as_csv_reads_it": lambda: kyc_good().assign(BVN=[True, None, False, True]),  # object dtype
    "bvn_not_bool": lambda: kyc_good().assign(BVN=["yes", None, False, True]),
    "null_id": lambda: kyc_good().assign(Id=[1, None, 3, 4]),
    "float_id": lambda: kyc_good().assign(Id=[1.5, 2, 3, 4]),
    "unknown_id_type": lambda: kyc_good().assign(IdentificationType=["NIN", "Visa", "NIN", "NIN"]),
    "unknown_nationality": lambda: kyc_good().assign(Nationality=["NG", "US", "GH", "FR"]),
    "born_after_2000": lambda: kyc_good().assign(
        DateOfBirth=["2001-05-05", None, "1990-01-01", None]
    ),
    "risk_not_float": lambda: kyc_good().assign(Credit_Risk=["low", "2", "3", "4"]),
    "undeclared_column": lambda: kyc_good().assign(Comment="x"),
    "missing_column": lambda: kyc_good().drop(columns="Nationality"),
    "out_of_order": lambda: kyc_good()[
        ["Nationality", *[c for c in kyc_good() if c != "Nationality"]]
    ],
    "many_at_once": lambda: kyc_good().assign(
        Id=[1, None, 3, 4], Nationality=["XX", "NG", "GH", "SA"], Extra=0
    ),
}


@pytest.mark.parametrize("case", [pytest.param(k, id=k) for k in KYC_FRAMES])
def test_kyc_yaml_behaves_like_hand_written_pandera(case: str) -> None:
    frame = KYC_FRAMES[case]()
    compiled = outcome(compile_schema(KYC), frame)
    assert compiled == outcome(KYC_BY_HAND, frame)
    assert bool(compiled) == (case not in ("good", "bvn_absent", "bvn_as_csv_reads_it"))


def test_kyc_report_names_each_offending_column() -> None:
    report, _ = validate_frame(KYC_FRAMES["many_at_once"](), KYC)
    blamed = {(f["column"], f["check"]) for f in report["failures"]}
    assert ("Id", "not_nullable") in blamed
    assert any(c == "Nationality" and k.startswith("isin") for c, k in blamed)
    assert ("Extra", "column_in_schema") in blamed
    risk, _ = validate_frame(KYC_FRAMES["risk_not_float"](), KYC)
    assert {f["column"] for f in risk["failures"]} == {"Credit_Risk"}  # not the pattern '.*_Risk'
    null_id = next(f for f in report["failures"] if f["check"] == "not_nullable")
    assert null_id["rows"] == [1] and null_id["failing_rows"] == 1


# ---------------------------------------------------------------- each option and check
def one_column(spec: dict[str, Any], **frame_level: Any) -> SchemaConfig:
    return schema_from({"name": "t", "columns": {"x": spec}, **frame_level})


def failed(
    schema: SchemaConfig, frame: pd.DataFrame, target: str | None = None
) -> set[tuple[str, str]]:
    report, validated = validate_frame(frame, schema, target)
    assert (validated is None) == (not report["valid"])
    return {(f["column"], f["check"].split("(")[0]) for f in report["failures"]}


X = "x"
CASES = [
    # (column spec, good values, bad values, expected failing check)
    ({"dtype": "int"}, [1, 2], [1.5, 2.0], "dtype"),
    ({"dtype": "float"}, [1.5, 2.0], ["a", "b"], "dtype"),
    ({"dtype": "bool"}, [True, False], [1, 0], "dtype"),
    ({"dtype": "str"}, ["a", "b"], [1, 2], "dtype"),
    ({"dtype": "category", "coerce": True}, ["a", "b"], None, None),
    (
        {"dtype": "datetime"},
        ["2020-01-01", "2021-02-03"],
        ["2020-01-01", "not a date"],
        "coerce_dtype",
    ),
    ({"dtype": "int", "coerce": True}, ["1", "2"], ["1", "x"], "coerce_dtype"),
    ({"dtype": "int", "nullable": True}, [1, None], [1.5, None], "coerce_dtype"),
    ({"dtype": "bool", "nullable": True}, [True, None], ["maybe", None], "coerce_dtype"),
    ({"dtype": "float", "nullable": False}, [1.0, 2.0], [1.0, float("nan")], "not_nullable"),
    ({"dtype": "int", "unique": True}, [1, 2], [1, 1], "field_uniqueness"),
    ({"dtype": "str", "isin": ["a", "b"]}, ["a", "b"], ["a", "c"], "isin"),
    ({"dtype": "str", "notin": ["bad"]}, ["a", "b"], ["a", "bad"], "notin"),
    ({"dtype": "int", "ge": 0}, [0, 1], [-1, 1], "greater_than_or_equal_to"),
    ({"dtype": "int", "gt": 0}, [1, 2], [0, 1], "greater_than"),
    ({"dtype": "int", "le": 5}, [5, 1], [6, 1], "less_than_or_equal_to"),
    ({"dtype": "int", "lt": 5}, [4, 1], [5, 1], "less_than"),
    ({"dtype": "float", "between": [0, 1]}, [0.0, 1.0], [0.5, 1.5], "in_range"),
    (
        {"dtype": "str", "str_matches": r"^[A-Z]{2}\d{3}$"},
        ["AB123", "ZZ999"],
        ["AB12", "ab123"],
        "str_matches",
    ),
    (
        {"dtype": "str", "str_length": {"min": 2, "max": 3}},
        ["ab", "abc"],
        ["a", "abcd"],
        "str_length",
    ),
    (
        {"dtype": "datetime", "le": "2000-01-01"},
        ["1999-12-31", "2000-01-01"],
        ["2000-01-02", "1990-01-01"],
        "less_than_or_equal_to",
    ),
    (
        {"dtype": "datetime", "between": ["2020-01-01", "2020-12-31"]},
        ["2020-06-01", "2020-01-01"],
        ["2019-12-31", "2020-02-02"],
        "in_range",
    ),
    ({"dtype": "str", "min_distinct": 2}, ["a", "b"], ["a", "a"], "min_distinct"),
]


@pytest.mark.parametrize(
    ("spec", "good", "bad", "check"),
    [
        pytest.param(
            *c, id=f"{i:02d}-{'-'.join(k for k in c[0] if k != 'dtype') or 'dtype'}-{c[0]['dtype']}"
        )
        for i, c in enumerate(CASES)
    ],
)
def test_column_option(
    spec: dict[str, Any], good: list[Any], bad: list[Any] | None, check: str | None
) -> None:
    schema = one_column(spec)
    assert failed(schema, pd.DataFrame({X: good})) == set()
    if bad is not None:
        if check is None:
            assert failed(schema, pd.DataFrame({X: bad})) == set()
        else:
            assert (X, check) in failed(schema, pd.DataFrame({X: bad}))


def test_nullable_float_column_is_still_caught_by_not_nullable() -> None:
    assert (X, "not_nullable") in failed(
        one_column({"dtype": "float"}), pd.DataFrame({X: [1.0, None]})
    )


def test_required_false_lets_the_column_be_absent_but_checks_it_when_present() -> None:
    schema = schema_from(
        {"columns": {"a": {"dtype": "int"}, "b": {"dtype": "int", "required": False, "ge": 0}}}
    )
    assert failed(schema, pd.DataFrame({"a": [1]})) == set()
    assert ("b", "greater_than_or_equal_to") in failed(schema, pd.DataFrame({"a": [1], "b": [-1]}))
    assert ("a", "column_in_dataframe") in failed(schema, pd.DataFrame({"b": [1]}))


def test_regex_column_names_apply_to_every_match() -> None:
    schema = schema_from({"columns": {".*_risk": {"dtype": "float", "regex": True, "le": 1}}})
    frame = pd.DataFrame({"credit_risk": [0.5], "fraud_risk": [2.0], "other": ["x"]})
    assert failed(schema, frame) == {("fraud_risk", "less_than_or_equal_to")}
    assert ("credit_risk", "dtype") in failed(schema, frame.assign(credit_risk=["high"]))


def test_strict_rejects_undeclared_columns_only_when_set() -> None:
    frame = pd.DataFrame({"a": [1], "sneaky": [2]})
    lenient = schema_from({"columns": {"a": {"dtype": "int"}}})
    strict = schema_from({"columns": {"a": {"dtype": "int"}}, "strict": True})
    assert failed(lenient, frame) == set()
    assert failed(strict, frame) == {("sneaky", "column_in_schema")}


def test_ordered_requires_declared_order_only_when_set() -> None:
    columns = {"a": {"dtype": "int"}, "b": {"dtype": "int"}}
    frame = pd.DataFrame({"b": [1], "a": [2]})
    assert failed(schema_from({"columns": columns}), frame) == set()
    blamed = failed(schema_from({"columns": columns, "ordered": True}), frame)
    assert blamed and {check for _, check in blamed} == {"column_ordered"}
    assert {column for column, _ in blamed} <= {"a", "b"}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(2, {("<frame>", "min_rows")}, id="too-few"),
        pytest.param(4, set(), id="in-bounds"),
        pytest.param(6, {("<frame>", "max_rows")}, id="too-many"),
    ],
)
def test_min_and_max_rows(rows: int, expected: set[tuple[str, str]]) -> None:
    schema = schema_from({"columns": {"a": {"dtype": "int"}}, "min_rows": 3, "max_rows": 5})
    assert failed(schema, pd.DataFrame({"a": range(rows)})) == expected


def test_min_rows_report_says_how_many_rows_there_were() -> None:
    schema = schema_from({"columns": {"a": {"dtype": "int"}}, "min_rows": 3})
    report, _ = validate_frame(pd.DataFrame({"a": [1]}), schema)
    assert report["failures"][0]["examples"] == ["1 rows"]


def test_unique_together_flags_repeated_combinations_and_names_their_columns() -> None:
    schema = schema_from(
        {"columns": {"a": {"dtype": "int"}, "b": {"dtype": "int"}}, "unique_together": [["a", "b"]]}
    )
    assert failed(schema, pd.DataFrame({"a": [1, 1, 2], "b": [1, 2, 1]})) == set()
    report, _ = validate_frame(pd.DataFrame({"a": [1, 1, 2], "b": [1, 1, 1]}), schema)
    assert {(f["column"], f["check"]) for f in report["failures"]} == {
        ("a", "multiple_fields_uniqueness"),
        ("b", "multiple_fields_uniqueness"),
    }
    assert report["failures"][0]["rows"] == [0, 1]


def test_every_unique_together_group_is_checked() -> None:
    columns = {k: {"dtype": "int"} for k in "abcd"}
    schema = schema_from({"columns": columns, "unique_together": [["a", "b"], ["c", "d"]]})
    frame = pd.DataFrame({"a": [1, 1, 2], "b": [1, 1, 3], "c": [5, 6, 5], "d": [7, 8, 7]})
    report, _ = validate_frame(frame, schema)
    found = {(f["column"], f["check"]): f["rows"] for f in report["failures"]}
    assert found == {
        ("a", "multiple_fields_uniqueness"): [0, 1],
        ("b", "multiple_fields_uniqueness"): [0, 1],
        ("c", "unique_together(c, d)"): [0, 2],
        ("d", "unique_together(c, d)"): [0, 2],
    }


def test_min_distinct_report_shows_how_many_values_there_were() -> None:
    report, _ = validate_frame(pd.DataFrame({X: ["a"] * 5}), one_column({"min_distinct": 3}))
    assert report["failures"][0]["examples"] == ["1 distinct value(s)"]


def test_unique_together_of_an_undeclared_column_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nope"):
        compile_schema(
            schema_from({"columns": {"a": {"dtype": "int"}}, "unique_together": [["a", "nope"]]})
        )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param([0, 0, 0, 1], set(), id="25pct-ok"),
        pytest.param([0, 0, 0, 0], {("y", "target_balance")}, id="no-positives"),
        pytest.param([1, 1, 1, 0], {("y", "target_balance")}, id="too-many-positives"),
    ],
)
def test_target_balance_bounds_the_positive_share(target: list[int], expected: set[Any]) -> None:
    schema = schema_from(
        {"columns": {"y": {"dtype": "int"}}, "target_balance": {"min": 0.1, "max": 0.5}}
    )
    assert failed(schema, pd.DataFrame({"y": target}), target="y") == expected


def test_target_balance_report_shows_the_observed_share() -> None:
    schema = schema_from(
        {"columns": {"y": {"dtype": "int"}}, "target_balance": {"min": 0.1, "max": 0.5}}
    )
    report, _ = validate_frame(pd.DataFrame({"y": [1, 1, 1, 0]}), schema, "y")
    assert report["failures"][0]["examples"] == ["positive share 0.7500"]


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        pytest.param({"dtype": "decimal"}, "schema.columns.x.dtype", id="unknown-dtype"),
        pytest.param(
            {"dtype": "int", "between": [1]}, "schema.columns.x.between", id="between-arity"
        ),
    ],
)
def test_bad_declarations_name_their_key(spec: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        compile_schema(one_column(spec))
    assert info.value.key == key


def test_report_is_lazy_and_json_ready() -> None:
    import json

    schema = schema_from(
        {"columns": {"a": {"dtype": "int", "ge": 0}, "b": {"dtype": "str", "isin": ["x"]}}}
    )
    frame = pd.DataFrame(
        {"a": [-1, -2, -3, -4, -5, -6, 1], "b": ["x", "y", "x", "x", "x", "x", "x"]}
    )
    report, _ = validate_frame(frame, schema)
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    by_column = {f["column"]: f for f in report["failures"]}
    assert set(by_column) == {"a", "b"}  # both collected, not only the first
    assert by_column["a"]["failing_rows"] == 6
    assert by_column["a"]["examples"] == [-1, -2, -3, -4, -5] and by_column["a"]["rows"] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert by_column["b"]["rows"] == [1]
