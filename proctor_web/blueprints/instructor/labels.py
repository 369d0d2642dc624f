"""Words the dashboard shows for codes (statuses, exam types, allowance kinds).

Kept in Python as lazy translations so a page looks up only the words it shows, instead of
building every table of labels for every row.
"""

from __future__ import annotations

import re

from flask import g
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup

STATUS = {
    "created": _l("Created"),
    "download_software_clicked": _l("Setting up software"),
    "ready_to_start": _l("Ready to start"),
    "started": _l("Started"),
    "ready_to_submit": _l("Ready to submit"),
    "submitted": _l("Submitted"),
    "second_review_required": _l("Second review required"),
    "verified": _l("Verified"),
    "rejected": _l("Rejected"),
    "error": _l("Error"),
    "declined": _l("Declined"),
    "timed_out": _l("Timed out"),
    "expired": _l("Expired"),
    "onboarding_missing": _l("Onboarding missing"),
    "onboarding_pending": _l("Onboarding pending"),
    "onboarding_failed": _l("Onboarding failed"),
    "onboarding_expired": _l("Onboarding expired"),
    "onboarding_reset": _l("Onboarding reset"),
    "removed": _l("Reset (removed)"),
}
ONBOARDING = {
    "not_started": _l("Not started"),
    "setup_started": _l("Setup started"),
    "onboarding_started": _l("Onboarding started"),
    "submitted": _l("Submitted"),
    "verified": _l("Verified"),
    "other_course_approved": _l("Approved in another course"),
    "rejected": _l("Rejected"),
    "error": _l("Error"),
    "expired": _l("Expired"),
}
EXAM_TYPE = {
    "timed": _l("Timed"),
    "proctored": _l("Proctored"),
    "practice": _l("Practice"),
    "onboarding": _l("Onboarding"),
}
ALLOWANCE_KEY = {
    "additional_time_granted": _l("Extra minutes"),
    "review_policy_exception": _l("Review policy exception"),
    "time_multiplier": _l("Time multiplier"),
}
WHY = {
    "review": _l("A provider's reviewer was unsure: a person must verify or reject it."),
    "error": _l("In error: the learner cannot continue until you let them resume."),
    "ready_to_resume": _l("Allowed to resume; the learner has not come back yet."),
    "setup": _l("Stuck in setup: not started for longer than the exam lasts."),
    "past_end": _l("Still in progress after its time ran out."),
}
SORT = {
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
    "username": _l("Username A–Z"),
    "-username": _l("Username Z–A"),
    "exam": _l("Exam name"),
    "status": _l("Status"),
    "started": _l("Started, latest first"),
    "completed": _l("Completed, latest first"),
    "modified": _l("Last change, latest first"),
}

#: What each staff action's button does, naming whose attempt it acts on.
ACTION_BUTTON = {
    "reset": _l("Reset %(user)s's attempt"),
    "resume": _l("Let %(user)s resume"),
    "verify": _l("Verify %(user)s's attempt"),
    "reject": _l("Reject %(user)s's attempt"),
}


def action_button(action: str, username: str) -> str:
    """The label of a button or link that does ``action`` on ``username``'s attempt."""
    return str(ACTION_BUTTON[action]) % {"user": username}


def label(table: dict, code: str) -> str:
    """The word for ``code`` in the request's language, translated once per request: a page
    of 25 rows asks for the same few statuses and types over and over."""
    words = g.setdefault("_dashboard_labels", {})
    key = (id(table), code)
    word = words.get(key)
    if word is None:
        text = table.get(code)
        word = words[key] = str(text) if text is not None else code
    return word


_FIELD_PREFIX = re.compile(r"^[a-z_]+: ")


def without_field_prefix(message: str) -> str:
    """A service's refusal ("value: extra time is ...") as a person reads it under the
    input's own label: without the API's field name, first letter capitalised."""
    text = _FIELD_PREFIX.sub("", str(message), count=1)
    return text[:1].upper() + text[1:]


def minutes_text(minutes: int) -> str:
    """"N minutes" in the request's language, translated once per number and request."""
    words = g.setdefault("_dashboard_minutes", {})
    text = words.get(minutes)
    if text is None:
        text = words[minutes] = ngettext("%(num)d minute", "%(num)d minutes", minutes)
    return text


#: The colour family of each status (the words always say the status; colour only helps).
TONE = {
    "verified": "ok", "other_course_approved": "ok",
    "error": "bad", "rejected": "bad", "declined": "bad", "onboarding_failed": "bad",
    "second_review_required": "warn", "timed_out": "warn", "expired": "warn",
    "onboarding_missing": "warn", "onboarding_pending": "warn", "onboarding_expired": "warn",
    "started": "info", "ready_to_submit": "info", "submitted": "info",
    "setup_started": "info", "onboarding_started": "info",
    "removed": "gone",
}


def _badge(code: str, words: str) -> Markup:
    return Markup('<span class="status badge tone-{0} status-{1}">{2}</span>').format(
        TONE.get(code, "plain"), code, words)


def status_badge(code: str) -> Markup:
    """A status as a badge: its words, coloured by its family (never colour alone)."""
    return _badge(code, label(STATUS, code))


def onboarding_badge(code: str) -> Markup:
    """An onboarding status as a badge."""
    return _badge(code, label(ONBOARDING, code))


def template_helpers() -> dict[str, object]:
    """Label lookups and the small tags every row of a list repeats, as plain functions: a
    page of 25 rows would otherwise pay a macro call per cell. (Times: ``timezones.time_tag``,
    a global of every template.)"""
    return {
        "status_badge": status_badge,
        "onboarding_badge": onboarding_badge,
        "minutes_text": minutes_text,
        "status_text": lambda code: label(STATUS, code),
        "onboarding_text": lambda code: label(ONBOARDING, code),
        "type_text": lambda code: label(EXAM_TYPE, code),
        "key_text": lambda code: label(ALLOWANCE_KEY, code),
        "sort_text": lambda code: label(SORT, code),
        "action_button": action_button,
        "why_text": lambda code: label(WHY, code),
        "plain_error": without_field_prefix,
    }
