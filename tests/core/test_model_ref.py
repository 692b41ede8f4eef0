"""`models:/` references: one parser for serving, images, monitoring, sizing and bench."""

from __future__ import annotations

import pytest

from mlplat.core.errors import ConfigError
from mlplat.core.model_ref import ModelRef, is_registry


@pytest.mark.parametrize(
    ("uri", "ref"),
    [
        ("models:/telco-churn-lgbm@champion", ModelRef("telco-churn-lgbm", alias="champion")),
        ("models:/telco-churn-lgbm/12", ModelRef("telco-churn-lgbm", version="12")),
        ("models:/a_b@shadow-2", ModelRef("a_b", alias="shadow-2")),
    ],
)
def test_a_reference_parses_and_prints_back(uri: str, ref: ModelRef) -> None:
    assert ModelRef.parse(uri) == ref and str(ref) == uri and is_registry(uri)


@pytest.mark.parametrize(
    "uri", ["models:/", "models:/name", "models:/name/latest", "models:/a/b/1", "models:/n@"]
)
def test_a_malformed_reference_is_a_usage_error_naming_the_option(uri: str) -> None:
    with pytest.raises(ConfigError, match="is not models:/NAME@ALIAS or models:/NAME/VERSION") as e:
        ModelRef.parse(uri, key="--model")
    assert e.value.exit_code == 2 and e.value.key == "--model"


def test_a_bundle_directory_is_not_a_registry_reference() -> None:
    assert not is_registry("artifacts/churn_baseline/bundle")
