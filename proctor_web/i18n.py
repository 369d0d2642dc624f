"""Locale choice, the names and phrases that pages, JSON and emails share.

The locale of a request comes from an explicit ``lang`` parameter (remembered in the
session), then the browser's Accept-Language, then ``DEFAULT_LOCALE``. A signed-in person's
last language is kept on their account (``User.locale``), and the emails written to them
later, outside any request of theirs, use it (``email_locale``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale, gettext, ngettext
from flask_login import current_user

from proctor_web.extensions import babel
from proctor_web.routing import signs_in_itself


def N_(message: str) -> str:  # noqa: N802 - the name Babel extracts by default
    """Mark ``message`` for the catalog without translating it yet.

    For texts that are kept in English somewhere (history rows, logs) and translated with
    ``gettext(message, **values)`` only where a person reads them.
    """
    return message


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(_remember_before_view)
    app.jinja_env.globals.update(provider_label=provider_label,
                                 enrollment_mode_label=enrollment_mode_label,
                                 review_status_label=review_status_label)


def select_locale() -> str | None:
    if not has_request_context():
        return current_app.config["DEFAULT_LOCALE"]
    return requested_locale() or current_app.config["DEFAULT_LOCALE"]


def requested_locale() -> str | None:
    """The offered language this request asks for, or None when it names none we offer
    (worked out once per request: the locale selector and the account's language ask)."""
    environ = request.environ
    if _REQUESTED not in environ:
        environ[_REQUESTED] = _requested_locale()
    return environ[_REQUESTED]


_REQUESTED = "proctor_web.requested_locale"


def _requested_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    requested = request.args.get("lang")
    if requested in languages:
        session["lang"] = requested
        return requested
    remembered = session.get("lang")
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages)


def _remember_before_view() -> None:
    if not signs_in_itself():  # such a view calls remember_user_locale once it signed in
        remember_user_locale()


def remember_user_locale() -> None:
    """Keep the language a signed-in person uses on their account, for their emails.

    Written only when it changes, and only when the request names a language (``?lang=``,
    the session's choice, Accept-Language): a client that sends none leaves it alone. The
    change rides on the request's own commit; every learner page, poll and action commits.
    """
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return
    locale = locale_to_remember(current_user)
    if locale is not None:
        current_user.locale = locale


def locale_to_remember(user: Any) -> str | None:
    """The language this request asks ``user``'s account to keep, or None when it keeps the
    one it has (or the request names none)."""
    locale = requested_locale()
    return locale if locale and user.locale != locale else None


def email_locale(locale: str | None) -> str:
    """The language to write an email in: the recipient's own when we offer it, else the
    site's default."""
    if locale in current_app.config["LANGUAGES"]:
        return str(locale)
    return current_app.config["DEFAULT_LOCALE"]


#: ``PLATFORM_NAME``'s default, translated where it shows; a name an operator sets is theirs.
DEFAULT_PLATFORM_NAME = N_("Exam proctoring")


def platform_name() -> str:
    """The platform's name for people, in the current language when it is the default."""
    name = str(current_app.config["PLATFORM_NAME"])
    return gettext(name) if name == DEFAULT_PLATFORM_NAME else name


def provider_name(backend: Any) -> str:
    """A backend's name for people: its ``verbose_name`` (or the configured one), translated.

    Built-in names are in the catalog; a name set in ``PROCTOR_BACKENDS`` is shown as
    written unless the catalog happens to know it.
    """
    name = str(getattr(backend, "display_name", "") or "")
    return gettext(name) if name else ""  # gettext("") is the catalog's header


def provider_label(name: str | None) -> str:
    """The people's name of the backend configured as ``name`` (what exams store; None is
    the default backend); a name no longer configured is shown as stored."""
    backends = current_app.extensions["proctor_backends"]
    name = name or backends.default_name
    if name not in backends.names:
        return name
    return provider_name(backends.get(name))


def enrollment_mode_label(mode: str | None) -> str:
    """Open edX's enrollment modes in people's words; an unknown mode as stored."""
    labels = {
        "audit": gettext("Audit"),
        "honor": gettext("Honor code"),
        "verified": gettext("Verified"),
        "professional": gettext("Professional"),
        "no-id-professional": gettext("Professional (no ID check)"),
        "credit": gettext("Credit"),
        "masters": gettext("Master's"),
        "executive-education": gettext("Executive education"),
        "paid-executive-education": gettext("Executive education (paid)"),
        "unpaid-executive-education": gettext("Executive education (unpaid)"),
    }
    return labels.get(str(mode or ""), str(mode or ""))


def http_error_message(code: int | None) -> str:
    """What an HTTP error that no code of ours explained means, for people.

    Werkzeug's own descriptions are English only; these replace them on pages and in
    ``{"detail": ...}``.
    """
    messages = {
        400: gettext("The request could not be understood. Check the address or the form "
                     "and try again."),
        401: gettext("You need to sign in to see this."),
        403: gettext("You do not have permission to see this."),
        404: gettext("There is nothing at this address. Check it for typing mistakes, or go "
                     "back to your courses and follow a link from there."),
        405: gettext("This address does not accept that kind of request."),
        406: gettext("We cannot answer in a format your browser accepts."),
        408: gettext("The request took too long to arrive. Please try again."),
        409: gettext("The request conflicts with a change made at the same time. Reload the "
                     "page and try again."),
        410: gettext("What was at this address has been removed."),
        413: gettext("What you sent is too large."),
        414: gettext("The address is too long."),
        415: gettext("What you sent is in a format we do not accept."),
        422: gettext("The request was understood but cannot be carried out."),
        429: gettext("Too many requests in a short time. Wait a moment and try again."),
        500: gettext("Something went wrong on our side. It has been logged."),
        501: gettext("This is not supported here."),
        502: gettext("A service we depend on did not answer properly. Please try again in "
                     "a few minutes."),
        503: gettext("The service is unavailable for a moment. Please try again in a few "
                     "minutes."),
        504: gettext("A service we depend on took too long to answer. Please try again in "
                     "a few minutes."),
    }
    if code in messages:
        return messages[code]
    return gettext("The request could not be completed (error %(code)s).", code=code or 500)


def review_status_label(status: str | None) -> str:
    """A provider's review outcome (``REVIEW_STATUSES``) as it reads inside a sentence."""
    labels = {
        "passed": gettext("passed"),
        "violation": gettext("a rules violation"),
        "suspicious": gettext("suspicious"),
        "not_reviewed": gettext("not reviewed"),
    }
    return labels.get(str(status or ""), str(status or ""))


def csrf_reason(description: str | None) -> str:
    """Flask-WTF's English reason for refusing a form, in the reader's language."""
    reasons = {
        "The CSRF token is missing.": gettext("the form's security token is missing"),
        "The CSRF session token is missing.": gettext("your session has no security token"),
        "The CSRF token has expired.": gettext("the form's security token has expired"),
        "The CSRF token is invalid.": gettext("the form's security token is not valid"),
        "The CSRF tokens do not match.": gettext(
            "the form's security token does not match your session"),
        "The referrer header is missing.": gettext("the browser did not say which page sent it"),
        "The referrer does not match the host.": gettext("it came from another site"),
    }
    return reasons.get(str(description or ""), str(description or ""))


def per_locale(fn: Callable[..., str]) -> Callable[..., str]:
    """Remember ``fn``'s answers per language: the timer payload asks for the same few labels
    on every poll of every learner, and translating them costs more than the rest of it."""
    answers: dict[tuple[str, tuple[Any, ...]], str] = {}

    @functools.wraps(fn)
    def remembered(*args: Any) -> str:
        key = (str(get_locale()), args)
        try:
            return answers[key]
        except KeyError:
            if len(answers) > 20_000:  # bounded: a few labels per language in practice
                answers.clear()
            answer = answers[key] = fn(*args)
            return answer

    return remembered


@per_locale
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
    return _minutes_remaining(round(max(float(seconds), 0.0) / 60))


@per_locale
def _minutes_remaining(minutes: int) -> str:
    return gettext("you have %(time)s remaining", time=human_duration(minutes))


_EXAM_TYPE_NAMES = {
    "timed": N_("a timed exam"),
    "proctored": N_("a proctored exam"),
    "practice": N_("a practice exam"),
    "onboarding": N_("an onboarding exam"),
}


@per_locale
def humanized_exam_type(exam_type: str) -> str:
    name = _EXAM_TYPE_NAMES.get(exam_type)
    return gettext(name) if name else exam_type
