"""Serving the fake provider on a loopback port in a background thread, for tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from proctor_web.testing.fake_provider.loopback import is_loopback, url_host
from proctor_web.testing.fake_provider.state import ProviderState


@dataclass
class BackgroundServer:
    """A real werkzeug server on a daemon thread, ended by ``stop()`` or the ``with`` block."""

    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{url_host(self.server.host)}:{self.server.server_port}"

    def stop(self) -> None:
        state = self.app.extensions.get("fake_provider")
        if isinstance(state, ProviderState):
            state.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_in_background(app: Flask, host: str = "127.0.0.1", port: int = 0) -> BackgroundServer:
    """Serve ``app`` on ``host:port`` (port 0 picks a free one) until ``stop()``.

    Loopback only: the servers this starts are test peers with unauthenticated control endpoints.
    """
    if not is_loopback(host):
        raise ValueError(f"refusing to serve on non-loopback address {host!r}")
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    return BackgroundServer(app=app, server=server, thread=thread)
