"""The reader's time zone: the browser tells it (``static/js/timezone.js`` posts
``Intl``'s zone name to ``/timezone``), the session keeps it, and pages (the learner's and the
instructor dashboard) show times in it with UTC beside them (``local_time``, ``time_tag``).
The account keeps the last zone reported too (``User.time_zone``): pages fall back to it in
a session the browser has not reported in yet, and emails written later, outside any
request of the reader's, show their times in it (``format_moment`` with the recipient's zone
and language)."""

from __future__ import annotations

import functools
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
from flask_login import current_user
from markupsafe import Markup

from proctor_web.clock import utcnow

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


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _as_utc_aware(value: datetime) -> datetime:
    """Stored times are UTC; a naive one (SQLite, a template's literal) is taken as such."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def viewer_zone_name() -> str:
    """The zone this request's pages show times in: the one the browser reported in this
    session, else the one the signed-in account last reported (from another session or
    device), else "UTC"."""
    if not has_request_context():
        return "UTC"
    zone = session.get(SESSION_KEY)
    if zone:
        return zone
    stored = getattr(current_user, "time_zone", None) if current_user else None
    return valid_zone(stored or "") or "UTC"


def local_time(value: datetime | None, format: str = "long") -> str:  # noqa: A002
    """``value`` in the reader's zone, with UTC beside it when that zone is not UTC."""
    return format_moment(value, viewer_zone_name(), format=format)


def format_moment(
    value: datetime | None,
    zone_name: str | None,
    locale: str | Locale | None = None,
    format: str = "long",  # noqa: A002
) -> str:
    """``value`` in ``zone_name`` and ``locale`` (the current one when None), with UTC
    beside it; UTC alone, labelled, when the zone is None or UTC.

    ``format`` is "long", "medium" (the date, the time to the minute and the zone in
    words) or "compact" for table cells ("Nov 30, 10:15 (15:15 UTC)": no zone name, which
    the page says once; the year only when it is not this one).

    Needs no request: emails call it with their recipient's zone and language.
    """
    if value is None:
        return ""
    value = _as_utc_aware(value)
    if locale is not None and str(locale) != str(get_locale()):
        with force_locale(str(locale)):
            return format_moment(value, zone_name, None, format)
    locale = get_locale()
    utc = ZoneInfo("UTC")
    zone = None if not zone_name or zone_name == "UTC" else valid_zone(zone_name)
    if zone is None:
        if format in ("long", "full"):
            return format_datetime(value, format, tzinfo=utc, locale=locale)
        return gettext("%(moment)s UTC", moment=_date_and_time(value, utc, format, locale))
    tz = ZoneInfo(zone)
    moment = value.astimezone(tz)
    local = _date_and_time(value, tz, format, locale)
    if format != "compact":
        # The zone in words ("Colombia Time", "hora de Colombia"); compact ones leave it to
        # the page.
        local = f"{local} {get_timezone_location(tz, locale=locale)}"
    utc_clock = format_time(value, "HH:mm", tzinfo=utc, locale=locale)
    if moment.date() != value.astimezone(utc).date():
        # Another day in UTC: say which, or "(01:00 UTC)" would read as the local day's.
        return gettext("%(local)s (%(date)s, %(utc)s UTC)", local=local,
                       date=format_skeleton("MMMd", value, tzinfo=utc, locale=locale),
                       utc=utc_clock)
    return gettext("%(local)s (%(utc)s UTC)", local=local, utc=utc_clock)


def _date_and_time(value: datetime, zone: ZoneInfo, format: str,  # noqa: A002
                   locale: Locale | None) -> str:
    """The date and the time to the minute in ``zone``: "Nov 30, 10:15" when ``format`` is
    "compact" (the year only when it is not this one), else the date in ``format`` ("long"
    or "medium") and the locale's short time."""
    moment = value.astimezone(zone)
    if format == "compact":
        this_year = moment.year == utcnow().astimezone(zone).year
        day = format_skeleton("MMMd" if this_year else "yMMMd", value, tzinfo=zone,
                              locale=locale)
        clock = format_time(value, "HH:mm", tzinfo=zone, locale=locale)
        glue = str((locale or Locale.parse("en")).datetime_formats["short"])
        return glue.replace("'", "").replace("{1}", day).replace("{0}", clock)
    day = format_date(moment, "long" if format in ("long", "full") else "medium", locale=locale)
    return "{}, {}".format(day, format_time(moment, "short", tzinfo=zone, locale=locale))


def time_tag(value: datetime | None, format: str = "compact") -> Markup:  # noqa: A002
    """``value`` as the reader reads it (``local_time``), machine-readable in UTC in a
    ``<time datetime="...Z">``; a dash when unset.

    The local time and the UTC one in brackets are each kept whole ("Nov 30, 10:15" /
    "(15:15 UTC)"), so a narrow table column breaks the line between them, not inside one.
    """
    if value is None:
        return Markup('<span class="muted">—</span>')
    value = _as_utc_aware(value)
    stamp = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = local_time(value, format)
    local, space, utc = text.rpartition(" (")
    if not space:
        return Markup('<time datetime="{0}">{1}</time>').format(stamp, text)
    return Markup('<time datetime="{0}" class="two-part"><span>{1}</span> <span>({2}</span>'
                  "</time>").format(stamp, local, utc)


def zone_note() -> str:
    """One line saying which zone the page's times are in ("compact" ones do not name it)."""
    zone = viewer_zone_name()
    if valid_zone(zone) is None or zone == "UTC":
        return gettext("Times are in UTC.")
    return gettext("Times are in %(zone)s, with UTC in brackets.",
                   zone=get_timezone_location(ZoneInfo(zone), locale=get_locale()))


def local_clock(value: datetime | None) -> str:
    """The time of day of ``value`` in the reader's zone, short (the timer bar)."""
    if value is None:
        return ""
    value = _as_utc_aware(value)
    return format_time(value, "short", tzinfo=ZoneInfo(viewer_zone_name()),
                       locale=get_locale())


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_clock"] = local_clock
    app.jinja_env.globals["viewer_zone_name"] = viewer_zone_name
    app.jinja_env.globals["time_tag"] = time_tag
    app.jinja_env.globals["zone_note"] = zone_note
