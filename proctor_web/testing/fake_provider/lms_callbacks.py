"""The provider's calls back to the LMS: "ready" and "reviewed", with OAuth2 tokens and retries."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from proctor_web.testing.fake_provider.loopback import is_loopback
from proctor_web.testing.fake_provider.settings import CALLBACK_PATH
from proctor_web.testing.fake_provider.state import ProviderState, utc_now


def _lms_base(lms_host: str | None, fallback: str) -> str:
    """Turn the registration's lms_host into a base URL.

    edx-proctoring sends a full URL, but a bare host is easy to send by mistake; loopback hosts get
    plain http so local demos work, anything else https.
    """
    host = (lms_host or "").strip() or fallback
    if "://" not in host:
        hostname = urlsplit(f"//{host}").hostname or ""
        host = ("http://" if is_loopback(hostname) else "https://") + host
    return host.rstrip("/")


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
            "at": utc_now().isoformat(),
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
        set_onboarding_locked(
            state,
            attempt,
            "approved-in-course" if passed else "rejected",
            expires=utc_now() + timedelta(days=365) if passed else None,
        )


def set_onboarding_locked(
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


def cancel_callbacks_locked(state: ProviderState, attempt_id: str) -> None:
    for key in [key for key in state.timers if key[0] == attempt_id]:
        state.timers.pop(key).cancel()
