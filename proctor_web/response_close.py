"""Closing every response once its body is out, whatever the server does afterwards.

PEP 3333 has the server call ``close()`` on the body it was given once the request is done,
and ``Response.call_on_close`` callbacks run in that call: that is how the outbox hands the
rows a request committed to background work after the answer has been sent
(``services.outbox.init_app``). Werkzeug's development server (``flask run``, the demo's
``scripts/run`` and the live servers of the tests) skips the call when the client resets
the connection just after the response: having written the body it drains the socket, the
read raises ``ConnectionResetError`` and ``close()``, later in the same ``finally``, is
never reached. Chromium resets connections like that, so a committed provider event or email
waited for the sweep, silently, in about half of the demo's runs.

``close_when_sent`` wraps the application so the body closes itself as soon as the server
asks for a chunk past the last one: a server asks for the next chunk only once it has
written the previous, so the answer is out (on an empty body, werkzeug sends the headers
just after). The server's own ``close()`` then does nothing. A body the server never
finishes taking (the client went away mid-answer) is still closed by the server's
``close()``, when it makes that call.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask


class CloseWhenSent:
    """A WSGI body that closes ``body`` once the last chunk has been taken, at most once."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self._body = body
        self._chunks: Iterator[bytes] = iter(body)
        self._closed = False

    def __iter__(self) -> CloseWhenSent:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


def close_when_sent(wsgi_app: Any) -> Any:
    """``wsgi_app`` with every body closed as soon as it has been sent."""

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = wsgi_app(environ, start_response)
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(body, file_wrapper):
            return body  # a file: left as is, so the server may send it with sendfile()
        return CloseWhenSent(body)

    return application


def init_app(app: Flask) -> None:
    app.wsgi_app = close_when_sent(app.wsgi_app)  # type: ignore[method-assign]
