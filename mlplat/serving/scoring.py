"""From a model's raw output to what a response carries, for every task.

The target spec in the bundle (`feature_spec["target"]`) says what the numbers mean: a binary
model predicts P(positive class), a multiclass model one probability per class in `classes`
order, a regression model the value itself. Responses keep MLflow's shapes (`predictions` is a
list of numbers, or of per-class lists as `mlflow models serve` answers for a 2-D output) and add
the label names next to them; the Prometheus histogram gets one number per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import orjson

from mlplat.serving.payloads import PARSERS, Protocol

if TYPE_CHECKING:
    import numpy as np

    from mlplat.core.bundle import Bundle
    from mlplat.serving.metrics import Metrics
    from mlplat.serving.model import ServedModel


class Task(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"


@dataclass(frozen=True)
class Target:
    """What a prediction is about: the task and the labels in encoded order."""

    task: Task
    classes: tuple[str, ...] = ()
    positive_class: str | None = None

    @classmethod
    def of(cls, bundle: Bundle) -> Target:
        spec = bundle.feature_spec.get("target") or {}
        task = Task(spec.get("task") or bundle.task)
        if task is Task.REGRESSION:
            return cls(task)
        classes = tuple(str(c) for c in spec.get("classes") or ())
        if task is Task.BINARY:
            classes = classes or ("0", "1")  # bundles from before labels were stored
            return cls(task, classes, str(spec.get("positive_class") or classes[-1]))
        # without stored labels, a class is named by its index, as training encoded it
        count = bundle.booster.num_model_per_iteration()
        return cls(task, classes or tuple(str(i) for i in range(count)))


@dataclass(frozen=True)
class Scored:
    """One request's predictions, as responses, the request log and the metrics use them."""

    # a number per row, or a row of class probabilities: kept as numpy, which orjson writes
    # without a Python float per value (a third of the GIL time of a 100k-row answer)
    predictions: np.ndarray
    labels: list[str] | None  # multiclass: the most probable class of each row
    observed: np.ndarray  # one number per row for the prediction histogram

    @property
    def rows(self) -> int:
        return len(self.predictions)


def scored(target: Target, raw: np.ndarray) -> Scored:
    import numpy as np

    if target.task is not Task.MULTICLASS:
        one_d = raw.ndim == 1 and raw.dtype == np.float64 and raw.flags.c_contiguous
        values = raw if one_d else np.ascontiguousarray(raw, dtype="float64").reshape(-1)
        return Scored(values, None, values)
    matrix = np.ascontiguousarray(raw, dtype="float64").reshape(len(raw), -1)
    if matrix.shape[1] != len(target.classes):
        raise ValueError(
            f"the model gives {matrix.shape[1]} probabilities per row for "
            f"{len(target.classes)} classes {list(target.classes)}"
        )
    best = matrix.argmax(axis=1)
    labels = np.asarray(target.classes, dtype=object)[best].tolist()
    return Scored(matrix, labels, matrix[np.arange(len(matrix)), best])


def label_fields(target: Target) -> dict[str, Any]:
    """What names the numbers: the positive class of a binary model, a multiclass model's
    classes (the order of each row's probabilities)."""
    if target.task is Task.BINARY:
        return {"positive_class": target.positive_class}
    if target.task is Task.MULTICLASS:
        return {"classes": list(target.classes)}
    return {}


def mlflow_body(target: Target, result: Scored, version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"predictions": result.predictions, "model_version": version}
    out.update(label_fields(target))
    if result.labels is not None:
        out["labels"] = result.labels
    return out


def v2_outputs(target: Target, result: Scored) -> list[dict[str, Any]]:
    """V2 output tensors: `predictions` (FP64, [n] or [n, classes], row-major), and for a
    multiclass model `labels` (BYTES, [n])."""
    rows = result.rows
    if result.labels is None:
        tensor = {"name": "predictions", "shape": [rows], "datatype": "FP64"}
        params = label_fields(target)
        extra = {"parameters": params} if params else {}
        return [{**tensor, "data": result.predictions, **extra}]
    flat = result.predictions.reshape(-1)  # V2's JSON tensors are flat, in row-major order
    return [
        {
            "name": "predictions",
            "shape": [rows, len(target.classes)],
            "datatype": "FP64",
            "data": flat,
            "parameters": label_fields(target),
        },
        {"name": "labels", "shape": [rows], "datatype": "BYTES", "data": result.labels},
    ]


def v2_output_metadata(target: Target) -> list[dict[str, Any]]:
    if target.task is not Task.MULTICLASS:
        return [{"name": "predictions", "datatype": "FP64", "shape": [-1]}]
    return [
        {"name": "predictions", "datatype": "FP64", "shape": [-1, len(target.classes)]},
        {"name": "labels", "datatype": "BYTES", "shape": [-1]},
    ]


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


@dataclass(frozen=True)
class Answer:
    """A scored request: the response body, and what the request log records."""

    body: bytes
    scored: Scored
    inputs: Any  # the validated input columns, or their JSON as an orjson.Fragment


def render(
    protocol: Protocol, model: ServedModel, target: Target, result: Scored, request_id: Any
) -> bytes:
    if protocol is not Protocol.V2:
        return dumps(mlflow_body(target, result, model.version))
    out = {
        "model_name": model.name,
        "model_version": model.version,
        "outputs": v2_outputs(target, result),
    }
    if request_id is not None:
        out["id"] = request_id
    return dumps(out)


def finish(
    model: ServedModel,
    target: Target,
    protocol: Protocol,
    raw: np.ndarray,
    request_id: Any,
    inputs: Any,
    metrics: Metrics,
) -> Answer:
    """Raw predictions -> response body; counted in the metrics only once the body exists."""
    result = scored(target, raw)
    body = render(protocol, model, target, result, request_id)
    metrics.observe(result)
    return Answer(body, result, inputs)


def answer(
    model: ServedModel,
    target: Target,
    protocol: Protocol,
    content_type: str,
    body: bytes,
    metrics: Metrics,
) -> Answer:
    """A whole request in the calling thread (the server's path for small bodies, and what
    `mlplat profile` times); a client mistake raises InputError."""
    table, request_id = PARSERS[protocol](content_type, body)
    typed, raw = model.predict_table(table)
    return finish(model, target, protocol, raw, request_id, typed, metrics)
