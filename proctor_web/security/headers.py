"""Response headers every answer carries: CSP on HTML, nosniff, referrer policy, no-store.

The Content-Security-Policy allows scripts, styles, fonts and connections from this site
only, with no inline script or style: every script is a static file and every style a class
in a stylesheet. Two things widen it, on the one page that needs them:

- a provider's browser worker (``allow_provider_worker``): the worker is started from a
  ``blob:`` URL that imports the provider's script, so that page allows ``blob:`` workers,
  the script's origin, and connections to it and to the learner's own machine, where
  desktop proctoring software listens;
- an exam's content page on another site (``allow_frame_url``), in ``frame-src``;
- ``allow_source(directive, source)`` for any other view that must (an LTI form posted
  back to the platform, say).

``frame-ancestors`` keeps following ``FRAME_ANCESTORS`` (the LMS origins allowed to embed).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, has_request_context, request

#: Kept in the WSGI environ, which lives exactly as long as the request (``g`` may not).
_EXTRA_KEY = "proctor_web.csp_extra"

BASE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "worker-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
}

#: Where desktop proctoring software listens on the learner's machine.
LOCAL_SOFTWARE_SOURCES = ("http://localhost:*", "http://127.0.0.1:*",
                          "ws://localhost:*", "ws://127.0.0.1:*")


def allow_source(directive: str, source: str) -> None:
    """Widen ``directive`` for the current response only."""
    if not has_request_context():
        return
    extra: dict[str, list[str]] = request.environ.setdefault(_EXTRA_KEY, {})
    sources = extra.setdefault(directive, [])
    if source not in sources:
        sources.append(source)


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def allow_frame_url(url: str | None) -> None:
    """The current page embeds ``url`` (an exam's content, often on the LMS's own site)."""
    origin = _origin(url)
    if origin:
        allow_source("frame-src", origin)


def allow_provider_worker(script_url: str | None) -> None:
    """The current page runs a provider's worker script (see the module docstring)."""
    if not script_url:
        return
    allow_source("worker-src", "blob:")
    origin = _origin(script_url)
    if origin:
        allow_source("script-src", origin)
        allow_source("connect-src", origin)
    for source in LOCAL_SOFTWARE_SOURCES:
        allow_source("connect-src", source)


def content_security_policy() -> str:
    extra: dict[str, list[str]] = request.environ.get(_EXTRA_KEY, {})
    directives = {name: list(sources) for name, sources in BASE_POLICY.items()}
    for name, sources in extra.items():
        directives.setdefault(name, ["'self'"]).extend(
            s for s in sources if s not in directives[name])
    directives["frame-ancestors"] = ["'self'", *current_app.config["FRAME_ANCESTORS"]]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def set_security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = content_security_policy()
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        # Pages of signed-in people, JSON with personal data, CSV exports, forms carrying a
        # CSRF token: nothing dynamic here is fit for a shared or browser cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)
