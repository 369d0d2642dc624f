"""Sessions inside the LMS iframe, where browsers block third-party cookies.

Two layers, both on for every session an LTI launch opened:

1. The session cookie is sent ``SameSite=None; Secure; Partitioned`` (CHIPS): browsers that
   block third-party cookies still keep it, in a jar partitioned by the LMS's site.
2. For browsers that block those too, the page carries a short-lived signed copy of the
   session (the *frame token*): ``static/js/lti-frame.js`` adds it to same-site links and
   forms (``lti_session``) and to its fetch/XHR calls (``X-Proctor-Session``), redirects
   carry it in their ``Location``, and every response to such a request sends the fresh
   one back. A token is bound to its launch (the launch id and the browser fingerprint of
   Flask-Login's strong session protection live inside it) and expires after
   ``LTI_SESSION_TOKEN_MAX_AGE`` seconds without use.

Secure cookies need https, or a host browsers treat as trustworthy (localhost, 127.0.0.1).
"""

from __future__ import annotations

import functools
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

#: The session key that marks a session opened by an LTI launch.
LTI_SESSION_KEY = "_lti"
TOKEN_PARAMETER = "lti_session"
TOKEN_HEADER = "X-Proctor-Session"
TOKEN_SALT = "lti-frame-session"


def _token_serializer(app: Flask) -> URLSafeTimedSerializer:
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    return URLSafeTimedSerializer(app.secret_key, salt=TOKEN_SALT,
                                  serializer=interface.serializer)


def _thawed(value: Any) -> Any:
    """A copy a request may change without touching the cached original."""
    if isinstance(value, dict):
        return {key: _thawed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_thawed(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_thawed(item) for item in value)
    return value


class FrameSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions, with the frame token and partitioned cookies for LTI.

    A learner's browser sends the same session cookie with every poll, so each worker keeps
    the cookies it verified lately (``_verified``, by the serializer of the current keys and
    the exact cookie text): the HMAC check, the decompression and the JSON decoding run once
    per cookie, not once per request. The age is checked on every request against the
    signing time the cookie carries, as the serializer would; a cookie that fails
    verification is never cached.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}
        self._verified = functools.lru_cache(maxsize=4096)(self._verify)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer, built once per set of keys (Flask builds one per request)."""
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)  # Flask's order
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    @staticmethod
    def _verify(serializer: URLSafeTimedSerializer, cookie: str) -> tuple[int, Any]:
        payload, signed_at = serializer.make_signer(serializer.salt).unsign(
            cookie, return_timestamp=True)
        return int(signed_at.timestamp()), serializer.load_payload(payload)

    def _cookie_data(self, app: Flask, request: Any) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        try:
            signed_at, data = self._verified(serializer, cookie)
        except BadSignature:
            return self.session_class()
        age = int(time.time()) - signed_at  # whole seconds, as itsdangerous counts them
        if not 0 <= age <= app.permanent_session_lifetime.total_seconds() or not isinstance(
                data, dict):
            return self.session_class()
        return self.session_class(_thawed(data))

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        from_cookie = self._cookie_data(app, request)
        data = self._token_data(app, request)
        if data is None:
            return from_cookie
        cookie_launch = (from_cookie or {}).get(LTI_SESSION_KEY, {}).get("launch")
        if cookie_launch is not None and cookie_launch == data[LTI_SESSION_KEY].get("launch"):
            # The cookie of the same launch is at least as fresh as any token a page holds.
            return from_cookie
        request.environ["proctor_web.frame_token"] = True
        return self.session_class(data)

    @staticmethod
    def _token_data(app: Flask, request: Any) -> dict[str, Any] | None:
        # The header and the form field are set by our script from the page's latest token;
        # a token in the URL may be older (a form posting back to its own URL).
        token = request.headers.get(TOKEN_HEADER)
        if not token and request.method == "POST" and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                token = request.form.get(TOKEN_PARAMETER)
            except HTTPException:
                # A body the request guard refuses (too large...): it answers, not us.
                return None
        token = token or request.args.get(TOKEN_PARAMETER)
        if not token or not app.secret_key:
            return None
        try:
            data = _token_serializer(app).loads(
                token, max_age=app.config["LTI_SESSION_TOKEN_MAX_AGE"])
        except BadSignature:
            return None
        if isinstance(data, dict) and isinstance(data.get(LTI_SESSION_KEY), dict):
            return data
        return None

    def _is_lti(self) -> bool:
        return bool(g.get("lti_cookie"))

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if self._is_lti() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return True if self._is_lti() else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return True if self._is_lti() else super().get_cookie_partitioned(app)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        # Also when a launch session is being cleared: the deletion must match the cookie.
        g.lti_cookie = bool(session.get(LTI_SESSION_KEY)) or bool(g.get("lti_session_seen"))
        super().save_session(app, session, response)


def frame_origins() -> list[str]:
    """Origins allowed to frame us and to receive our postMessages, for this request: the
    configured LMS origins, and the platform's when an LTI launch opened the session."""
    extra = g.get("lti_frame_origins") or lti_state().get("origins") or []
    return list(dict.fromkeys([*current_app.config["FRAME_ANCESTORS"], *extra]))


def is_lti_session() -> bool:
    return bool(session.get(LTI_SESSION_KEY))


def lti_state() -> dict[str, Any]:
    value = session.get(LTI_SESSION_KEY)
    return value if isinstance(value, dict) else {}


def frame_token() -> str:
    """The signed copy of the current session the page carries (empty outside LTI)."""
    if not is_lti_session():
        return ""
    return _token_serializer(current_app).dumps(dict(session))


def came_with_token() -> bool:
    return bool(request.environ.get("proctor_web.frame_token"))


def with_token(location: str, token: str) -> str:
    """``location`` with the frame token, if it is a path on this site."""
    parts = urlsplit(location)
    if parts.netloc and parts.netloc != request.host:
        return location
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k != TOKEN_PARAMETER]
    query.append((TOKEN_PARAMETER, token))
    return urlunsplit(parts._replace(query=urlencode(query)))


def carry_token(response: Response) -> Response:
    """Give an LTI page's redirects and XHR answers the fresh token (after_request)."""
    if request.environ.get("proctor_web.frame_token") or is_lti_session():
        g.lti_session_seen = True
    if not is_lti_session() or request.endpoint == "static":
        return response
    token = frame_token()
    response.headers[TOKEN_HEADER] = token
    if response.status_code in (301, 302, 303, 307, 308) and response.location:
        response.location = with_token(response.location, token)
    # The token may sit in a URL: never hand it to another site as a referrer.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers["Cache-Control"] = "no-store"
    return response
