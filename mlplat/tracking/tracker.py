"""The one door to MLflow: a `Tracker` names a tracking store once and is passed explicitly.

Every module that reads or writes runs, logged models or the registry takes a Tracker and uses
its `client` (MLflow's `MlflowClient` for that store) or its methods; outside `mlplat.tracking`
no module imports mlflow (import-linter holds that), and only `activate` sets MLflow's
process-global tracking URI, which its fluent API (the active run, `log_model`) needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import tracking_store
from mlplat.serving.source import RegistryStore

if TYPE_CHECKING:
    from mlplat.core.model_ref import ModelRef


@dataclass(frozen=True)
class Tracker(RegistryStore):
    """A tracking store and its registry: serving's lazy registry reader (client, error type,
    missing resources, downloads), with runs, experiments and MLflow's fluent API on top."""

    @classmethod
    def of(cls, project: Path, declared: str | None = None) -> Tracker:
        """The declared store (`tracking.uri`), else $MLFLOW_TRACKING_URI, else the project's
        embedded sqlite store."""
        return cls(declared or tracking_store.default_uri(project))

    def activate(self) -> Tracker:
        """Point MLflow's fluent API (the active run, `log_model`, `register_model`) at this
        store: the only `set_tracking_uri` in mlplat."""
        import mlflow

        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        mlflow.set_tracking_uri(self.uri)
        return self

    def version(self, ref: ModelRef) -> Any | None:
        """The model version `ref` points at now, None when the name, alias or version does
        not exist (other store errors pass through)."""
        try:
            return ref.lookup(self.client)
        except self.error as exc:
            if self.missing(exc):
                return None
            raise

    def experiment_id(self, name: str) -> str:
        """The experiment `name`, created if it does not exist yet (or by a racing process)."""
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(self.client.create_experiment(name))
        except self.error:
            again = self.client.get_experiment_by_name(name)
            if again is None:
                raise
            return str(again.experiment_id)

    @contextmanager
    def side_run(
        self, experiment: str, name: str, tags: dict[str, str] | None = None
    ) -> Iterator[str]:
        """A run of its own in `experiment` (monitoring, the ML Test Score, storage), ended
        FINISHED, or FAILED by any error; yields its id. It is never the active run, so it can
        be written while a pipeline run is active."""
        run = self.client.create_run(self.experiment_id(experiment), run_name=name, tags=tags)
        run_id = str(run.info.run_id)
        try:
            yield run_id
        except BaseException:
            self.client.set_terminated(run_id, "FAILED")
            raise
        self.client.set_terminated(run_id, "FINISHED")
