"""Configuration: one table of defaults, ``PROCTOR_*`` environment variables, explicit overrides.

Every key below is documented in the README with its default. The environment can set any
of them as ``PROCTOR_<KEY>``; the value is parsed to the type of the default (booleans from
``1/true/yes/on``, numbers, JSON for lists and dicts). Overrides passed to ``create_app`` win
over both, which is how the tests configure the app without touching ``os.environ``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "PROCTOR_"

#: The keys an operator may set, with their defaults. ``None`` means "no default".
DEFAULTS: dict[str, Any] = {
    # Core
    "SECRET_KEY": None,
    "DEBUG": False,
    "TESTING": False,
    "DATABASE_URL": None,  # None = SQLite file in the instance folder
    "SQL_ECHO": False,
    "PLATFORM_NAME": "proctor_web",
    "SITE_URL": "http://127.0.0.1:5000",
    "CONTACT_EMAIL": "support@example.com",
    "LOG_LEVEL": "INFO",
    # Sessions and embedding
    "SESSION_COOKIE_SECURE": None,  # None = Secure unless DEBUG
    "FRAME_ANCESTORS": [],
    "LTI_SESSION_TOKEN_MAX_AGE": 3600,  # seconds a frame token lives without use
    # Proctoring rules
    "LOW_THRESHOLD_PCT": 0.2,
    "CRITICALLY_LOW_THRESHOLD_PCT": 0.05,
    "ALLOW_TIMED_OUT_STATE": False,
    "ALLOW_REVIEW_UPDATES": True,
    "REQUIRE_FAILURE_SECOND_REVIEWS": True,
    "DEFAULT_REVIEW_POLICY": "Closed Book",
    "ONBOARDING_VALID_DAYS": 365,
    "EXAM_VIEWABLE_PAST_DUE": False,
    "PING_INTERVAL_SECONDS": 60,
    "TIMER_POLL_SECONDS": 60,
    # Providers
    "BACKENDS": {"DEFAULT": "null", "null": {}},
    "USER_OBFUSCATION_KEY": None,  # None = derived from SECRET_KEY
    # Email
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "proctoring@example.com",
    "MAIL_TIMEOUT_SECONDS": 10,
    # LMS services over LTI Advantage (roster sync, grade publishing)
    "LTI_SERVICE_TIMEOUT_SECONDS": 10,
    "LTI_ROSTER_SYNC_MINUTES": 60,  # the sweep syncs each LMS course at most this often; 0 = never
    # Locales
    "LANGUAGES": ["en", "es"],
    "DEFAULT_LOCALE": "en",
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """The configuration cannot run the app; the message says which key and why."""


def _parse(key: str, raw: str, default: Any) -> Any:
    try:
        if key == "FRAME_ANCESTORS" and not raw.lstrip().startswith("["):
            # Also accept the plain "https://a https://b" (or comma) spelling of CSP.
            return [part for part in raw.replace(",", " ").split() if part]
        if isinstance(default, bool):
            lowered = raw.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(f"expected one of {sorted(_TRUE | _FALSE)}")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, (dict, list)):
            value = json.loads(raw)
            if not isinstance(value, type(default)):
                raise ValueError(f"expected a JSON {type(default).__name__}")
            return value
        if key == "SESSION_COOKIE_SECURE":
            return _parse(key, raw, False)
        return raw
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{key}={raw!r} is not valid: {exc}") from exc


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read every known key from ``PROCTOR_*`` variables; unknown ones are ignored."""
    found: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        raw = environ.get(ENV_PREFIX + key)
        if raw is not None:
            found[key] = _parse(key, raw, default)
    return found


def build_config(
    instance_path: str,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Merge defaults, environment and overrides, derive Flask/SQLAlchemy keys, fail fast."""
    config: dict[str, Any] = dict(DEFAULTS)
    config.update(from_environment(os.environ if environ is None else environ))
    config.update(overrides or {})

    if isinstance(config["FRAME_ANCESTORS"], str):
        config["FRAME_ANCESTORS"] = _parse("FRAME_ANCESTORS", config["FRAME_ANCESTORS"], [])

    relaxed = config["TESTING"] or config["DEBUG"]
    if not config["SECRET_KEY"]:
        if not relaxed:
            raise ConfigError(
                "PROCTOR_SECRET_KEY is not set. Set it to a long random string "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))").'
            )
        config["SECRET_KEY"] = "insecure-development-key"

    url = config["DATABASE_URL"] or "sqlite:///" + str(Path(instance_path) / "proctor_web.sqlite3")
    config["DATABASE_URL"] = url = normalise_database_url(url)
    config["SQLALCHEMY_DATABASE_URI"] = url
    config["SQLALCHEMY_ECHO"] = config["SQL_ECHO"]
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})

    secure = config["SESSION_COOKIE_SECURE"]
    if secure is None:
        secure = not config["DEBUG"] and not config["TESTING"]
    if config["FRAME_ANCESTORS"]:
        # An iframe on another site only receives the cookie with SameSite=None, which
        # browsers accept only on Secure cookies.
        secure = True
        config["SESSION_COOKIE_SAMESITE"] = "None"
    else:
        config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    config["SESSION_COOKIE_SECURE"] = secure
    config["REMEMBER_COOKIE_SECURE"] = secure
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["BABEL_DEFAULT_LOCALE"] = config["DEFAULT_LOCALE"]
    config["WTF_CSRF_TIME_LIMIT"] = None  # tied to the session, not to a clock

    _check_backends(config["BACKENDS"])
    if not 0 < config["CRITICALLY_LOW_THRESHOLD_PCT"] < config["LOW_THRESHOLD_PCT"] < 1:
        raise ConfigError(
            "PROCTOR_CRITICALLY_LOW_THRESHOLD_PCT must be above 0 and below "
            "PROCTOR_LOW_THRESHOLD_PCT, which must be below 1."
        )
    return config


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme spelling the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _check_backends(backends: Any) -> None:
    if not isinstance(backends, dict):
        raise ConfigError("PROCTOR_BACKENDS must be a JSON object.")
    default = backends.get("DEFAULT")
    if not default or default not in backends:
        raise ConfigError(
            "PROCTOR_BACKENDS needs a DEFAULT naming one of its own entries, "
            f"got DEFAULT={default!r} with entries {sorted(k for k in backends if k != 'DEFAULT')}."
        )
