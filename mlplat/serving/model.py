"""The served model: a verified bundle compiled into validator + fast features + booster.

A `ServedModel` is immutable; a swap replaces the holder's reference in one assignment, so a
request that already took the old model finishes on it while new requests get the new one.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.bundle import load_bundle, verify
from mlplat.core.fastfeatures import compile_spec
from mlplat.core.probe import ProbeError, prediction_problem, probe, sample_columns
from mlplat.serving.validation import Validator, compile_schema

if TYPE_CHECKING:
    import numpy as np

    from mlplat.core.bundle import Bundle
    from mlplat.serving.payloads import Table

SMALL_BATCH = 64  # LightGBM's OpenMP start-up dominates small predictions: one thread is faster


Predict = Callable[["np.ndarray", int], "np.ndarray"]


def make_predict(booster: Any) -> Predict:
    """`Booster.predict` builds a predictor (and deep-copies its parameters) on every call, a
    quarter of a one-row request. Build the two predictors once; the smoke check compares them
    with the public call and the public call is used if they ever differ or the API moved."""
    public: Predict = lambda matrix, threads: booster.predict(matrix, num_threads=threads)  # noqa: E731
    try:
        from lightgbm.basic import _InnerPredictor

        inner = {t: _InnerPredictor.from_booster(booster, {"num_threads": t}) for t in (0, 1)}
        iteration = booster.best_iteration
    except Exception:
        return public

    def fast(matrix: np.ndarray, threads: int) -> np.ndarray:
        return inner[threads].predict(matrix, num_iteration=iteration)  # type: ignore[return-value]

    return fast


class ModelRefusedError(Exception):
    """A new version failed its checks; the old one keeps serving."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ServedModel:
    bundle: Bundle
    version: str  # registry version, or the bundle's sha256 prefix for a bare directory
    validator: Validator
    features: Callable[[Any, int], np.ndarray]
    source: str
    run_id: str | None = None
    predict: Predict | None = None

    @property
    def name(self) -> str:
        return str(self.bundle.metadata.get("model_name") or self.bundle.path.name)

    @functools.cached_property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """The response headers naming what scored a request (built once, sent on every one)."""
        return [(b"x-model-name", self.name.encode()), (b"x-model-version", self.version.encode())]

    @functools.cached_property
    def label_fields(self) -> dict[str, Any]:
        """What names the numbers (a multiclass model's classes in probability order, a binary
        model's positive class and decision threshold), for the online log that labels are
        joined to and the label-free estimate reads."""
        from mlplat.serving.scoring import Target, label_fields

        fields = label_fields(Target.of(self.bundle))
        threshold = self.bundle.metadata.get("threshold")
        if "positive_class" in fields and threshold is not None:
            fields["threshold"] = threshold
        return fields

    def predict_table(self, table: Table) -> tuple[dict[str, list], np.ndarray]:
        """Validate, featurize and predict; returns the typed inputs (for the request log) too."""
        typed = self.validator.validate(table.columns, table.n_rows, table.text)
        return typed, self.predict_matrix(self.features(typed, table.n_rows))

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """The booster on a feature matrix (large requests: featurized in a worker process)."""
        threads = 1 if len(matrix) <= SMALL_BATCH else 0
        if self.predict is None:
            return self.bundle.booster.predict(matrix, num_threads=threads)  # type: ignore[return-value]
        return self.predict(matrix, threads)

    def info(self) -> dict[str, Any]:
        meta = self.bundle.metadata
        return {
            "model_name": self.name,
            "model_version": self.version,
            "run_id": self.run_id or meta.get("run_id"),
            "git_sha": meta.get("git_sha"),
            "bundle_sha256": self.bundle.sha256,
            "source": self.source,
            "task": self.bundle.task,
            "created_at": meta.get("created_at"),
        }


def sample_table(bundle: Bundle) -> Table:
    from mlplat.serving.payloads import Table

    return Table(*sample_columns(bundle.sample))


def with_fast_predict(model: ServedModel) -> ServedModel:
    """Use the prebuilt predictors only if they give the public call's exact outputs."""
    import numpy as np

    fast = make_predict(model.bundle.booster)
    table = sample_table(model.bundle)
    matrix = model.features(
        model.validator.validate(table.columns, table.n_rows, False), table.n_rows
    )
    try:
        same = all(
            np.array_equal(fast(matrix, t), model.bundle.booster.predict(matrix, num_threads=t))
            for t in (0, 1)
        )
    except Exception:
        same = False
    return replace(model, predict=fast) if same else model


def smoke_check(model: ServedModel) -> None:
    """Predict the bundle's own sample rows through the request path (validator, fast features,
    predictor): a model that cannot is never swapped in."""
    table = sample_table(model.bundle)
    if not table.n_rows:
        raise ModelRefusedError("smoke", "the bundle has no sample rows to check the model with")
    try:
        _, predictions = model.predict_table(table)
    except Exception as exc:  # any failure here means the model must not serve
        raise ModelRefusedError("smoke", f"the sample rows could not be scored: {exc}") from exc
    problem = prediction_problem(model.bundle.task, predictions, table.n_rows)
    if problem:
        raise ModelRefusedError("smoke", problem)


def load_model(
    directory: str | Path,
    version: str | None,
    source: str,
    max_rows: int,
    run_id: str | None = None,
) -> ServedModel:
    """Checksums, a child process parsing and scoring the model (LightGBM can abort the process
    that parses a malformed file), then the load here, compile and the smoke prediction: any
    failure raises ModelRefusedError."""
    try:
        verify(directory)
    except Exception as exc:
        raise ModelRefusedError("checksum", f"the bundle at {directory} is invalid: {exc}") from exc
    try:
        probe(directory)
    except ProbeError as exc:
        raise ModelRefusedError("probe", str(exc)) from exc
    try:
        bundle = load_bundle(directory)
    except Exception as exc:  # the files changed since they were checked
        raise ModelRefusedError("checksum", f"the bundle at {directory} is invalid: {exc}") from exc
    try:
        model = ServedModel(
            bundle,
            version or bundle.sha256[:12],
            compile_schema(bundle.schema, max_rows),
            compile_spec(bundle.feature_spec),
            source,
            run_id,
        )
    except Exception as exc:
        raise ModelRefusedError(
            "compile", f"the bundle's schema or feature spec is unusable: {exc}"
        ) from exc
    smoke_check(model)
    return with_fast_predict(model)


@dataclass
class ModelHolder:
    """The current model plus the outcome of the last update attempt (for /version and metrics)."""

    current: ServedModel | None = None
    last_error: dict[str, str] | None = None
    reloads: int = 0
    gone: str | None = None  # why the served version no longer counts (deleted from the registry)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def swap(self, model: ServedModel) -> ServedModel | None:
        with self._lock:  # one update at a time; readers never take the lock
            old, self.current = self.current, model
            self.last_error = None
            self.gone = None
            self.reloads += 1
            return old

    def refuse(self, version: str, exc: ModelRefusedError) -> None:
        self.last_error = {"version": version, "kind": exc.kind, "reason": str(exc)}

    def not_ready(self) -> str | None:
        """Why the server is not ready, or None when it is."""
        if self.current is not None:
            return self.gone
        refused = self.last_error
        if self.gone is not None:
            return f"no model is loaded: {self.gone}"
        if refused is None:
            return "no model is loaded yet"
        if refused["kind"] == "resolve":
            return f"no model is loaded: {refused['reason']}"
        return (
            f"no model is loaded: version {refused['version']} was refused "
            f"({refused['kind']}): {refused['reason']}"
        )

    def readiness(self) -> dict[str, Any]:
        """The body of /ready: ready or not, the version served, and why not."""
        reason = self.not_ready()
        body: dict[str, Any] = {"ready": reason is None}
        if self.current is not None:
            body["model_version"] = self.current.version
        if reason is not None:
            body["reason"] = reason
        return body

    def describe(self) -> dict[str, Any]:
        """The body of /version: the served model, readiness, and the last refused version."""
        info = self.current.info() if self.current is not None else {"model_version": None}
        return {
            **info,
            **self.readiness(),
            "reloads": self.reloads,
            "last_refused": self.last_error,
        }
