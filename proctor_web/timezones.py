"""The learner's time zone: the browser tells it (``static/js/timezone.js`` posts
``Intl``'s zone name to ``/timezone``), the session keeps it, and learner pages show times in
it with UTC beside them (``local_time``). The account keeps the last zone reported too
(``User.time_zone``), so emails written later, outside any request of the learner's, show
their times in it (``format_moment`` with the recipient's zone and language)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.core import Locale
from babel.dates import (
    format_date,
    format_datetime,
    format_skeleton,
    format_time,
    get_timezone_location,
)
from flask import Flask, has_request_context, session
from flask_babel import force_locale, get_locale, gettext

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
    return format_moment(value, learner_zone_name(), format=format)


def format_moment(
    value: datetime | None,
    zone_name: str | None,
    locale: str | Locale | None = None,
    format: str = "long",  # noqa: A002
) -> str:
    """``value`` in ``zone_name`` and ``locale`` (the current one when None), with UTC
    beside it; UTC alone, labelled, when the zone is None or UTC.

    Needs no request: emails call it with their recipient's zone and language.
    """
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if locale is not None and str(locale) != str(get_locale()):
        with force_locale(str(locale)):
            return format_moment(value, zone_name, None, format)
    locale = get_locale()
    utc = ZoneInfo("UTC")
    if not zone_name or zone_name == "UTC" or valid_zone(zone_name) is None:
        return format_datetime(value, format, tzinfo=utc, locale=locale)
    zone = ZoneInfo(zone_name)
    # Date and time to the minute, then the zone in words ("Colombia Time", "hora de Colombia").
    moment = value.astimezone(zone)
    local = "{}, {} {}".format(
        format_date(moment, "long" if format in ("long", "full") else "medium", locale=locale),
        format_time(moment, "short", tzinfo=zone, locale=locale),
        get_timezone_location(zone, locale=locale))
    utc_clock = format_time(value, "HH:mm", tzinfo=utc, locale=locale)
    if moment.date() != value.astimezone(utc).date():
        # Another day in UTC: say which, or "(01:00 UTC)" would read as the local day's.
        return gettext("%(local)s (%(date)s, %(utc)s UTC)", local=local,
                       date=format_skeleton("MMMd", value, tzinfo=utc, locale=locale),
                       utc=utc_clock)
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
