"""Running proctor_web in production: health, readiness, metrics, request logs, proxies, and
the OpenAPI document.

``init_app`` is called once by ``create_app``; like the rest of the factory it does no I/O.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

#: Config key -> ProxyFix argument: how many proxies in front of us set each header.
PROXY_FIX_KEYS = {
    "PROXY_FIX_X_FOR": "x_for",
    "PROXY_FIX_X_PROTO": "x_proto",
    "PROXY_FIX_X_HOST": "x_host",
    "PROXY_FIX_X_PORT": "x_port",
    "PROXY_FIX_X_PREFIX": "x_prefix",
}


def init_app(app: Flask) -> None:
    from proctor_web import openapi
    from proctor_web.extensions import csrf
    from proctor_web.ops import health, logs, metrics

    logs.init_app(app)
    metrics.init_app(app)
    csrf.exempt(health.bp)
    app.register_blueprint(health.bp)
    openapi.init_app(app)
    exempt_from_rate_limits(app)
    trust_proxies(app)


def exempt_from_rate_limits(app: Flask) -> None:
    """Probes, metrics and the API document are never rate-limited: a load balancer polling
    /readyz must not use up anyone's quota, nor be refused when traffic peaks.

    Applies to every Flask-Limiter already bound to ``app`` (they register themselves in
    ``app.extensions["limiter"]``); a limiter bound later must call this again.
    """
    from proctor_web import openapi
    from proctor_web.ops import health

    for limiter in app.extensions.get("limiter", ()):
        for blueprint in (health.bp, openapi.bp):
            limiter.exempt(blueprint, flags=_all_exemption_flags())


def _all_exemption_flags():  # noqa: ANN202  (flask_limiter.ExemptionScope)
    from flask_limiter import ExemptionScope

    return ExemptionScope.APPLICATION | ExemptionScope.DEFAULT | ExemptionScope.META


def trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-* only from as many proxies as configured (none by default)."""
    counts = {arg: int(app.config[key]) for key, arg in PROXY_FIX_KEYS.items()}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)  # type: ignore[method-assign]
