"""Brute-force limits on sign-in, "forgot your password?", the OAuth token endpoint and the
RPNow launch link.

Flask-Limiter counts in memory by default, or in Redis when ``RATELIMIT_STORAGE_URL`` is
set (needed as soon as more than one process serves the app). Each limit is a
Flask-Limiter string read from the config at request time (``"10 per 10 minutes"``).

Per-address limits count failures only: a whole exam room often shares one address, and its
learners all signing in at the start of an exam must not lock each other out. Per-account
limits (the username, the OAuth client id, the attempt code) stop slow guessing spread over
many addresses.

The limiter is built per app (not in ``extensions.py``): Flask-Limiter keeps its storage and
its on/off switch on the instance, so one instance cannot serve two apps configured
differently, as the tests do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from proctor_web.errors import wants_json
from proctor_web.extensions import db

EXTENSION_KEY = "proctor_limiter"


def client_address() -> str:
    return request.remote_addr or "unknown"


def _login_account() -> str:
    return (request.form.get("username") or "").strip().lower()[:150]


def _reset_account() -> str:
    return (request.form.get("identifier") or "").strip().lower()[:254]


def _oauth_client() -> str:
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return (auth.username or "")[:255]
    return (request.form.get("client_id") or "")[:255]


def _attempt_code() -> str:
    return str((request.view_args or {}).get("attempt_code", ""))[:255]


def _failed(response: Response) -> bool:
    # The limiter's own refusals (429) are not failures of the caller's credentials.
    return response.status_code >= 400 and response.status_code != 429


def _sign_in_failed(response: Response) -> bool:
    # A successful sign-in redirects; the form shown again (400) is a failure.
    return response.status_code not in (302, 429)


@dataclass(frozen=True)
class EndpointLimit:
    endpoint: str
    config_key: str
    scope: str
    key_func: Callable[[], str]
    counts: Callable[[Response], bool] | None = None  # None: every request counts
    methods: tuple[str, ...] | None = None


LIMITS: tuple[EndpointLimit, ...] = (
    EndpointLimit("auth.login", "RATELIMIT_LOGIN_PER_ADDRESS", "login-address",
                  client_address, _sign_in_failed, ("POST",)),
    EndpointLimit("auth.login", "RATELIMIT_LOGIN_PER_ACCOUNT", "login-account",
                  _login_account, _sign_in_failed, ("POST",)),
    # Every request counts: the answer is the same whether an account matched, and each
    # match sends an email.
    EndpointLimit("auth.forgot_password", "RATELIMIT_PASSWORD_RESET_PER_ADDRESS",
                  "reset-address", client_address, None, ("POST",)),
    EndpointLimit("auth.forgot_password", "RATELIMIT_PASSWORD_RESET_PER_ACCOUNT",
                  "reset-account", _reset_account, None, ("POST",)),
    EndpointLimit("webhooks.access_token", "RATELIMIT_TOKEN_PER_ADDRESS", "token-address",
                  client_address, _failed),
    EndpointLimit("webhooks.access_token", "RATELIMIT_TOKEN_PER_CLIENT", "token-client",
                  _oauth_client, _failed),
    EndpointLimit("webhooks.rpnow_launch", "RATELIMIT_LAUNCH_PER_ADDRESS", "launch-address",
                  client_address, _failed),
    EndpointLimit("webhooks.rpnow_launch", "RATELIMIT_LAUNCH_PER_ATTEMPT", "launch-attempt",
                  _attempt_code),
)


def init_app(app: Flask) -> None:
    """Attach the limits to their views; call after the blueprints are registered."""
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    if not app.config["RATELIMIT_ENABLED"]:
        return
    limiter = Limiter(key_func=client_address, app=app)
    app.extensions[EXTENSION_KEY] = limiter
    limited = frozenset(rule.endpoint for rule in LIMITS)

    @limiter.request_filter
    def _not_limited() -> bool:
        # Only the endpoints above have limits: every other request (the timer poll of every
        # learner above all) skips the limiter's bookkeeping at once.
        return request.endpoint not in limited

    # The limiter's own before-request hook still sets up its context for every request
    # before it asks the filter; in its place, a guard that calls it for limited endpoints.
    hooks = app.before_request_funcs.setdefault(None, [])
    if limiter._check_request_limit in hooks:
        check = limiter._check_request_limit

        def _check_limited_endpoint() -> None:
            if request.endpoint in limited:
                check()

        hooks[hooks.index(check)] = _check_limited_endpoint
    for rule in LIMITS:
        view = app.view_functions[rule.endpoint]
        decorate = limiter.limit(
            _configured(rule.config_key),
            key_func=rule.key_func,
            scope=rule.scope,
            methods=list(rule.methods) if rule.methods else None,
            deduct_when=rule.counts,
        )
        app.view_functions[rule.endpoint] = decorate(view)


def _configured(config_key: str) -> Callable[[], str]:
    return lambda: current_app.config[config_key]


def _retry_after_seconds(error: RateLimitExceeded) -> int:
    limiter: Limiter | None = current_app.extensions.get(EXTENSION_KEY)
    current = limiter.current_limit if limiter is not None else None
    if current is not None:
        return max(1, math.ceil(current.reset_at - time.time()))
    return max(1, int(error.limit.limit.get_expiry()))


def _too_many_requests(error: RateLimitExceeded) -> Response:
    db.session.rollback()
    seconds = _retry_after_seconds(error)
    minutes = max(1, math.ceil(seconds / 60))
    if request.endpoint == "auth.login" and not wants_json():
        message = ngettext(
            "Too many failed sign-in attempts. Wait %(num)d minute, then try again.",
            "Too many failed sign-in attempts. Wait %(num)d minutes, then try again.",
            minutes,
        )
        response = Response(
            render_template("auth/login.html", error=message,
                            next=request.values.get("next") or "",
                            username=request.form.get("username", "")),
            status=429, mimetype="text/html",
        )
    elif request.endpoint == "auth.forgot_password" and not wants_json():
        message = ngettext(
            "Too many requests for a new password. Wait %(num)d minute, then try again.",
            "Too many requests for a new password. Wait %(num)d minutes, then try again.",
            minutes,
        )
        response = Response(
            render_template("auth/forgot_password.html", error=message, sent=False,
                            identifier=request.form.get("identifier", "")),
            status=429, mimetype="text/html",
        )
    else:
        response = current_app.json.response(
            {"detail": _("Too many requests. Try again in %(seconds)d seconds.",
                         seconds=seconds)})
        response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response
