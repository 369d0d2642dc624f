"""What the LTI browser tests share: proctor_web served as the LTI tool on localhost (with
the test switch that drops every cookie of a "NoCookies" browser), and an independent LMS
(``testing.lti_platform``) registered with it both ways."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from werkzeug.serving import make_server

from proctor_web.extensions import db
from proctor_web.lti import keys
from proctor_web.lti.tool import registration
from proctor_web.models import utcnow
from proctor_web.testing.lti_platform import serve_platform
from tests.browser.conftest import LiveServer

#: Browsers whose user agent ends so reach proctor_web without any cookie.
NO_COOKIES_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chromium/156 NoCookies"


@contextmanager
def serve_tool(app: Any, name: str,
               before_start: Callable[[str], None] | None = None) -> Iterator[LiveServer]:
    """Serve ``app`` on 127.0.0.1, reached as http://localhost:<port> (another site than the
    LMS on 127.0.0.1). ``before_start`` gets the URL once it is known."""
    app.config["COOKIES_SEEN_FROM_COOKIELESS_BROWSER"] = 0
    serve = app.wsgi_app

    def without_cookies(environ, start_response):  # noqa: ANN001, ANN202
        # Browsers whose user agent ends so keep no cookie of ours, partitioned or not.
        if environ.get("HTTP_USER_AGENT", "").endswith("NoCookies") and environ.pop(
                "HTTP_COOKIE", None):
            app.config["COOKIES_SEEN_FROM_COOKIELESS_BROWSER"] += 1
        return serve(environ, start_response)

    app.wsgi_app = without_cookies
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://localhost:{server.server_port}"
    app.config["SITE_URL"] = url
    if before_start is not None:
        before_start(url)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield LiveServer(url, app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@contextmanager
def registered_lms(tool: LiveServer, client_id: str, deployment_id: str, name: str,
                   context_id: str, context: dict[str, Any]) -> Iterator[Any]:
    """An independent LMS that knows ``tool`` and that ``tool`` knows, with one course."""
    with serve_platform() as platform, tool.app.app_context():
        now = utcnow()
        endpoints = requests.post(f"{platform.url}/_control/tools", json={
            "client_id": client_id, "deployment_id": deployment_id,
            "login_url": tool.path("/lti/login"), "launch_url": tool.path("/lti/launch"),
            "jwks": keys.public_key_set(now),
        }, timeout=10).json()["platform"]
        registration.add_platform(registration.PlatformFields(
            issuer=endpoints["issuer"], client_id=client_id,
            auth_login_url=endpoints["auth_login_url"],
            auth_token_url=endpoints["auth_token_url"], key_set_url=endpoints["key_set_url"],
            deployment_ids=(deployment_id,), name=name), now)
        db.session.commit()
        requests.put(f"{platform.url}/_control/contexts/{context_id}",
                     json={"members": [], **context}, timeout=10)
        yield platform
