"""Run the app under uvicorn (uvloop + httptools when installed), one process or N workers."""

from __future__ import annotations

import logging
import os
import signal
from typing import TYPE_CHECKING, Any

from mlplat.serving.settings import ENV, ServeSettings

if TYPE_CHECKING:
    from mlplat.serving.online.experiment import Recorder

GRACEFUL_SECONDS = 30  # SIGTERM: stop accepting, let in-flight requests finish up to this long
# The routes an orchestrator probes and scrapes (Kubernetes manifests name them too)
HEALTH_PATH = "/health"  # liveness: the process answers, with or without a model
READY_PATH = "/ready"  # readiness: a model is loaded
METRICS_PATH = "/metrics"


def serve(
    settings: ServeSettings,
    factory: str = "mlplat.serving.app:app_from_env",
    recorder: Recorder | None = None,
) -> None:
    """`factory` builds each worker's app from the settings in the env; one process is given
    `recorder` directly (see `create_app`)."""
    import uvicorn

    # uvicorn finishes in-flight requests on SIGTERM, then re-raises the signal; a no-op handler
    # makes that last step a clean exit 0 instead of death by signal.
    signal.signal(signal.SIGTERM, lambda *_: None)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # Our own events (which version is served, a refused one) at INFO; libraries at WARNING.
    logging.getLogger("mlplat.serving").setLevel(logging.INFO)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "http": "mlplat.serving.protocol:HttpProtocol",  # uvicorn's, plus a header timeout
    }
    if settings.workers > 1:
        # Workers are separate processes: they rebuild the app from the settings in the env.
        os.environ[ENV] = settings.to_env()
        uvicorn.run(factory, factory=True, workers=settings.workers, **options)
        return
    from mlplat.serving.app import create_app

    uvicorn.run(create_app(settings, recorder), **options)
