"""The platforms' public keys, fetched from their key set URL and cached.

One ``PyJWKClient`` per key set URL keeps the set for ``KEY_SET_LIFETIME`` and fetches it
again when a token names a ``kid`` it does not hold (the platform rotated its keys).
"""

from __future__ import annotations

import threading

import jwt
from flask_babel import gettext as _

from proctor_web.lti.tool.errors import LaunchRefused

KEY_SET_LIFETIME_SECONDS = 300
FETCH_TIMEOUT_SECONDS = 5
#: After a fetch, an unknown kid waits this long before the next fetch: a stream of forged
#: kids must not turn us into a flood against the platform's key set endpoint.
REFRESH_COOLDOWN_SECONDS = 5.0

_clients: dict[str, jwt.PyJWKClient] = {}
_lock = threading.Lock()


def _client(key_set_url: str) -> jwt.PyJWKClient:
    with _lock:
        client = _clients.get(key_set_url)
        if client is None:
            client = jwt.PyJWKClient(key_set_url, cache_keys=False, cache_jwk_set=True,
                                     lifespan=KEY_SET_LIFETIME_SECONDS,
                                     timeout=FETCH_TIMEOUT_SECONDS,
                                     cooldown_duration=REFRESH_COOLDOWN_SECONDS)
            _clients[key_set_url] = client
        return client


def signing_key(key_set_url: str, token: str) -> jwt.PyJWK:
    """The platform key that signed ``token``, by its ``kid`` (refreshing once if unknown)."""
    try:
        return _client(key_set_url).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError:
        raise LaunchRefused("key_set_unreachable", _(
            "The platform's key set could not be fetched, so the launch cannot be verified. "
            "Try again in a moment."), status=502) from None
    except (jwt.PyJWKClientError, jwt.DecodeError):
        raise LaunchRefused("unknown_key", _(
            "The launch is signed with a key the platform does not publish.")) from None


def forget_cached_keys() -> None:
    with _lock:
        _clients.clear()
