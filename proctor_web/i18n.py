"""Locale choice and the phrases about time that pages and JSON share.

The locale comes from an explicit ``lang`` parameter (remembered in the session), then the
browser's Accept-Language, then ``DEFAULT_LOCALE``.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import gettext, ngettext


def N_(message: str) -> str:  # noqa: N802 - the name Babel extracts by default
    """Mark ``message`` for the catalog without translating it yet.

    For texts that are kept in English somewhere (history rows, logs) and translated with
    ``gettext(message, **values)`` only where a person reads them.
    """
    return message


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["DEFAULT_LOCALE"]
    requested = request.args.get("lang")
    if requested in languages:
        session["lang"] = requested
        return requested
    remembered = session.get("lang")
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages) or current_app.config["DEFAULT_LOCALE"]


def human_duration(minutes: int) -> str:
    """"1 hour and 30 minutes", in the learner's language."""
    hours, mins = divmod(max(int(minutes), 0), 60)
    if hours and mins:
        return gettext(
            "%(hours)s and %(minutes)s",
            hours=ngettext("%(num)d hour", "%(num)d hours", hours),
            minutes=ngettext("%(num)d minute", "%(num)d minutes", mins),
        )
    if hours:
        return ngettext("%(num)d hour", "%(num)d hours", hours)
    return ngettext("%(num)d minute", "%(num)d minutes", mins)


def human_seconds(seconds: int) -> str:
    """A remaining time for people: minutes, or seconds in the last minute."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    return human_duration(seconds // 60)


def accessibility_time_string(seconds: float) -> str:
    """The screen-reader phrase of the timer payload, worded and rounded as edx-proctoring's.

    Open edX's clients show it as is, so it keeps edx's lower-case, period-less form and its
    whole minutes: the remaining seconds / 60 rounded half to even (0.5 -> 0, 1.5 -> 2), so
    the last half minute reads "0 minutes".
    """
    minutes = round(max(float(seconds), 0.0) / 60)
    return gettext("you have %(time)s remaining", time=human_duration(minutes))


def humanized_exam_type(exam_type: str) -> str:
    names = {
        "timed": gettext("a timed exam"),
        "proctored": gettext("a proctored exam"),
        "practice": gettext("a practice exam"),
        "onboarding": gettext("an onboarding exam"),
    }
    return names.get(exam_type, exam_type)
