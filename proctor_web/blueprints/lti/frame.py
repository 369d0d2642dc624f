"""What every response does for pages an LMS frames: our frame session, the platform's
origin in ``frame-ancestors``, and the template values the frame layout needs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import g, has_request_context
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from proctor_web.blueprints.lti.blueprint import bp
from proctor_web.lti.tool import frame_session
from proctor_web.lti.tool.frame_session import FrameSessionInterface, frame_origins


def add_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(p for p in (parts.query, urlencode(params)) if p)
    return urlunsplit(parts._replace(query=query))


def _allow_framing(response: Response) -> Response:
    lti_origins = g.get("lti_frame_origins") or frame_session.lti_state().get("origins")
    if g.get("lti_frame_any"):
        lti_origins = ["*"]
    if not lti_origins:
        return response
    origins = " ".join(lti_origins)
    policy = response.headers.get("Content-Security-Policy")
    directives = [d.strip() for d in (policy or "").split(";") if d.strip()]
    if not any(d.startswith("frame-ancestors") for d in directives):
        directives.append("frame-ancestors 'self'")
    # The platform frames us, and our forms may post to it (the deep linking answer).
    directives = [f"{d} {origins}" if d.startswith(("frame-ancestors", "form-action")) else d
                  for d in directives]
    response.headers["Content-Security-Policy"] = "; ".join(directives)
    # X-Frame-Options cannot name another site; frame-ancestors says it all.
    response.headers.pop("X-Frame-Options", None)
    return response


def lti_response_headers(response: Response) -> Response:
    response = frame_session.carry_token(response)
    return _allow_framing(response)


@bp.record_once
def _install(state: Any) -> None:
    app = state.app
    app.session_interface = FrameSessionInterface()
    # First in the list, so it runs last: after every other hook has set its headers.
    app.after_request_funcs.setdefault(None, []).insert(0, lti_response_headers)


@bp.app_context_processor
def frame_template_values() -> dict[str, Any]:
    # Emails are rendered outside any request: no session, no frame.
    state = frame_session.lti_state() if has_request_context() else {}
    in_lti = bool(state)
    return {
        "lti_session": in_lti,
        # Opened in a new window, the page keeps its normal layout.
        "lti_frame": in_lti and state.get("target") != "window",
        "lti_return_url": _return_url(state) if in_lti else None,
        "lti_frame_token": frame_session.frame_token,
        "lti_frame_origins": frame_origins,
    }


def _return_url(state: dict[str, Any]) -> str | None:
    if not state.get("return_url"):
        return None
    return add_query(state["return_url"], lti_msg=_("Back from the exam tool."))


def platform_origins(*urls: str | None) -> list[str]:
    from urllib.parse import urlsplit

    origins = []
    for url in urls:
        if url:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") and parts.netloc:
                origins.append(f"{parts.scheme}://{parts.netloc}")
    return list(dict.fromkeys(origins))


