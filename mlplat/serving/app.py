"""The scoring ASGI app: MLflow `/invocations`, Open Inference Protocol V2, health, metrics, admin.

The request path is: read the body (bounded) -> parse to columns -> validate -> fast features
-> Booster.predict -> JSON. Client mistakes are `InputError`s (4xx naming column and row);
anything else is caught too and answered with a JSON 500, so a worker never dies on a request.
The two scoring endpoints are raw ASGI callables (no Request/Response objects), and
`POST /invocations` skips Starlette's router altogether: on a one-row request that framework
work cost as much CPU as validating, featurizing and predicting.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlplat.serving import openapi
from mlplat.serving.compat import SchemaChange
from mlplat.serving.errors import InputError
from mlplat.serving.metrics import Metrics
from mlplat.serving.model import ModelHolder, ServedModel
from mlplat.serving.payloads import Table, csv_table, mlflow_table, v2_table
from mlplat.serving.reqlog import RequestLogger
from mlplat.serving.settings import ServeSettings, admin_token
from mlplat.serving.source import make_source
from mlplat.serving.updater import Updater

log = logging.getLogger("mlplat.serving")
JSON = "application/json"
Parse = Callable[[str, bytes], tuple[Table, Any]]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Render = Callable[[ServedModel, list[float], Any], Any]


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status, media_type=JSON)


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    start = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": start + headers})
    await send({"type": "http.response.body", "body": body})


def error_response(exc: InputError) -> Response:
    return json_response(exc.body(), exc.status)


def header(scope: Scope, name: bytes) -> str | None:
    """One request header (ASGI gives them as lower-cased byte pairs)."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """Refuse early on Content-Length, and stop reading a chunked body once it passes the limit."""
    declared = header(scope, b"content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InputError(413, "payload_too_large", f"the body is over the limit of {limit} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InputError(400, "client_disconnected", "the client went away mid-body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise InputError(
                413, "payload_too_large", f"the body is over the limit of {limit} bytes"
            )
        chunks.append(chunk)
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _mlflow_parse(content_type: str, body: bytes) -> tuple[Table, Any]:
    kind = content_type.split(";")[0].strip().lower()
    if kind in (JSON, "", "*/*"):
        return mlflow_table(body), None
    if kind == "text/csv":
        return csv_table(body), None
    raise InputError(
        415,
        "unsupported_media_type",
        f"content type {kind!r} is not supported; use application/json or text/csv",
    )


def _v2_parse(content_type: str, body: bytes) -> tuple[Table, Any]:
    return v2_table(body)


@dataclass
class Server:
    """State shared by the handlers of one process."""

    settings: ServeSettings
    holder: ModelHolder
    metrics: Metrics
    updater: Updater
    logger: RequestLogger | None = None

    async def invocations(self, scope: Scope, receive: Receive, send: Send) -> None:
        """MLflow's `POST /invocations`, as a raw ASGI endpoint."""
        await send_json(
            send, *await self.score(scope, receive, "invocations", _mlflow_parse, _mlflow_render)
        )

    def model(self) -> ServedModel:
        current = self.holder.current
        if current is None:
            raise InputError(503, "not_ready", "no model is loaded yet")
        return current

    async def score(
        self, scope: Scope, receive: Receive, endpoint: str, parse: Parse, render: Render
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Status, JSON body and extra headers of one scoring request."""
        started = time.perf_counter()
        metrics = self.metrics
        metrics.in_flight += 1
        status = 500
        try:
            model = self.model()  # taken once: a swap mid-request does not change this request
            body = await read_body(scope, receive, self.settings.max_payload_bytes)
            table, request_id = parse(header(scope, b"content-type") or JSON, body)
            typed, predictions = model.predict_table(table)
            values = predictions.tolist()
            out = dumps(render(model, values, request_id))
            status = 200
            metrics.rows.observe(table.n_rows)
            metrics.observe_predictions(values)
            self._log(model, typed, values, started)
            return 200, out, model.headers
        except InputError as exc:
            status = exc.status
            return status, dumps(exc.body()), []
        except Exception as exc:  # a bug must not kill the worker; the client gets a JSON 500
            log.exception("scoring failed")
            return 500, dumps({"error_code": "INTERNAL_ERROR", "message": str(exc)}), []
        finally:
            metrics.in_flight -= 1
            metrics.count(endpoint, status, time.perf_counter() - started)

    def _log(
        self, model: ServedModel, typed: dict[str, list], values: list[float], started: float
    ) -> None:
        if self.logger is not None:
            latency = round((time.perf_counter() - started) * 1000, 3)
            self.logger.log(model.name, model.version, latency, typed, values)


def _mlflow_render(model: ServedModel, values: list[float], _: Any) -> Any:
    return {"predictions": values, "model_version": model.version}


def _v2_render(model: ServedModel, values: list[float], request_id: Any) -> Any:
    out = {
        "model_name": model.name,
        "model_version": model.version,
        "outputs": [
            {"name": "predictions", "shape": [len(values)], "datatype": "FP64", "data": values}
        ],
    }
    if request_id is not None:
        out["id"] = request_id
    return out


@dataclass(frozen=True)
class Endpoint:
    """A raw ASGI endpoint for a Route: Starlette wraps functions and methods as Request ->
    Response handlers and calls anything else as an ASGI app."""

    handle: Callable[[Scope, Receive, Send], Awaitable[None]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle(scope, receive, send)


def _routes(server: Server) -> list[Route]:
    async def v2_infer(scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path_params"]["model_name"]
        current = server.holder.current
        if current is not None and name != current.name:
            bad = InputError(
                404, "unknown_model", f"this server serves {current.name!r}, not {name!r}"
            )
            await send_json(send, 404, dumps(bad.body()), [])
            return
        await send_json(
            send, *await server.score(scope, receive, "v2_infer", _v2_parse, _v2_render)
        )

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def ready(request: Request) -> Response:
        body = server.holder.readiness()
        return json_response(body, 200 if body["ready"] else 503)

    async def version(request: Request) -> Response:
        return json_response(server.holder.describe(), 200 if server.holder.current else 503)

    async def metrics(request: Request) -> Response:
        return Response(server.metrics.render(), 200, media_type="text/plain; version=0.0.4")

    async def openapi_doc(request: Request) -> Response:
        model = server.model()
        return json_response(openapi.document(model.bundle.schema, model.name))

    async def v2_metadata(request: Request) -> Response:
        model = server.model()
        if request.path_params["model_name"] != model.name:
            return error_response(
                InputError(404, "unknown_model", f"no model {request.path_params['model_name']!r}")
            )
        return json_response(_v2_metadata(model))

    async def v2_model_ready(request: Request) -> Response:
        current = server.holder.current
        ok = current is not None and request.path_params["model_name"] == current.name
        return json_response(
            {"name": request.path_params["model_name"], "ready": ok}, 200 if ok else 404
        )

    async def v2_server(request: Request) -> Response:
        return json_response({"name": "mlplat", "version": "1", "extensions": []})

    async def reload(request: Request) -> Response:
        token = admin_token()
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if token is None:
            return json_response(
                {
                    "error_code": "PERMISSION_DENIED",
                    "message": "the admin endpoint is off: set MLPLAT_ADMIN_TOKEN",
                },
                403,
            )
        if not hmac.compare_digest(given.encode(), token.encode()):
            return json_response(
                {"error_code": "UNAUTHENTICATED", "message": "bad or missing token"}, 401
            )
        outcome = await asyncio.to_thread(server.updater.attempt)
        return json_response(
            {
                "outcome": outcome,
                "model_version": server.holder.describe()["model_version"],
                "last_refused": server.holder.last_error,
            }
        )

    return [
        Route("/invocations", Endpoint(server.invocations), methods=["POST"]),
        Route("/v2/models/{model_name}/infer", Endpoint(v2_infer), methods=["POST"]),
        Route("/v2/models/{model_name}", v2_metadata, methods=["GET"]),
        Route("/v2/models/{model_name}/ready", v2_model_ready, methods=["GET"]),
        Route("/v2/health/live", health, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2", v2_server, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/ping", health, methods=["GET"]),  # MLflow's liveness path
        Route("/ready", ready, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi_doc, methods=["GET"]),
        Route("/admin/reload", reload, methods=["POST"]),
    ]


V2_TYPES = {
    "int": "INT64",
    "float": "FP64",
    "bool": "BOOL",
    "str": "BYTES",
    "category": "BYTES",
    "datetime": "BYTES",
}


def _v2_metadata(model: ServedModel) -> dict[str, Any]:
    declared = model.bundle.schema.get("columns", {})
    inputs = [
        {
            "name": rule.name,
            "datatype": V2_TYPES.get(declared.get(rule.name, {}).get("dtype"), "BYTES"),
            "shape": [-1],
        }
        for rule in model.validator.rules
    ]
    return {
        "name": model.name,
        "versions": [model.version],
        "platform": "lightgbm",
        "inputs": inputs,
        "outputs": [{"name": "predictions", "datatype": "FP64", "shape": [-1]}],
    }


def _start_logger(settings: ServeSettings, metrics: Metrics) -> RequestLogger | None:
    from pathlib import Path

    if not settings.request_log_dir or settings.request_log_sample <= 0:
        return None
    return RequestLogger(
        Path(settings.request_log_dir),
        settings.request_log_sample,
        settings.request_log_queue_size,
        settings.request_log_rotate_bytes,
        settings.request_log_rotate_seconds,
        metrics.log_dropped.inc,
        metrics.log_written.inc,
    )


async def _bad_json(request: Request, exc: Exception) -> Response:
    code = getattr(exc, "status_code", 500)
    return json_response(
        {
            "error_code": "BAD_REQUEST" if code < 500 else "INTERNAL_ERROR",
            "message": str(getattr(exc, "detail", exc)),
        },
        code,
    )


async def _input_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputError)
    return error_response(exc)


def create_app(settings: ServeSettings) -> ScoringApp:
    """The app for one process; the first model loads before the server reports ready."""
    metrics = Metrics()
    holder = ModelHolder()
    source = make_source(settings.model, settings.tracking_uri)
    updater = Updater(
        source,
        holder,
        metrics,
        settings.max_batch_rows,
        settings.poll_interval_seconds,
        SchemaChange(settings.schema_change),
    )
    server = Server(settings, holder, metrics, updater)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(updater.attempt)
        if holder.current is None:  # stay up: /health answers, /ready says why, polls go on
            log.error("not ready: %s", holder.not_ready())
        server.logger = _start_logger(settings, metrics)
        # Start-up objects (modules, the model) never become garbage: freezing them keeps the
        # collector's full passes to what requests allocate, a few µs a request less.
        gc.collect()
        gc.freeze()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, updater.trigger)
        poller = asyncio.create_task(updater.run())
        try:
            yield
        finally:
            poller.cancel()
            if server.logger is not None:
                await asyncio.to_thread(server.logger.close)
            await asyncio.to_thread(updater.close)

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: _bad_json,
        405: _bad_json,
        500: _bad_json,
        InputError: _input_error,  # e.g. 503 not_ready from /openapi.json while no model is loaded
    }
    app = Starlette(routes=_routes(server), lifespan=lifespan, exception_handlers=handlers)
    app.state.server = server
    return ScoringApp(app, server)


class ScoringApp:
    """The Starlette app, with `POST /invocations` (the hot path) taken before its router."""

    def __init__(self, app: Starlette, server: Server) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/invocations"
            and scope["method"] == "POST"
        ):
            await self.server.invocations(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def app_from_env() -> ScoringApp:
    """uvicorn's factory for `--workers N`: each worker builds its app from the same settings."""
    return create_app(ServeSettings.from_env())
