"""The platform's Flask app, a background server for tests and the command line for demos."""

from __future__ import annotations

import argparse
import ipaddress
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from proctor_web.testing.lti_platform.browser import browser
from proctor_web.testing.lti_platform.control import control
from proctor_web.testing.lti_platform.services import injected_outage, services
from proctor_web.testing.lti_platform.state import PlatformError, PlatformState, Tool


def create_platform(settings: dict[str, Any] | None = None, base_url: str = "") -> Flask:
    """A fresh platform app. ``base_url`` (its issuer) is set by the server once bound."""
    app = Flask(__name__)
    state = PlatformState(base_url=base_url)
    state.settings.update(settings or {})
    app.extensions["lti_platform"] = state
    app.before_request(injected_outage)
    app.register_blueprint(browser)
    app.register_blueprint(services)
    app.register_blueprint(control)

    @app.errorhandler(PlatformError)
    def refused(error: PlatformError) -> tuple[Response, int]:
        response = jsonify(error=error.error, error_description=error.detail, detail=error.detail)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
        return response, error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify(detail=error.description), error.code or 500

    @app.errorhandler(ValueError)
    def bad_value(error: ValueError) -> tuple[Response, int]:
        return jsonify(detail=f"bad parameter: {error}"), 400

    return app


def platform_state(app: Flask) -> PlatformState:
    return app.extensions["lti_platform"]


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass
class BackgroundPlatform:
    """A platform served by werkzeug on a daemon thread until ``stop()`` or the ``with`` ends."""

    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return platform_state(self.app).base_url

    @property
    def state(self) -> PlatformState:
        return platform_state(self.app)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> BackgroundPlatform:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _bind(app: Flask, host: str, port: int) -> BaseWSGIServer:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"refusing to serve the test platform on non-loopback {host!r}")
    server = make_server(host, port, app, threaded=True)
    platform_state(app).base_url = f"http://{_url_host(host)}:{server.server_port}"
    return server


def serve_platform(settings: dict[str, Any] | None = None, host: str = "127.0.0.1",
                   port: int = 0) -> BackgroundPlatform:
    """Start a fresh platform on ``host:port`` (0 = a free port) in a background thread."""
    app = create_platform(settings)
    server = _bind(app, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    return BackgroundPlatform(app=app, server=server, thread=thread)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proctor_web.testing.lti_platform",
        description="Run the independent LTI 1.3 test platform (a demo LMS; test use only).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=11137, help="port; 0 picks a free one")
    parser.add_argument("--tool-url", default=None,
                        help="register proctor_web at this base URL (e.g. http://localhost:5000)")
    parser.add_argument("--client-id", default="proctor-web-demo")
    parser.add_argument("--deployment-id", default="demo-deployment")
    args = parser.parse_args(argv)
    try:
        app = create_platform()
        server = _bind(app, args.host, args.port)
    except ValueError as error:
        parser.error(str(error))
    state = platform_state(app)
    if args.tool_url:
        base = args.tool_url.rstrip("/")
        state.tools[args.client_id] = Tool(
            client_id=args.client_id, deployment_ids=[args.deployment_id],
            login_url=base + "/lti/login", launch_url=base + "/lti/launch",
            deep_link_url=base + "/lti/launch", redirect_uris=[base + "/lti/launch"],
            jwks_url=base + "/lti/jwks.json", name="proctor_web",
        )
    print(f"LTI test platform listening on {state.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
