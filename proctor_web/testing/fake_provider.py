"""A clean-room fake REST proctoring provider: the provider side of edx-proctoring's REST contract.

proctor_web's REST backend and its demo need a real HTTP peer: something that issues OAuth2 tokens,
accepts exam and attempt registrations and later calls the LMS back with "ready" and "reviewed".
The one public fake (openedx/mockprock) is not installable here, does not start on Python 3.11,
never verifies tokens, always reviews "passed" and has fixed delays. So this module is written from
the documented contract instead, with knobs for the outcomes and failures the tests need.

Everything is kept in memory behind one lock, so a test can start a fresh provider without touching
disk; the ``/_control/`` endpoints let a test inspect or steer it at run time.

Run it with ``python -m proctor_web.testing.fake_provider --help``.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from flask import Flask, Response, abort, jsonify, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

REVIEW_OUTCOMES: tuple[str, ...] = ("passed", "violation", "suspicious", "not_reviewed")
FAIL_MODES: tuple[str | None, ...] = (None, "error500", "hang")
# edx-proctoring blocks the learner when registration answers one of these (`onboarding_errors`).
ONBOARDING_STATUSES: tuple[str, ...] = (
    "onboarding_missing",
    "onboarding_pending",
    "onboarding_failed",
    "onboarding_expired",
)
ATTEMPT_PATCH_STATUSES: tuple[str, ...] = ("started", "submitted", "error")
REQUIRED_ATTEMPT_FIELDS: tuple[str, ...] = ("user_id", "full_name", "email", "lms_host", "status")
CALLBACK_PATH = "/api/edx_proctoring/v1/proctored_exam/attempt/{attempt_id}/{kind}"
JWT_ALGORITHM = "HS256"

DEFAULT_SETTINGS: dict[str, Any] = {
    "CLIENT_ID": "fake-client",
    "CLIENT_SECRET": "fake-secret",
    "LMS_URL": "http://127.0.0.1:5000",
    "LMS_CLIENT_ID": "fake-provider",
    "LMS_CLIENT_SECRET": "fake-provider-secret",
    "REVIEW_OUTCOME": "passed",
    "READY_DELAY_SECONDS": 1.0,
    "REVIEW_DELAY_SECONDS": 2.0,
    "FAIL_MODE": None,
    "HANG_SECONDS": 5.0,
    "ONBOARDING_STATUS": None,
    "TOKEN_TTL_SECONDS": 3600,
    "CALLBACK_TIMEOUT_SECONDS": 10.0,
    "CALLBACK_RETRIES": 3,
    "CALLBACK_BACKOFF_SECONDS": 0.5,
    # edx-platform's LMS expects "JWT"; proctor_web accepts both, and "Bearer" is the OAuth2 norm.
    "CALLBACK_AUTH_SCHEME": "Bearer",
    "ONBOARDING_PAGE_SIZE": 20,
}

# Only these may change through POST /_control/config: the others are identities, and changing
# them would silently invalidate tokens already handed out.
RUNTIME_SETTINGS: frozenset[str] = frozenset(
    {
        "REVIEW_OUTCOME",
        "READY_DELAY_SECONDS",
        "REVIEW_DELAY_SECONDS",
        "FAIL_MODE",
        "HANG_SECONDS",
        "ONBOARDING_STATUS",
        "CALLBACK_RETRIES",
        "CALLBACK_BACKOFF_SECONDS",
        "CALLBACK_TIMEOUT_SECONDS",
    }
)

PROVIDER_NAME = "Fake Proctoring Service"

RULES: dict[str, dict[str, str]] = {
    "en": {
        "allow_notes": "Allow notes",
        "allow_calculator": "Allow a calculator",
        "allow_multiple_monitors": "Allow multiple monitors",
        "allow_internet": "Allow internet access",
    },
    "es": {
        "allow_notes": "Permitir apuntes",
        "allow_calculator": "Permitir calculadora",
        "allow_multiple_monitors": "Permitir varios monitores",
        "allow_internet": "Permitir acceso a internet",
    },
}

INSTRUCTIONS: dict[str, list[str]] = {
    "en": [
        "Select the system check link to open the fake proctoring page.",
        "Keep that page open: the session is reported ready after a short delay.",
        "Return to the exam and start it.",
    ],
    "es": [
        "Selecciona el enlace de comprobación del sistema para abrir la página de supervisión "
        "simulada.",
        "Mantén esa página abierta: la sesión se marcará como lista tras una breve espera.",
        "Vuelve al examen y comiénzalo.",
    ],
}

# A passed review carries no comments, like a real clean session; the others carry one finding
# each, timed in seconds from the start of the session as the contract describes.
REVIEW_COMMENTS: dict[str, list[dict[str, Any]]] = {
    "passed": [],
    "violation": [
        {
            "comment": "A second person was visible in the webcam feed.",
            "status": "violation",
            "start": 12,
            "stop": 40,
            "duration": 28,
        }
    ],
    "suspicious": [
        {
            "comment": "The learner repeatedly looked away from the screen.",
            "status": "suspicious",
            "start": 12,
            "stop": 40,
            "duration": 28,
        }
    ],
    "not_reviewed": [
        {
            "comment": "The webcam recording is incomplete, so the session could not be reviewed.",
            "status": "not_reviewed",
            "start": 12,
            "stop": 40,
            "duration": 28,
        }
    ],
}


def validate_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check provider settings; raise ValueError naming the first bad one.

    Shared by the factory and POST /_control/config so a test cannot put the fake into a state the
    real contract could never produce by accident (a typo in an outcome would otherwise surface much
    later as a confusing LMS-side failure).
    """
    cleaned = dict(values)
    if "REVIEW_OUTCOME" in cleaned and cleaned["REVIEW_OUTCOME"] not in REVIEW_OUTCOMES:
        raise ValueError(f"REVIEW_OUTCOME must be one of {', '.join(REVIEW_OUTCOMES)}")
    if "FAIL_MODE" in cleaned and cleaned["FAIL_MODE"] not in FAIL_MODES:
        raise ValueError("FAIL_MODE must be null, 'error500' or 'hang'")
    if "ONBOARDING_STATUS" in cleaned and cleaned["ONBOARDING_STATUS"] not in (
        None,
        *ONBOARDING_STATUSES,
    ):
        raise ValueError(
            f"ONBOARDING_STATUS must be null or one of {', '.join(ONBOARDING_STATUSES)}"
        )
    for key in (
        "READY_DELAY_SECONDS",
        "REVIEW_DELAY_SECONDS",
        "HANG_SECONDS",
        "CALLBACK_TIMEOUT_SECONDS",
        "CALLBACK_BACKOFF_SECONDS",
    ):
        if key in cleaned:
            cleaned[key] = _non_negative_number(key, cleaned[key])
    for key in ("CALLBACK_RETRIES", "TOKEN_TTL_SECONDS", "ONBOARDING_PAGE_SIZE"):
        if key in cleaned:
            number = _non_negative_number(key, cleaned[key])
            if number != int(number):
                raise ValueError(f"{key} must be a whole number")
            cleaned[key] = int(number)
    for key in ("CLIENT_ID", "CLIENT_SECRET", "LMS_URL", "LMS_CLIENT_ID", "LMS_CLIENT_SECRET"):
        if key in cleaned and (not isinstance(cleaned[key], str) or not cleaned[key]):
            raise ValueError(f"{key} must be a non-empty string")
    if "CALLBACK_AUTH_SCHEME" in cleaned and cleaned["CALLBACK_AUTH_SCHEME"] not in (
        "Bearer",
        "JWT",
    ):
        raise ValueError("CALLBACK_AUTH_SCHEME must be 'Bearer' or 'JWT'")
    return cleaned


def _non_negative_number(key: str, value: Any) -> float:
    # bool is an int subclass; True as a delay is always a mistake.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < 0
        or not math.isfinite(value)
    ):
        raise ValueError(f"{key} must be a non-negative number")
    return float(value)


def _now() -> datetime:
    return datetime.now(UTC)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class ProviderState:
    """All mutable provider data; every read or write of it happens under ``lock``."""

    settings: dict[str, Any]
    initial_settings: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    exams: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # course_id -> user_id -> {user_id, status, expiration_date}
    onboarding: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    callback_log: list[dict[str, Any]] = field(default_factory=list)
    # (lms token url, client id) -> (access token, monotonic expiry)
    lms_tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    timers: dict[tuple[str, str], threading.Timer] = field(default_factory=dict)
    # Replaced on every reset. Background work captures the current one and stops (and stops
    # writing) once it is set, so a callback still in flight from an earlier test can never leak
    # into a fresh state.
    epoch: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        with self.lock:
            self._cancel_background_locked()
            self.settings = dict(self.initial_settings)
            self.exams.clear()
            self.attempts.clear()
            self.onboarding.clear()
            self.callback_log.clear()
            self.lms_tokens.clear()

    def close(self) -> None:
        """Cancel pending callbacks and wake any hanging request, for a clean server shutdown."""
        with self.lock:
            self._cancel_background_locked()

    def _cancel_background_locked(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        self.epoch.set()
        self.epoch = threading.Event()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "settings": {key: self.settings[key] for key in sorted(RUNTIME_SETTINGS)},
                "exams": {key: dict(value) for key, value in self.exams.items()},
                "attempts": {key: dict(value) for key, value in self.attempts.items()},
                "onboarding": {
                    course: list(users.values()) for course, users in self.onboarding.items()
                },
                "callback_log": [dict(entry) for entry in self.callback_log],
                "pending_callbacks": sorted(f"{aid}:{kind}" for aid, kind in self.timers),
            }


def _get_state(app: Flask) -> ProviderState:
    state: ProviderState = app.extensions["fake_provider"]
    return state


# --------------------------------------------------------------------------------------------------
# Callbacks to the LMS
# --------------------------------------------------------------------------------------------------


def _lms_base(lms_host: str | None, fallback: str) -> str:
    """Turn the registration's lms_host into a base URL.

    edx-proctoring sends a full URL, but a bare host is easy to send by mistake; loopback hosts get
    plain http so local demos work, anything else https.
    """
    host = (lms_host or "").strip() or fallback
    if "://" not in host:
        hostname = urlsplit(f"//{host}").hostname or ""
        host = ("http://" if _is_loopback(hostname) else "https://") + host
    return host.rstrip("/")


def review_body(status: str) -> dict[str, Any]:
    """The JSON the fake POSTs to ``.../reviewed`` for a given outcome."""
    return {
        "status": status,
        "comments": [dict(comment) for comment in REVIEW_COMMENTS.get(status, [])],
        "reviewed_by": None,
    }


class _TokenError(Exception):
    """The LMS token endpoint failed; ``retryable`` says whether another try could help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def _lms_token(
    state: ProviderState, base: str, settings: dict[str, Any], *, use_cache: bool
) -> tuple[str, bool]:
    """Return (token, came_from_cache); tokens are reused until shortly before they expire."""
    token_url = f"{base}/oauth2/access_token"
    cache_key = (token_url, settings["LMS_CLIENT_ID"])
    if use_cache:
        with state.lock:
            cached = state.lms_tokens.get(cache_key)
        if cached and cached[1] > time.monotonic():
            return cached[0], True
    try:
        response = requests.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": settings["LMS_CLIENT_ID"],
                "client_secret": settings["LMS_CLIENT_SECRET"],
            },
            timeout=settings["CALLBACK_TIMEOUT_SECONDS"],
        )
    except requests.RequestException as exc:
        raise _TokenError(
            f"token request failed: {exc.__class__.__name__}: {exc}", retryable=True
        ) from exc
    if response.status_code != 200:
        raise _TokenError(
            f"token request answered {response.status_code}", retryable=response.status_code >= 500
        )
    try:
        payload = response.json()
        token = payload["access_token"]
        expires_in = float(payload.get("expires_in", 300))
    except (ValueError, KeyError, TypeError) as exc:
        raise _TokenError(
            "token response is not a JSON object with access_token", retryable=False
        ) from exc
    # Renew a little early so a token never expires between fetching it and using it.
    expires_at = time.monotonic() + max(expires_in - 30, 0)
    with state.lock:
        state.lms_tokens[cache_key] = (token, expires_at)
    return token, False


def deliver_callback(
    state: ProviderState,
    attempt_id: str,
    kind: str,
    body: dict[str, Any],
    *,
    epoch: threading.Event | None = None,
) -> dict[str, Any]:
    """POST one ready/reviewed callback to the LMS, retrying transient failures; report the tries.

    The lock is not held during network I/O, so the provider keeps answering while the LMS is slow
    (the LMS may well call the provider back while it handles the callback).
    """
    with state.lock:
        if epoch is None:
            epoch = state.epoch
        settings = dict(state.settings)
        attempt = state.attempts.get(attempt_id)
        lms_host = attempt.get("lms_host") if attempt else None
    base = _lms_base(lms_host, settings["LMS_URL"])
    url = base + CALLBACK_PATH.format(attempt_id=attempt_id, kind=kind)
    tries: list[dict[str, Any]] = []
    max_tries = settings["CALLBACK_RETRIES"] + 1
    use_cache = True
    delivered = False
    for number in range(1, max_tries + 1):
        if epoch.is_set():
            break
        entry: dict[str, Any] = {
            "attempt_id": attempt_id,
            "kind": kind,
            "url": url,
            "try": number,
            "status_code": None,
            "error": None,
            "at": _now().isoformat(),
        }
        retryable = False
        token_from_cache = False
        try:
            token, token_from_cache = _lms_token(state, base, settings, use_cache=use_cache)
            response = requests.post(
                url,
                json=body,
                headers={"Authorization": f"{settings['CALLBACK_AUTH_SCHEME']} {token}"},
                timeout=settings["CALLBACK_TIMEOUT_SECONDS"],
            )
            entry["status_code"] = response.status_code
            delivered = 200 <= response.status_code < 300
            retryable = response.status_code >= 500
            # A cached token the LMS now refuses (it restarted with a new key?) earns one refresh.
            if response.status_code == 401 and token_from_cache:
                retryable = True
                use_cache = False
        except _TokenError as exc:
            entry["error"] = str(exc)
            retryable = exc.retryable
        except requests.RequestException as exc:
            entry["error"] = f"{exc.__class__.__name__}: {exc}"
            retryable = True
        with state.lock:
            if epoch.is_set():
                break
            state.callback_log.append(entry)
            if delivered:
                _record_delivery_locked(state, attempt_id, kind, body)
        tries.append(entry)
        if delivered or not retryable or number == max_tries:
            break
        epoch.wait(settings["CALLBACK_BACKOFF_SECONDS"] * (2 ** (number - 1)))
    return {"delivered": delivered, "url": url, "body": body, "tries": tries}


def _record_delivery_locked(
    state: ProviderState, attempt_id: str, kind: str, body: dict[str, Any]
) -> None:
    attempt = state.attempts.get(attempt_id)
    if attempt is None:
        return
    if kind == "ready":
        # Only a fresh session becomes ready; a late ready must not rewind one already started.
        if attempt["status"] == "created":
            attempt["status"] = "ready"
        return
    attempt["review_status"] = body.get("status")
    if attempt.get("is_sample_attempt"):
        passed = body.get("status") == "passed"
        _set_onboarding_locked(
            state,
            attempt,
            "approved-in-course" if passed else "rejected",
            expires=_now() + timedelta(days=365) if passed else None,
        )


def _set_onboarding_locked(
    state: ProviderState, attempt: dict[str, Any], status: str, *, expires: datetime | None = None
) -> None:
    exam = state.exams.get(attempt["exam_id"], {})
    course_id = str(exam.get("course_id") or "")
    if not course_id:
        return
    state.onboarding.setdefault(course_id, {})[str(attempt["user_id"])] = {
        "user_id": str(attempt["user_id"]),
        "status": status,
        "expiration_date": expires.isoformat() if expires else None,
    }


def schedule_callback(
    state: ProviderState, attempt_id: str, kind: str, body: dict[str, Any], delay: float
) -> None:
    """Deliver a callback after ``delay`` seconds in a daemon thread, replacing one already pending.

    Replacing rather than stacking means reloading the download page does not flood the LMS with
    readies.
    """

    def fire(epoch: threading.Event) -> None:
        with state.lock:
            if state.timers.get((attempt_id, kind)) is threading.current_thread():
                del state.timers[(attempt_id, kind)]
            if epoch.is_set() or attempt_id not in state.attempts:
                return
        deliver_callback(state, attempt_id, kind, body, epoch=epoch)

    with state.lock:
        previous = state.timers.pop((attempt_id, kind), None)
        if previous is not None:
            previous.cancel()
        timer = threading.Timer(delay, fire, args=(state.epoch,))
        timer.daemon = True
        state.timers[(attempt_id, kind)] = timer
        timer.start()


def _cancel_callbacks_locked(state: ProviderState, attempt_id: str) -> None:
    for key in [key for key in state.timers if key[0] == attempt_id]:
        state.timers.pop(key).cancel()


# --------------------------------------------------------------------------------------------------
# The Flask app
# --------------------------------------------------------------------------------------------------


def _language() -> str:
    # edx-proctoring sends e.g. "es;en", which is not a well-formed header; a prefix test copes.
    return (
        "es"
        if request.headers.get("Accept-Language", "").strip().lower().startswith("es")
        else "en"
    )


def _json_body() -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if payload is None and not request.data:
        return {}
    if not isinstance(payload, dict):
        abort(400, description="the request body must be a JSON object")
    return payload


def _base_url() -> str:
    return request.host_url.rstrip("/")


def _verify_bearer(settings: dict[str, Any]) -> dict[str, Any]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("bearer", "jwt") or not token.strip():
        _unauthorized("missing bearer token")
    try:
        return jwt.decode(
            token.strip(),
            settings["CLIENT_SECRET"],
            algorithms=[JWT_ALGORITHM],
            issuer=settings["CLIENT_ID"],
            options={"require": ["exp", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        _unauthorized("token expired")
    except jwt.InvalidTokenError as exc:
        _unauthorized(f"invalid token: {exc}")


def _unauthorized(detail: str) -> NoReturn:
    response = jsonify(detail=detail)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    abort(response)


def _load_exam(state: ProviderState, exam_id: str) -> dict[str, Any]:
    exam = state.exams.get(exam_id)
    if exam is None:
        abort(404, description=f"exam {exam_id} not found")
    return exam


def _load_attempt(state: ProviderState, exam_id: str, attempt_id: str) -> dict[str, Any]:
    _load_exam(state, exam_id)
    attempt = state.attempts.get(attempt_id)
    if attempt is None or attempt["exam_id"] != exam_id:
        abort(404, description=f"attempt {attempt_id} not found in exam {exam_id}")
    return attempt


def _download_url(exam_id: str, attempt_id: str) -> str:
    return f"{_base_url()}/download?{urlencode({'exam': exam_id, 'attempt': attempt_id})}"


def _attempt_view(attempt: dict[str, Any], lang: str) -> dict[str, Any]:
    return {
        **attempt,
        "instructions": list(INSTRUCTIONS[lang]),
        "download_url": _download_url(attempt["exam_id"], attempt["id"]),
    }


def _html_page(title: str, body: str, status: int = 200) -> Response:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Response(page, status=status, mimetype="text/html")


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
    _register_api(app, state)
    _register_pages(app, state)
    _register_control(app, state)
    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        # Machine-facing paths answer JSON so the REST backend under test can always parse an error.
        if request.path.startswith(("/api/", "/_control/", "/oauth2/")):
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
            if not _is_loopback(request.remote_addr or ""):
                abort(403, description="control endpoints are only available from loopback")
            return None
        if not path.startswith("/api/v1/"):
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
        if not path.startswith("/api/v1/instructor/"):
            _verify_bearer(settings)
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


def _register_api(app: Flask, state: ProviderState) -> None:
    @app.get("/api/v1/config/")
    def provider_config() -> Response:
        lang = _language()
        return jsonify(
            name=PROVIDER_NAME,
            download_url=f"{_base_url()}/download",
            rules=dict(RULES[lang]),
            instructions=list(INSTRUCTIONS[lang]),
        )

    @app.post("/api/v1/exam/")
    def create_exam() -> Response:
        payload = _json_body()
        exam_id = uuid.uuid4().hex
        now = _now().isoformat()
        # The LMS sends its own primary key as "id"; keep it, but under a name that cannot clash.
        lms_exam_id = payload.pop("id", None)
        exam = {
            **payload,
            "id": exam_id,
            "lms_exam_id": lms_exam_id,
            "created": now,
            "modified": now,
        }
        with state.lock:
            state.exams[exam_id] = exam
        return jsonify(id=exam_id)

    @app.route("/api/v1/exam/<exam_id>/", methods=["GET", "POST"])
    def exam_detail(exam_id: str) -> Response:
        payload = _json_body() if request.method == "POST" else {}
        with state.lock:
            exam = _load_exam(state, exam_id)
            if request.method == "GET":
                return jsonify(dict(exam))
            payload.pop("id", None)
            exam.update(payload, modified=_now().isoformat())
        return jsonify(id=exam_id)

    @app.post("/api/v1/exam/<exam_id>/attempt/")
    def register_attempt(exam_id: str) -> tuple[Response, int] | Response:
        payload = _json_body()
        missing = [name for name in REQUIRED_ATTEMPT_FIELDS if payload.get(name) in (None, "")]
        if missing:
            return jsonify(
                detail=f"missing required fields: {', '.join(missing)}", missing=missing
            ), 400
        attempt_id = uuid.uuid4().hex
        now = _now().isoformat()
        with state.lock:
            _load_exam(state, exam_id)
            status = state.settings["ONBOARDING_STATUS"] or "created"
            state.attempts[attempt_id] = {
                **payload,
                "id": attempt_id,
                "exam_id": exam_id,
                "status": status,
                "review_status": None,
                "created": now,
                "modified": now,
            }
        return jsonify(id=attempt_id, status=status)

    @app.route("/api/v1/exam/<exam_id>/attempt/<attempt_id>/", methods=["GET", "PATCH", "DELETE"])
    def attempt_detail(exam_id: str, attempt_id: str) -> tuple[Response, int] | Response:
        lang = _language()
        payload = _json_body() if request.method == "PATCH" else {}
        with state.lock:
            attempt = _load_attempt(state, exam_id, attempt_id)
            if request.method == "GET":
                return jsonify(_attempt_view(attempt, lang))
            if request.method == "DELETE":
                del state.attempts[attempt_id]
                _cancel_callbacks_locked(state, attempt_id)
                return jsonify(status="deleted")
            status = payload.get("status")
            if status not in ATTEMPT_PATCH_STATUSES:
                return jsonify(
                    detail=f"status must be one of {', '.join(ATTEMPT_PATCH_STATUSES)}"
                ), 400
            attempt["status"] = status
            attempt["modified"] = _now().isoformat()
            outcome = state.settings["REVIEW_OUTCOME"]
            delay = state.settings["REVIEW_DELAY_SECONDS"]
            if status == "submitted" and attempt.get("is_sample_attempt"):
                _set_onboarding_locked(state, attempt, "pending")
        if status == "submitted":
            # The outcome is fixed now, not when the timer fires, so changing the knob later cannot
            # retroactively change a review already "in progress".
            schedule_callback(state, attempt_id, "reviewed", review_body(outcome), delay)
        return jsonify(id=attempt_id, status=status)

    @app.delete("/api/v1/user/<user_id>/")
    def retire_user(user_id: str) -> Response:
        with state.lock:
            for attempt in state.attempts.values():
                if str(attempt.get("user_id")) == user_id:
                    attempt.update(full_name="", email="", retired=True)
            for users in state.onboarding.values():
                users.pop(user_id, None)
        return jsonify(True)

    @app.get("/api/v1/courses/<course_id>/onboarding_statuses")
    @app.get("/api/v1/courses/<course_id>/onboarding_statuses/")
    def onboarding_statuses(course_id: str) -> Response:
        user_filter = request.args.get("user_id")
        status_filter = {s for s in request.args.get("status", "").split(",") if s}
        with state.lock:
            default_size = state.settings["ONBOARDING_PAGE_SIZE"] or 20
            entries = [dict(entry) for entry in state.onboarding.get(course_id, {}).values()]
        if user_filter is not None:
            # One learner: the contract answers that learner's entry itself, not a page, and
            # a learner the provider never met has "no-profile".
            for entry in entries:
                if entry["user_id"] == user_filter:
                    return jsonify(entry)
            return jsonify(user_id=user_filter, status="no-profile", expiration_date=None)
        entries = [
            entry
            for entry in entries
            if not status_filter or entry["status"] in status_filter
        ]
        entries.sort(key=lambda entry: entry["user_id"])
        page = request.args.get("page", default=1, type=int) or 1
        page_size = min(
            max(request.args.get("page_size", default=default_size, type=int) or default_size, 1),
            100,
        )
        num_pages = max(1, math.ceil(len(entries) / page_size))
        if page < 1 or page > num_pages:
            abort(404, description="invalid page")

        def page_link(number: int) -> str:
            args = request.args.to_dict()
            args.update(page=str(number), page_size=str(page_size))
            return f"{request.base_url}?{urlencode(args)}"

        return jsonify(
            results=entries[(page - 1) * page_size : page * page_size],
            count=len(entries),
            num_pages=num_pages,
            next=page_link(page + 1) if page < num_pages else None,
            previous=page_link(page - 1) if page > 1 else None,
        )

    @app.get("/api/v1/instructor/<client_id>/")
    def instructor_dashboard(client_id: str) -> Response:
        with state.lock:
            settings = dict(state.settings)
        token = request.args.get("jwt", "")
        try:
            if client_id != settings["CLIENT_ID"]:
                raise jwt.InvalidIssuerError("unknown client")
            claims = jwt.decode(
                token,
                settings["CLIENT_SECRET"],
                algorithms=[JWT_ALGORITHM],
                issuer=client_id,
                options={"require": ["exp", "iss", "course_id"]},
            )
        except jwt.InvalidTokenError as exc:
            return _html_page("Access denied", f"<p>{escape(str(exc))}</p>", status=403)
        user: dict[str, Any] = claims["user"] if isinstance(claims.get("user"), dict) else {}
        rows = [
            ("course_id", claims.get("course_id")),
            ("exam_id", claims.get("exam_id")),
            ("attempt_id", claims.get("attempt_id")),
            ("user", user.get("full_name") or user.get("id")),
            ("configuration view", "yes" if claims.get("config") else "no"),
        ]
        items = "".join(
            f"<dt>{escape(k)}</dt><dd>{escape(v if v is not None else '-')}</dd>" for k, v in rows
        )
        return _html_page(f"{PROVIDER_NAME}: instructor dashboard", f"<dl>{items}</dl>")


def _register_pages(app: Flask, state: ProviderState) -> None:
    @app.get("/download")
    def download() -> Response:
        exam_id = request.args.get("exam", "")
        attempt_id = request.args.get("attempt", "")
        with state.lock:
            attempt = state.attempts.get(attempt_id)
            known = attempt is not None and attempt["exam_id"] == exam_id
            delay = state.settings["READY_DELAY_SECONDS"]
        if not known:
            return _html_page(
                "Unknown exam session", "<p>This system check link is not valid.</p>", status=404
            )
        schedule_callback(state, attempt_id, "ready", {"status": "ready"}, delay)
        return _html_page(
            f"{PROVIDER_NAME}: system check",
            "<p>Camera: OK. Microphone: OK. Network: OK.</p>"
            f"<p>Your session will be reported ready in about {delay:g} seconds. "
            "You can return to the exam.</p>",
        )


def _register_control(app: Flask, state: ProviderState) -> None:
    @app.get("/_control/state")
    def control_state() -> Response:
        return jsonify(state.snapshot())

    @app.post("/_control/config")
    def control_config() -> tuple[Response, int] | Response:
        payload = _json_body()
        unknown = sorted(set(payload) - RUNTIME_SETTINGS)
        if unknown:
            return jsonify(detail=f"not changeable at run time: {', '.join(unknown)}"), 400
        try:
            cleaned = validate_settings(payload)
        except ValueError as exc:
            return jsonify(detail=str(exc)), 400
        with state.lock:
            state.settings.update(cleaned)
            current = {key: state.settings[key] for key in sorted(RUNTIME_SETTINGS)}
        return jsonify(current)

    def fire_now(
        attempt_id: str, kind: str, default_status: str, make_body: Callable[[str], dict[str, Any]]
    ) -> Response:
        payload = _json_body()
        status = payload.get("status", default_status)
        # Any string is allowed on purpose: tests use this to feed the LMS statuses it must reject.
        if not isinstance(status, str):
            abort(400, description="status must be a string")
        with state.lock:
            if attempt_id not in state.attempts:
                abort(404, description=f"attempt {attempt_id} not found")
            pending = state.timers.pop((attempt_id, kind), None)
            if pending is not None:
                pending.cancel()
        return jsonify(deliver_callback(state, attempt_id, kind, make_body(status)))

    @app.post("/_control/attempt/<attempt_id>/ready")
    def control_ready(attempt_id: str) -> Response:
        return fire_now(attempt_id, "ready", "ready", lambda status: {"status": status})

    @app.post("/_control/attempt/<attempt_id>/review")
    def control_review(attempt_id: str) -> Response:
        with state.lock:
            outcome = state.settings["REVIEW_OUTCOME"]
        return fire_now(attempt_id, "reviewed", outcome, review_body)

    @app.post("/_control/onboarding")
    def control_onboarding() -> tuple[Response, int] | Response:
        """Seed one onboarding status, for tests of the instructor onboarding panel."""
        payload = _json_body()
        fields = {name: payload.get(name) for name in ("course_id", "user_id", "status")}
        if not all(isinstance(value, str) and value for value in fields.values()):
            return jsonify(detail="course_id, user_id and status are required strings"), 400
        course_id, user_id = str(fields["course_id"]), str(fields["user_id"])
        entry = {
            "user_id": user_id,
            "status": fields["status"],
            "expiration_date": payload.get("expiration_date"),
        }
        with state.lock:
            state.onboarding.setdefault(course_id, {})[user_id] = entry
        return jsonify(entry)

    @app.post("/_control/reset")
    def control_reset() -> Response:
        state.reset()
        return jsonify(status="reset")


# --------------------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------------------


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass
class BackgroundServer:
    """A real werkzeug server on a daemon thread, ended by ``stop()`` or the ``with`` block."""

    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{_url_host(self.server.host)}:{self.server.server_port}"

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
    if not _is_loopback(host):
        raise ValueError(f"refusing to serve on non-loopback address {host!r}")
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    return BackgroundServer(app=app, server=server, thread=thread)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m proctor_web.testing.fake_provider",
        description="Run the fake REST proctoring provider (test and demo use only).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (loopback only by default)"
    )
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow binding a non-loopback address; the /_control/ endpoints stay loopback-only",
    )
    parser.add_argument("--port", type=int, default=11136, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--lms-url", default=DEFAULT_SETTINGS["LMS_URL"], help="fallback LMS base URL"
    )
    parser.add_argument("--lms-client-id", default=DEFAULT_SETTINGS["LMS_CLIENT_ID"])
    parser.add_argument("--lms-client-secret", default=DEFAULT_SETTINGS["LMS_CLIENT_SECRET"])
    parser.add_argument("--client-id", default=DEFAULT_SETTINGS["CLIENT_ID"])
    parser.add_argument("--client-secret", default=DEFAULT_SETTINGS["CLIENT_SECRET"])
    parser.add_argument(
        "--review-outcome", choices=REVIEW_OUTCOMES, default=DEFAULT_SETTINGS["REVIEW_OUTCOME"]
    )
    parser.add_argument(
        "--ready-delay", type=float, default=DEFAULT_SETTINGS["READY_DELAY_SECONDS"]
    )
    parser.add_argument(
        "--review-delay", type=float, default=DEFAULT_SETTINGS["REVIEW_DELAY_SECONDS"]
    )
    parser.add_argument("--onboarding-status", choices=ONBOARDING_STATUSES, default=None)
    parser.add_argument("--fail-mode", choices=("error500", "hang"), default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the fake provider until interrupted."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not _is_loopback(args.host) and not args.allow_non_loopback:
        parser.error(
            f"refusing to bind non-loopback address {args.host!r} "
            "(pass --allow-non-loopback to insist)"
        )
    try:
        app = create_fake_provider(
            {
                "CLIENT_ID": args.client_id,
                "CLIENT_SECRET": args.client_secret,
                "LMS_URL": args.lms_url,
                "LMS_CLIENT_ID": args.lms_client_id,
                "LMS_CLIENT_SECRET": args.lms_client_secret,
                "REVIEW_OUTCOME": args.review_outcome,
                "READY_DELAY_SECONDS": args.ready_delay,
                "REVIEW_DELAY_SECONDS": args.review_delay,
                "ONBOARDING_STATUS": args.onboarding_status,
                "FAIL_MODE": args.fail_mode,
            }
        )
    except ValueError as exc:
        parser.error(str(exc))
    server = make_server(args.host, args.port, app, threaded=True)
    url = f"http://{_url_host(args.host)}:{server.server_port}"
    print(f"Fake proctoring provider listening on {url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        _get_state(app).close()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
