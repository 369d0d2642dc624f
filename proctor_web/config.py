"""Configuration: one table of defaults, ``PROCTOR_*`` environment variables, explicit overrides.

Every key below is documented in the README with its default. The environment can set any
of them as ``PROCTOR_<KEY>``; the value is parsed to the type of the default (booleans from
``1/true/yes/on``, numbers, JSON for lists and dicts). Overrides passed to ``create_app`` win
over both, which is how the tests configure the app without touching ``os.environ``.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from proctor_web.backends.base import BackendSettingsError

ENV_PREFIX = "PROCTOR_"

#: The keys an operator may set, with their defaults. ``None`` means "no default".
DEFAULTS: dict[str, Any] = {
    # Core
    "SECRET_KEY": None,
    "DEBUG": False,
    "TESTING": False,
    "DATABASE_URL": None,  # None = SQLite file in the instance folder
    "SQL_ECHO": False,
    "PLATFORM_NAME": "Exam proctoring",  # the default is shown translated
    "SITE_URL": "http://127.0.0.1:5000",
    "CONTACT_EMAIL": "support@example.com",
    "LOG_LEVEL": "INFO",
    # Request limits: larger bodies get 413, deeper JSON gets 400 (before authentication)
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "MAX_JSON_DEPTH": 32,
    "LOG_FORMAT": None,  # None = text under DEBUG/TESTING, json otherwise
    # Operations (README: Production, Health, Metrics)
    "METRICS_TOKEN": None,  # None = /metrics is open (bind it to an internal address)
    "CELERY_BROKER_URL": None,  # checked by /readyz when set
    # Background work (README: Background work)
    "BACKGROUND_MODE": None,  # None = celery when CELERY_BROKER_URL is set, else thread
    "OUTBOX_MAX_TRIES": 8,  # failed deliveries before a row becomes a dead letter
    "CELERY_QUEUE": "proctor_web",  # the broker queue of the tasks (one per deployment)
    "PROXY_FIX_X_FOR": 0,  # trusted proxies setting each X-Forwarded-* header; 0 = none
    "PROXY_FIX_X_PROTO": 0,
    "PROXY_FIX_X_HOST": 0,
    "PROXY_FIX_X_PORT": 0,
    "PROXY_FIX_X_PREFIX": 0,
    "PREFERRED_URL_SCHEME": None,  # None = https unless DEBUG/TESTING
    # Sessions and embedding
    "SESSION_COOKIE_SECURE": None,  # None = Secure unless DEBUG
    "FRAME_ANCESTORS": [],
    # Brute-force limits (Flask-Limiter strings; per-address limits count failures only)
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URL": None,  # None = memory of each process; e.g. redis://host:6379/0
    "RATELIMIT_LOGIN_PER_ADDRESS": "30 per minute;300 per hour",
    "RATELIMIT_LOGIN_PER_ACCOUNT": "10 per 10 minutes",
    "RATELIMIT_TOKEN_PER_ADDRESS": "30 per minute",
    "RATELIMIT_TOKEN_PER_CLIENT": "10 per minute",
    "RATELIMIT_LAUNCH_PER_ADDRESS": "30 per minute",
    "RATELIMIT_LAUNCH_PER_ATTEMPT": "10 per minute",
    "RATELIMIT_PASSWORD_RESET_PER_ADDRESS": "20 per hour",  # every request counts
    "RATELIMIT_PASSWORD_RESET_PER_ACCOUNT": "3 per hour",
    "LTI_SESSION_TOKEN_MAX_AGE": 3600,  # seconds a frame token lives without use
    # Links that set a password (sent by email; each works once)
    "INVITATION_VALID_DAYS": 7,  # an invitation to a new account
    "PASSWORD_RESET_VALID_HOURS": 3,  # a "forgot your password?" link
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
    "PROVIDER_WORKER_DIR": None,  # None = provider-workers/ in the instance folder
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
    # Test clock (end-to-end tests of expiry against a running server; never in production)
    "TEST_CLOCK_FILE": None,
    "ALLOW_TEST_CLOCK": False,
}

#: ``PROCTOR_*`` variables read by tools around the app (the test suite, benchmarks), never by
#: the app itself, so they are not mistaken for a misspelt setting.
TOOL_VARIABLES = frozenset({"TEST_PG_URL", "BENCH_PG_URL"})

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(click.ClickException, RuntimeError):
    """The configuration cannot run the app; the message says which key and why.

    A ``ClickException`` so that the ``flask`` command prints it as one ``Error:`` line, and a
    ``RuntimeError`` so that gunicorn (which prints those from its start-up hooks) does too.
    """


class BackendConfigError(ConfigError, BackendSettingsError):
    """A backend's settings are wrong: printed as one line like any configuration error, and
    still the ``BackendSettingsError`` that callers of the backends expect."""

    def __init__(self, message: str) -> None:
        ConfigError.__init__(self, message)
        self.extra: dict[str, Any] = {}


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


def check_unknown_variables(environ: Mapping[str, str]) -> None:
    """Refuse a ``PROCTOR_*`` variable that names no setting: a typo would otherwise be ignored.

    The known names are the keys of ``DEFAULTS``, so a key added there is known at once.
    """
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):]
        if key in DEFAULTS or key in TOOL_VARIABLES:
            continue
        closest = difflib.get_close_matches(key, list(DEFAULTS), n=1, cutoff=0.6)
        hint = f"did you mean {ENV_PREFIX}{closest[0]}?" if closest else (
            "see the configuration table in the README")
        raise ConfigError(f"{name} is not a proctor_web setting; {hint}")


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read every known key from ``PROCTOR_*`` variables; an unknown one stops the app."""
    check_unknown_variables(environ)
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

    if config["BACKGROUND_MODE"] not in (None, "thread", "celery", "sync"):
        raise ConfigError("PROCTOR_BACKGROUND_MODE must be thread, celery or sync "
                          f"(or unset), not {config['BACKGROUND_MODE']!r}.")
    if config["BACKGROUND_MODE"] == "celery" and not config["CELERY_BROKER_URL"]:
        raise ConfigError("PROCTOR_BACKGROUND_MODE=celery needs PROCTOR_CELERY_BROKER_URL.")

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
    check_database_url(url)
    config["SQLALCHEMY_DATABASE_URI"] = url
    config["SQLALCHEMY_ECHO"] = config["SQL_ECHO"]
    # A pooled connection the server dropped (restart, failover, idle timeout) is replaced
    # before use instead of failing the request that draws it, whatever else is set. A
    # SQLite file has no server to drop it: there the ping would only cost every request.
    engine_options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    engine_options.setdefault("pool_pre_ping", not url.startswith("sqlite"))
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options

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
    if config["PREFERRED_URL_SCHEME"] is None:
        config["PREFERRED_URL_SCHEME"] = "http" if relaxed else "https"
    if config["LOG_FORMAT"] is None:
        config["LOG_FORMAT"] = "text" if relaxed else "json"
    if config["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError(f"PROCTOR_LOG_FORMAT must be text or json, not {config['LOG_FORMAT']!r}.")
    config["REMEMBER_COOKIE_SECURE"] = secure
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["BABEL_DEFAULT_LOCALE"] = config["DEFAULT_LOCALE"]
    config["WTF_CSRF_TIME_LIMIT"] = None  # tied to the session, not to a clock
    # Flask-Limiter's own keys, derived from ours.
    config["RATELIMIT_STORAGE_URI"] = config["RATELIMIT_STORAGE_URL"] or "memory://"
    config.setdefault("RATELIMIT_KEY_PREFIX", "proctor_web")
    # An unreachable Redis must not stop people signing in: count in memory meanwhile.
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)

    if config["TEST_CLOCK_FILE"] and not config["ALLOW_TEST_CLOCK"]:
        raise ConfigError(
            "PROCTOR_TEST_CLOCK_FILE is set but PROCTOR_ALLOW_TEST_CLOCK is not: a shifted "
            "clock is for test servers only. Set PROCTOR_ALLOW_TEST_CLOCK=1 on a test server, "
            "or unset PROCTOR_TEST_CLOCK_FILE."
        )
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


def check_database_url(url: str) -> None:
    """Refuse a URL SQLAlchemy cannot parse or has no dialect and driver for; connects nowhere.

    Whether the server answers is checked when a server or a command starts
    (``proctor_web.ops.checks``), because building the app does no I/O.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "PROCTOR_DATABASE_URL cannot be parsed; expected e.g. "
            "postgresql://user:password@host:5432/dbname or sqlite:////path/to/file.sqlite3."
        ) from None
    try:
        dialect = parsed.get_dialect()
        dialect.import_dbapi()
    except NoSuchModuleError:
        raise ConfigError(
            f"PROCTOR_DATABASE_URL uses {parsed.drivername!r}, which SQLAlchemy does not know; "
            "use postgresql:// or sqlite://."
        ) from None
    except ImportError as error:
        raise ConfigError(
            f"PROCTOR_DATABASE_URL needs the driver of {parsed.drivername!r}, "
            f"which is not installed ({error})."
        ) from None
    if parsed.get_backend_name() == "postgresql" and not parsed.database:
        raise ConfigError("PROCTOR_DATABASE_URL names no database (…/dbname at the end).")


def _check_backends(backends: Any) -> None:
    if not isinstance(backends, dict):
        raise ConfigError("PROCTOR_BACKENDS must be a JSON object.")
    default = backends.get("DEFAULT")
    if not default or default not in backends:
        raise ConfigError(
            "PROCTOR_BACKENDS needs a DEFAULT naming one of its own entries, "
            f"got DEFAULT={default!r} with entries {sorted(k for k in backends if k != 'DEFAULT')}."
        )
