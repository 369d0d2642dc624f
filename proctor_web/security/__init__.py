"""Cross-cutting protections: who may write to the API, limits, headers.

Trusted proxies (``PROXY_FIX_*``) are set up by ``proctor_web.ops``.

``init_request_guards`` must run before CSRF protection is bound (Flask runs
``before_request`` hooks in the order they were added), so an anonymous write to the JSON
API is told it is not signed in (401) rather than that a CSRF token is missing. ``init_app``
runs once the blueprints are registered.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext as _
from flask_login import current_user

from proctor_web.auth import signed_in_user_id
from proctor_web.errors import NotAuthenticated
from proctor_web.routing import signs_in_itself
from proctor_web.security import headers, rate_limits

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Blueprints whose every write needs a signed-in person (the provider callbacks live in
#: ``webhooks`` and authenticate with their own credentials).
SIGNED_IN_WRITE_BLUEPRINTS = frozenset({"api"})


def refuse_anonymous_api_writes() -> None:
    if request.method in SAFE_METHODS or request.blueprint not in SIGNED_IN_WRITE_BLUEPRINTS:
        return
    if signs_in_itself() and signed_in_user_id() is not None:
        return  # a session naming someone: the view checks it with its own rows
    if not current_user.is_authenticated:
        raise NotAuthenticated(_("Authentication credentials were not provided."))


def init_request_guards(app: Flask) -> None:
    app.before_request(refuse_anonymous_api_writes)


def init_app(app: Flask) -> None:
    rate_limits.init_app(app)
    headers.init_app(app)
