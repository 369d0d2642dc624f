"""The learner's time zone: the browser tells it (``static/js/timezone.js`` posts
``Intl``'s zone name to ``/timezone``), the session keeps it, and learner pages show times in
it with UTC beside them (``local_time``). Emails and staff pages keep UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_date, format_datetime, format_time, get_timezone_location
from flask import Flask, has_request_context, session
from flask_babel import get_locale, gettext

SESSION_KEY = "timezone"


def valid_zone(name: str) -> str | None:
    """``name`` if it is an IANA zone name we know, else None."""
    name = (name or "").strip()
    if not name or len(name) > 64 or name not in _zones():
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def learner_zone_name() -> str:
    """The zone this session's pages show times in ("UTC" until the browser said)."""
    if not has_request_context():
        return "UTC"
    return session.get(SESSION_KEY) or "UTC"


def local_time(value: datetime | None, format: str = "long") -> str:  # noqa: A002
    """``value`` in the learner's zone, with UTC beside it when that zone is not UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    locale = get_locale()
    zone_name = learner_zone_name()
    utc_text = format_datetime(value, format, tzinfo=ZoneInfo("UTC"), locale=locale)
    if zone_name == "UTC":
        return utc_text
    zone = ZoneInfo(zone_name)
    # Date and time to the minute, then the zone in words ("Colombia Time", "hora de Colombia").
    moment = value.astimezone(zone)
    local = "{}, {} {}".format(
        format_date(moment, "long" if format in ("long", "full") else "medium", locale=locale),
        format_time(moment, "short", tzinfo=zone, locale=locale),
        get_timezone_location(zone, locale=locale))
    utc_clock = format_time(value, "HH:mm", tzinfo=ZoneInfo("UTC"), locale=locale)
    return gettext("%(local)s (%(utc)s UTC)", local=local, utc=utc_clock)


def local_clock(value: datetime | None) -> str:
    """The time of day of ``value`` in the learner's zone, short (the timer bar)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_time(value, "short", tzinfo=ZoneInfo(learner_zone_name()),
                       locale=get_locale())


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_clock"] = local_clock
    app.jinja_env.globals["learner_zone_name"] = learner_zone_name
