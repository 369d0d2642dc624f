"""Access tokens for a platform's LTI Advantage services (NRPS, AGS), and calls with them.

The platform's token endpoint grants them for the client-credentials grant with a JWT client
assertion signed by our LTI key (1EdTech Security Framework 4.1): ``iss`` = ``sub`` = our
client id, ``aud`` = the token URL, a fresh ``jti`` and a short ``exp``. Tokens are cached in
the process per (platform, scopes) until shortly before they expire, so a roster sync or a
burst of scores asks for one token, not one per request.

``service_request`` is the one road to a platform's services: it adds the bearer token,
retries once with a fresh token when the platform answers 401 (a token revoked or expired
early), and turns every failure into ``PlatformServiceError`` saying whether retrying later
may help (network errors, 429, 5xx) or not (other 4xx).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from flask import current_app
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.lti.keys import ensure_signing_key, sign_jwt
from proctor_web.models import LtiKey, LtiPlatform

log = logging.getLogger(__name__)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = timedelta(minutes=5)
#: A cached token is not used in its last minute: it could expire on the way.
EXPIRY_MARGIN = timedelta(seconds=60)
DEFAULT_TIMEOUT_SECONDS = 10.0


class PlatformServiceError(Exception):
    """A platform service call failed. ``retryable``: a later try may succeed."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class _CachedToken:
    value: str
    use_until: datetime


_cache: dict[tuple[Any, ...], _CachedToken] = {}
_cache_lock = threading.Lock()


def _cache_key(platform: LtiPlatform, scopes: Iterable[str]) -> tuple[Any, ...]:
    # Keyed by the registration itself too: an edited token URL or client id is a new cache.
    return (platform.id, platform.issuer, platform.client_id, platform.auth_token_url,
            frozenset(scopes))


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def forget_token(platform: LtiPlatform, scopes: Iterable[str]) -> None:
    with _cache_lock:
        _cache.pop(_cache_key(platform, scopes), None)


def _timeout() -> float:
    return float(current_app.config.get("LTI_SERVICE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


def _require_published_key(now: datetime) -> None:
    """Refuse to sign with a key nobody can see yet.

    The platform verifies our assertion against /lti/jwks.json while we wait for its answer,
    so a key created in this very transaction would be unknown to it (and on SQLite its key
    set request would queue behind our write lock). A missing key is created here and the
    call reported as retryable: the caller's commit publishes it for the next try. Launches
    and the key set endpoint create the key too, so this is only met on a fresh install.
    """
    if db.session.execute(select(LtiKey.id).where(LtiKey.retired_at.is_(None)).limit(1)).first():
        return
    ensure_signing_key(now)
    raise PlatformServiceError("proctor_web's LTI signing key was only just created; the LMS "
                               "can check it once it is saved. Try again in a moment.",
                               retryable=True)


def client_assertion(platform: LtiPlatform, now: datetime) -> str:
    """A single-use JWT proving to the platform that the token request comes from us."""
    _require_published_key(now)
    claims = {
        "iss": platform.client_id,
        "sub": platform.client_id,
        "aud": platform.auth_token_url,
        "iat": int(now.timestamp()),
        "exp": int((now + ASSERTION_LIFETIME).timestamp()),
        "jti": secrets.token_urlsafe(24),
    }
    return sign_jwt(claims, now)


def _failure(what: str, response: requests.Response) -> PlatformServiceError:
    status = response.status_code
    try:
        body = response.json()
        detail = body.get("error_description") or body.get("detail") or body.get("error")
    except ValueError:
        detail = None
    detail = str(detail or response.text[:200] or response.reason)
    retryable = status >= 500 or status in (408, 429)
    return PlatformServiceError(f"{what} answered {status}: {detail}", retryable=retryable,
                                status=status)


def access_token(platform: LtiPlatform, scopes: Iterable[str], now: datetime) -> str:
    """A bearer token for ``scopes`` from the platform's token endpoint (cached)."""
    scopes = sorted(set(scopes))
    key = _cache_key(platform, scopes)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached.use_until > now:
        return cached.value
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion(platform, now),
        "scope": " ".join(scopes),
    }
    try:
        response = requests.post(platform.auth_token_url, data=data, timeout=_timeout(),
                                 headers={"Accept": "application/json"})
    except requests.RequestException as error:
        raise PlatformServiceError(f"token endpoint unreachable: {error}",
                                   retryable=True) from error
    if response.status_code != 200:
        raise _failure("token endpoint", response)
    try:
        body = response.json()
        value = str(body["access_token"])
        lifetime = timedelta(seconds=int(body.get("expires_in", 3600)))
    except (ValueError, KeyError, TypeError) as error:
        raise PlatformServiceError(f"token endpoint sent no usable token: {error}",
                                   retryable=False, status=200) from error
    # Short-lived tokens are used for their first half only rather than not at all.
    margin = min(EXPIRY_MARGIN, lifetime / 2)
    with _cache_lock:
        _cache[key] = _CachedToken(value=value, use_until=now + lifetime - margin)
    log.info("LTI platform %s granted a token for %s", platform.issuer, " ".join(scopes))
    return value


def service_request(
    platform: LtiPlatform,
    method: str,
    url: str,
    scopes: Iterable[str],
    now: datetime,
    *,
    accept: str | None = None,
    content_type: str | None = None,
    json_body: Any = None,
    params: dict[str, Any] | None = None,
) -> requests.Response:
    """One authenticated call to a platform service; raises ``PlatformServiceError``."""
    scopes = sorted(set(scopes))
    headers = {}
    if accept:
        headers["Accept"] = accept
    if content_type:
        headers["Content-Type"] = content_type
    data = None if json_body is None else current_app.json.dumps(json_body)
    for first_try in (True, False):
        headers["Authorization"] = "Bearer " + access_token(platform, scopes, now)
        try:
            response = requests.request(method, url, headers=headers, data=data, params=params,
                                        timeout=_timeout())
        except requests.RequestException as error:
            raise PlatformServiceError(f"{url} unreachable: {error}", retryable=True) from error
        if response.status_code == 401 and first_try:
            forget_token(platform, scopes)
            continue
        if response.status_code >= 400:
            raise _failure(f"{method} {url}", response)
        return response
    raise AssertionError("unreachable")  # the loop returns or raises
