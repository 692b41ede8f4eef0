"""MLflow models-from-code entry point: MLflow stores this file and the bundle, never a pickle.

`mlflow.pyfunc.load_model(uri)` executes this file, which hands MLflow a model that loads the
bundle from the logged artifacts and accepts the raw input columns.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel


class BundleModel(PythonModel):
    def load_context(self, context: Any) -> None:
        from mlplat.core.bundle import load_bundle

        self.bundle = load_bundle(context.artifacts["bundle"])

    # A DataFrame hint is one MLflow derives no signature from and validates nothing by (the
    # bundle validates its own inputs); without any hint MLflow warns on every log_model.
    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.bundle.predict(frame)


set_model(BundleModel())
