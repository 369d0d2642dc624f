"""Words the dashboard shows for codes (statuses, exam types, allowance kinds).

Kept in Python as lazy translations so a page looks up only the words it shows, instead of
building every table of labels for every row.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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


def label(table: dict, code: str) -> str:
    text = table.get(code)
    return str(text) if text is not None else code


def template_helpers() -> dict[str, object]:
    return {
        "status_text": lambda code: label(STATUS, code),
        "onboarding_text": lambda code: label(ONBOARDING, code),
        "type_text": lambda code: label(EXAM_TYPE, code),
        "key_text": lambda code: label(ALLOWANCE_KEY, code),
        "sort_text": lambda code: label(SORT, code),
    }
