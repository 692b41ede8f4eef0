"""uvicorn's httptools protocol with a header read timeout.

uvicorn closes a keep-alive connection that stays idle after a response (`timeout_keep_alive`),
but arms no timer before the first request nor while a request's headers arrive: a connection
that sends nothing, or half a header line, holds its socket and memory for ever (slowloris).
Here a connection must complete each request's headers within `header_timeout` seconds of its
first byte (or of connecting); otherwise it gets a 408 and is closed. The body has its own
deadline, kept by the app (`app.read_body`). The timeout comes from the app's lifespan state, so
every uvicorn worker process reads the one its app was built with.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

STATE_KEY = "mlplat_header_timeout"
DEFAULT_HEADER_TIMEOUT = 10.0
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 29\r\nconnection: close\r\n\r\nrequest headers took too long"
)


class HttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = float(self.app_state.get(STATE_KEY, DEFAULT_HEADER_TIMEOUT))
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte times out too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        if self.header_timer is None and self.header_timeout > 0:
            self.header_timer = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _expired(self) -> None:
        self.header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm()  # a response is under way: the app's own deadlines apply to it
            return
        self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()
