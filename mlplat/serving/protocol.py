"""uvicorn's httptools protocol with header and body read deadlines.

uvicorn closes a keep-alive connection that stays idle after a response (`timeout_keep_alive`),
but arms no timer before the first request, while a request's headers arrive, or while its body
does: a connection that sends nothing, half a header line or half a body holds its socket, its
memory and (for a body) a request task for ever (slowloris). Here:

- a connection must complete each request's headers within `header_timeout` seconds of its first
  byte (or of connecting), else it gets a plain 408 and is closed;
- a request whose body is still incomplete is woken every sweep, so the app's `read_body` can
  answer its own 408 once `body_timeout` has passed (the app counts the status it sends).

No timer per request: a deadline is a float on the connection, and one sweep per event loop
checks every connection twice a second (a `call_later` + cancel per connection, and
`asyncio.timeout` per body, cost a one-row request ~16 µs of its ~300). The timeouts come from
the app's lifespan state, so every uvicorn worker process reads the ones its app was built with.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

STATE_KEY = "mlplat_header_timeout"
DEFAULT_HEADER_TIMEOUT = 10.0
SWEEP_SECONDS = 0.5
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 29\r\nconnection: close\r\n\r\nrequest headers took too long"
)


class HttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = float(self.app_state.get(STATE_KEY, DEFAULT_HEADER_TIMEOUT))
        self.header_deadline = math.inf

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.header_deadline = self.loop.time() + self.header_timeout  # silent ones time out too
        _sweep_from(self.loop, self.server_state)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.header_deadline == math.inf:
            self.header_deadline = self.loop.time() + self.header_timeout

    def on_headers_complete(self) -> None:
        self.header_deadline = math.inf
        super().on_headers_complete()

    def check(self, now: float) -> None:
        """A sweep: close a connection late with its headers; wake a request whose body is
        incomplete, so the app can check its own deadline."""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        busy = cycle is not None and not cycle.response_complete
        if busy and cycle.more_body:
            cycle.message_event.set()
        elif not busy and now > self.header_deadline:
            self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()


def _sweep_from(loop: asyncio.AbstractEventLoop, state: Any) -> None:
    """Start the sweep of this server's connections, once."""
    if getattr(state, "mlplat_sweeping", False):
        return
    state.mlplat_sweeping = True

    def sweep() -> None:
        now = loop.time()
        for connection in list(state.connections):
            if isinstance(connection, HttpProtocol):
                connection.check(now)
        loop.call_later(SWEEP_SECONDS, sweep)

    loop.call_later(SWEEP_SECONDS, sweep)
