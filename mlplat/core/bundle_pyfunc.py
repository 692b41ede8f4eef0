"""MLflow models-from-code entry point: MLflow stores this file and the bundle, never a pickle.

`mlflow.pyfunc.load_model(uri)` executes this file, which hands MLflow a model that loads the
bundle from the logged artifacts and accepts the raw input columns.
"""

from __future__ import annotations

from typing import Any

from mlflow.models import set_model
from mlflow.pyfunc import PythonModel


class BundleModel(PythonModel):
    def load_context(self, context: Any) -> None:
        from mlplat.core.bundle import load_bundle

        self.bundle = load_bundle(context.artifacts["bundle"])

    # No type hints on predict: MLflow would try to derive a signature from them.
    def predict(self, context, model_input, params=None):
        import pandas as pd

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.bundle.predict(frame)


set_model(BundleModel())
