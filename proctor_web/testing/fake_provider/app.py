"""The fake provider's Flask app: the factory, error handling, failure modes and OAuth2 tokens."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import jwt
from flask import Flask, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from proctor_web.testing.fake_provider.control_api import register_control
from proctor_web.testing.fake_provider.desktop_app import register_desktop_app
from proctor_web.testing.fake_provider.loopback import is_loopback
from proctor_web.testing.fake_provider.provider_api import register_api, register_pages
from proctor_web.testing.fake_provider.request_helpers import verify_bearer
from proctor_web.testing.fake_provider.settings import (
    DEFAULT_SETTINGS,
    JWT_ALGORITHM,
    validate_settings,
)
from proctor_web.testing.fake_provider.state import ProviderState


def create_fake_provider(config: dict[str, Any] | None = None) -> Flask:
    """Build the fake provider app.

    Keys of DEFAULT_SETTINGS configure the provider; any other key goes to ``app.config``.
    """
    overrides = dict(config or {})
    provider_keys = {key: overrides.pop(key) for key in list(overrides) if key in DEFAULT_SETTINGS}
    settings = validate_settings({**DEFAULT_SETTINGS, **provider_keys})
    app = Flask(__name__)
    app.config.update(overrides)
    state = ProviderState(settings=dict(settings), initial_settings=dict(settings))
    app.extensions["fake_provider"] = state

    _register_error_handlers(app)
    _register_guards(app, state)
    _register_oauth(app, state)
    register_api(app, state)
    register_pages(app, state)
    register_control(app, state)
    register_desktop_app(app, state)
    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        # Machine-facing paths answer JSON so the REST backend under test can always parse an error.
        if request.path.startswith(("/api/", "/_control/", "/oauth2/", "/desktop/")):
            response = jsonify(detail=exc.description)
            response.status_code = exc.code or 500
            return response
        return exc


def _register_guards(app: Flask, state: ProviderState) -> None:
    @app.before_request
    def guard() -> Response | None:
        path = request.path
        if path.startswith("/_control/"):
            # The control surface has no auth by design, so no other host may reach it.
            if not is_loopback(request.remote_addr or ""):
                abort(403, description="control endpoints are only available from loopback")
            return None
        desktop = path.startswith("/desktop/")
        if not (path.startswith("/api/v1/") or desktop) or request.method == "OPTIONS":
            return None
        with state.lock:
            settings = dict(state.settings)
            epoch = state.epoch
        if settings["FAIL_MODE"] == "error500":
            response = jsonify(detail="simulated provider failure (FAIL_MODE=error500)")
            response.status_code = 500
            return response
        if settings["FAIL_MODE"] == "hang":
            # Bounded, and woken early by reset/close, so a test can never be held hostage by it.
            epoch.wait(settings["HANG_SECONDS"])
            response = jsonify(detail="simulated provider hang (FAIL_MODE=hang)")
            response.status_code = 503
            return response
        # The desktop application answers the learner's browser, which has no provider token.
        if not (desktop or path.startswith("/api/v1/instructor/")):
            verify_bearer(settings)
        return None


def _register_oauth(app: Flask, state: ProviderState) -> None:
    @app.post("/oauth2/access_token")
    def access_token() -> tuple[Response, int] | Response:
        with state.lock:
            settings = dict(state.settings)
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return jsonify(error="unsupported_grant_type"), 400
        # Constant-time, because code gets copied from fakes into real services. Bytes, because
        # compare_digest rejects non-ASCII str and a stray character must be a 401, not a 500.
        id_ok = secrets.compare_digest(
            form.get("client_id", "").encode(), settings["CLIENT_ID"].encode()
        )
        secret_ok = secrets.compare_digest(
            form.get("client_secret", "").encode(), settings["CLIENT_SECRET"].encode()
        )
        if not (id_ok and secret_ok):
            return jsonify(error="invalid_client"), 401
        issued = int(time.time())
        ttl = settings["TOKEN_TTL_SECONDS"]
        claims = {
            "iss": settings["CLIENT_ID"],
            "sub": settings["CLIENT_ID"],
            "iat": issued,
            "exp": issued + ttl,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, settings["CLIENT_SECRET"], algorithm=JWT_ALGORITHM)
        response = jsonify(access_token=token, token_type="Bearer", expires_in=ttl)
        response.headers["Cache-Control"] = "no-store"
        return response
