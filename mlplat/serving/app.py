"""The scoring ASGI app: MLflow `/invocations`, Open Inference Protocol V2, health, metrics, admin.

The request path is: read the body (bounded in size and time) -> parse to columns -> validate ->
fast features -> Booster.predict -> JSON. A small body is scored on the event loop (a thread hop
would cost a one-row request more than scoring it); a large one is parsed, validated and
featurized in a worker process and predicted in a bounded thread pool (`offload.py`), so health
checks answer while it is scored. Client mistakes are `InputError`s (4xx naming every bad column
and row); anything else is caught too and answered with a JSON 500, so a worker never dies on a
request. Metrics count the status actually sent. The two scoring endpoints are raw ASGI
callables (no Request/Response objects), and `POST /invocations` skips Starlette's router
altogether: on a one-row request that framework work cost as much CPU as validating,
featurizing and predicting.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import math
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlplat.serving import openapi
from mlplat.serving.compat import SchemaChange
from mlplat.serving.errors import InputError
from mlplat.serving.lease import LeaseWriter
from mlplat.serving.metrics import Metrics
from mlplat.serving.model import ModelHolder, ServedModel
from mlplat.serving.offload import Contract, Offload, Prepared, Refused
from mlplat.serving.online.experiment import Assigned, Online, Recorder
from mlplat.serving.payloads import Protocol
from mlplat.serving.protocol import STATE_KEY
from mlplat.serving.reqlog import RequestLogger
from mlplat.serving.scoring import Answer, Target, answer, dumps, finish, v2_output_metadata
from mlplat.serving.server import HEALTH_PATH, METRICS_PATH, READY_PATH
from mlplat.serving.settings import ServeSettings, admin_token
from mlplat.serving.source import make_source
from mlplat.serving.updater import Updater

log = logging.getLogger("mlplat.serving")
JSON = "application/json"
COMPILED_KEPT = 4  # models with compiled request contracts: two arms, each mid-swap
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status, headers=headers, media_type=JSON)


def bearer(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750); None for any other
    form, a raw token included."""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


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


async def read_body(scope: Scope, receive: Receive, limit: int, seconds: float) -> bytes:
    """Refuse early on Content-Length, stop reading a chunked body once it passes the limit, and
    give up (408) on a body still incomplete `seconds` after its headers. No timer per request:
    the server's protocol wakes a request with an incomplete body twice a second
    (`protocol.HttpProtocol.check`), and the deadline is checked then."""
    declared = header(scope, b"content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InputError(413, "payload_too_large", f"the body is over the limit of {limit} bytes")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds if seconds > 0 else math.inf
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
        if loop.time() > deadline:
            raise InputError(408, "body_timeout", f"the body did not arrive within {seconds:g} s")


@dataclass(frozen=True)
class Compiled:
    """What the request path needs per model, besides the model: built once per version."""

    key: str
    target: Target
    contract: Contract


@dataclass
class Server:
    """State shared by the handlers of one process."""

    settings: ServeSettings
    holder: ModelHolder
    metrics: Metrics
    updater: Updater
    offload: Offload
    logger: RequestLogger | None = None
    # per bundle sha256: a split alternates between two models, a swap briefly adds a third
    compiled: dict[str, Compiled] = field(default_factory=dict)
    online: Online | None = None  # an experiment: a challenger arm beside the champion

    async def invocations(self, scope: Scope, receive: Receive, send: Send) -> None:
        """MLflow's `POST /invocations`, as a raw ASGI endpoint."""
        await self.handle(scope, receive, send, "invocations", Protocol.MLFLOW)

    def model(self) -> ServedModel:
        current = self.holder.current
        if current is None:
            raise InputError(503, "not_ready", "no model is loaded yet")
        return current

    def compiled_for(self, model: ServedModel) -> Compiled:
        bundle = model.bundle
        compiled = self.compiled.get(bundle.sha256)
        if compiled is None:
            contract = Contract(
                bundle.sha256, bundle.schema, bundle.feature_spec, self.settings.max_batch_rows
            )
            compiled = Compiled(bundle.sha256, Target.of(bundle), contract)
            if len(self.compiled) >= COMPILED_KEPT:  # the oldest: a version swapped out
                del self.compiled[next(iter(self.compiled))]
            self.compiled[bundle.sha256] = compiled
        return compiled

    async def handle(
        self, scope: Scope, receive: Receive, send: Send, endpoint: str, protocol: Protocol
    ) -> None:
        """Score one request and send the answer; the metrics count the status sent."""
        started = time.perf_counter()
        metrics = self.metrics
        metrics.in_flight += 1
        status = 500
        try:
            status, body, headers = await self.score(scope, receive, protocol, started)
            await send_json(send, status, body, headers)
        finally:
            metrics.in_flight -= 1
            metrics.count(endpoint, status, time.perf_counter() - started)

    async def score(
        self, scope: Scope, receive: Receive, protocol: Protocol, started: float
    ) -> tuple[int, bytes, Headers]:
        """Status, JSON body and extra headers of one scoring request."""
        route: Assigned | None = None
        try:
            model = self.model()  # taken once: a swap mid-request does not change this request
            if self.online is not None:
                key = self.online.key
                route = self.online.route(
                    model, header(scope, b"x-request-id"), key and header(scope, key)
                )
                model = route.model
            settings = self.settings
            body = await read_body(
                scope, receive, settings.max_payload_bytes, settings.body_timeout_seconds
            )
            content_type = header(scope, b"content-type") or JSON
            done: Answer | Refused
            if len(body) < settings.offload_min_bytes:
                done = answer(
                    model,
                    self.compiled_for(model).target,
                    protocol,
                    content_type,
                    body,
                    self.metrics,
                )
            else:
                done = await self._offloaded(model, protocol, content_type, body)
                if isinstance(done, Refused):  # a client mistake the worker process found
                    self._failed(route, done.status, started)
                    return done.status, done.body, []
            self._log(model, done, started)
            if route is None:
                return 200, done.body, model.headers
            assert self.online is not None
            self.online.answered(route, protocol, content_type, body, done, started)
            return 200, done.body, route.headers
        except InputError as exc:
            self._failed(route, exc.status, started)
            return exc.status, dumps(exc.body()), exc.headers()
        except Exception as exc:  # a bug must not kill the worker; the client gets a JSON 500
            log.exception("scoring failed")
            self._failed(route, 500, started)
            return 500, dumps({"error_code": "INTERNAL_ERROR", "message": str(exc)}), []

    def _failed(self, route: Assigned | None, status: int, started: float) -> None:
        if route is not None and self.online is not None:
            self.online.failed(route, status, started)

    async def _offloaded(
        self, model: ServedModel, protocol: Protocol, content_type: str, body: bytes
    ) -> Answer | Refused:
        compiled = self.compiled_for(model)
        prepared = await self.offload.prepare(
            compiled.contract, protocol, content_type, body, self.logger is not None
        )
        if isinstance(prepared, Refused):
            return prepared
        return await self.offload.run(self._predict, model, compiled.target, protocol, prepared)

    def _predict(
        self, model: ServedModel, target: Target, protocol: Protocol, prepared: Prepared
    ) -> Answer:
        """In the thread pool: LightGBM releases the GIL; rendering 100k rows takes ~10 ms."""
        raw = model.predict_matrix(prepared.matrix)
        inputs = orjson.Fragment(prepared.inputs) if prepared.inputs is not None else None
        return finish(model, target, protocol, raw, prepared.request_id, inputs, self.metrics)

    def _log(self, model: ServedModel, done: Answer, started: float) -> None:
        if self.logger is not None:
            latency = round((time.perf_counter() - started) * 1000, 3)
            self.logger.log(
                model.name, model.version, latency, done.inputs, done.scored.predictions
            )


@dataclass(frozen=True)
class Endpoint:
    """A raw ASGI endpoint for a Route: Starlette wraps functions and methods as Request ->
    Response handlers and calls anything else as an ASGI app."""

    handle: Callable[[Scope, Receive, Send], Awaitable[None]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle(scope, receive, send)


def _routes(server: Server) -> list[Route]:
    return [
        Route("/invocations", Endpoint(server.invocations), methods=["POST"]),
        *_v2_routes(server),
        *_probe_routes(server),
        *_admin_routes(server),
    ]


def _v2_routes(server: Server) -> list[Route]:
    """Open Inference Protocol V2: scoring, model metadata and readiness, server metadata."""

    async def v2_infer(scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path_params"]["model_name"]
        current = server.holder.current
        if current is not None and name != current.name:
            bad = InputError(
                404, "unknown_model", f"this server serves {current.name!r}, not {name!r}"
            )
            await send_json(send, 404, dumps(bad.body()), [])
            return
        await server.handle(scope, receive, send, "v2_infer", Protocol.V2)

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

    return [
        Route("/v2/models/{model_name}/infer", Endpoint(v2_infer), methods=["POST"]),
        Route("/v2/models/{model_name}", v2_metadata, methods=["GET"]),
        Route("/v2/models/{model_name}/ready", v2_model_ready, methods=["GET"]),
        Route("/v2", v2_server, methods=["GET"]),
    ]


def _probe_routes(server: Server) -> list[Route]:
    """What orchestrators and clients ask without scoring: liveness, readiness, the model's
    identity, metrics and the OpenAPI document (V2 and MLflow spellings included)."""

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def ready(request: Request) -> Response:
        body = server.holder.readiness()
        return json_response(body, 200 if body["ready"] else 503)

    async def version(request: Request) -> Response:
        return json_response(server.holder.describe(), 200 if server.holder.current else 503)

    async def online(request: Request) -> Response:
        if server.online is None:
            return json_response({"mode": "off"})
        return json_response(server.online.describe(server.holder))

    async def metrics(request: Request) -> Response:
        return Response(server.metrics.render(), 200, media_type="text/plain; version=0.0.4")

    async def openapi_doc(request: Request) -> Response:
        model = server.model()
        return json_response(openapi.document(model.bundle.schema, model.name))

    return [
        Route("/v2/health/live", health, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route(HEALTH_PATH, health, methods=["GET"]),
        Route("/ping", health, methods=["GET"]),  # MLflow's liveness path
        Route(READY_PATH, ready, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route(METRICS_PATH, metrics, methods=["GET"]),
        Route("/openapi.json", openapi_doc, methods=["GET"]),
        Route("/online", online, methods=["GET"]),
    ]


def _admin_refusal(request: Request) -> Response | None:
    """403 while no admin token is set, 401 unless the request carries it as a Bearer token."""
    token = admin_token()
    if token is None:
        return json_response(
            {
                "error_code": "PERMISSION_DENIED",
                "message": "the admin endpoint is off: set MLPLAT_ADMIN_TOKEN",
            },
            403,
        )
    given = bearer(request.headers.get("authorization", ""))
    if given is None or not hmac.compare_digest(given.encode(), token.encode()):
        return json_response(
            {
                "error_code": "UNAUTHENTICATED",
                "message": "send the token as 'Authorization: Bearer <token>'",
            },
            401,
            {"www-authenticate": "Bearer"},
        )
    return None


def _admin_routes(server: Server) -> list[Route]:
    async def reload(request: Request) -> Response:
        refused = _admin_refusal(request)
        if refused is not None:
            return refused
        outcome = await asyncio.to_thread(server.updater.attempt)
        return json_response(
            {
                "outcome": outcome,
                "model_version": server.holder.describe()["model_version"],
                "last_refused": server.holder.last_error,
            }
        )

    async def feedback(request: Request) -> Response:
        """Outcomes for served requests, guarded by the admin token: a label moves a decision."""
        refused = _admin_refusal(request)
        if refused is not None:
            return refused
        if server.online is None:
            message = "this server runs no online experiment: serve with --mode"
            return error_response(InputError(409, "no_experiment", message))
        limit, seconds = server.settings.max_payload_bytes, server.settings.body_timeout_seconds
        body = await read_body(request.scope, request.receive, limit, seconds)
        return json_response(await server.online.feedback(body))

    return [
        Route("/admin/reload", reload, methods=["POST"]),
        Route("/feedback", feedback, methods=["POST"]),
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
        "outputs": v2_output_metadata(Target.of(model.bundle)),
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


def create_app(settings: ServeSettings, recorder: Recorder | None = None) -> ScoringApp:
    """The app for one process; the first model loads before the server reports ready.
    `recorder` records a guardrail stop the experiment makes itself (`mlplat.online.live`)."""
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
        LeaseWriter.following(settings.model, settings.lease_dir),
    )
    server = Server(settings, holder, metrics, updater, Offload(settings.scoring_workers))
    if settings.online is not None:
        server.online = Online(settings, metrics, holder, recorder)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, float]]:
        arms = [server.online.start()] if server.online is not None else []
        await asyncio.gather(asyncio.to_thread(updater.attempt), server.offload.start(), *arms)
        updater.start_heartbeat(settings.lease_heartbeat_seconds)
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
            yield {STATE_KEY: settings.header_timeout_seconds}  # read by protocol.HttpProtocol
        finally:
            poller.cancel()
            await asyncio.to_thread(server.offload.close)
            if server.logger is not None:
                await asyncio.to_thread(server.logger.close)
            await asyncio.to_thread(updater.close)
            if server.online is not None:
                await server.online.cancel()
                await asyncio.to_thread(server.online.close)

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
