"""The exam settings form: its fields translated into ``services.exams`` fields, and saving
an exam (created or updated) with its review policy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from proctor_web.errors import BadRequest
from proctor_web.models import Exam, User
from proctor_web.services import exams
from proctor_web.services.validation import parse_bool, require_text

TYPE_FLAGS: dict[str, tuple[bool, bool]] = {
    "timed": (False, False),
    "proctored": (True, False),
    "practice": (False, True),
    "onboarding": (True, True),
}


def exam_form_fields(form: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Translate the exam settings form into ``services.exams`` fields (validated there)."""
    kind = str(form.get("exam_type") or "").strip()
    if kind not in TYPE_FLAGS:
        raise BadRequest(_("%(field)s: choose timed, proctored, practice or onboarding.",
                           field="exam_type"),
                         field="exam_type")
    is_proctored, is_practice = TYPE_FLAGS[kind]
    data: dict[str, Any] = {
        "exam_name": form.get("exam_name"),
        "time_limit_mins": form.get("time_limit_mins"),
        "due_date": form.get("due_date") or None,
        "is_proctored": is_proctored,
        "is_practice_exam": is_practice,
        "is_active": parse_bool(form.get("is_active", "false"), "is_active"),
        "hide_after_due": parse_bool(form.get("hide_after_due", "false"), "hide_after_due"),
        "content_url": form.get("content_url") or None,
    }
    if kind != "timed":
        data["backend"] = form.get("backend") or None
        if not data["backend"]:
            raise BadRequest(_("%(field)s: choose the proctoring provider of this exam.",
                               field="backend"),
                             field="backend")
    return data


def save_exam(course_id: str, exam: Exam | None, form: Mapping[str, Any], actor: User,
              now: datetime) -> Exam:
    """Create or update an exam from the settings form, with its review policy."""
    data = exam_form_fields(form, creating=exam is None)
    policy = str(form.get("review_policy") or "").strip()
    if len(policy) > 10000:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field="review_policy",
                           maximum=10000), field="review_policy")
    if policy and not data["is_proctored"]:
        raise BadRequest(_("%(field)s: only proctored exams have a review policy.",
                           field="review_policy"),
                         field="review_policy")
    if exam is None:
        content_id = require_text(form.get("content_id"), "content_id", max_length=255)
        exam = exams.create_exam(course_id, content_id, data, actor, now)
    else:
        exams.update_exam(exam, data, actor, now)
    if data["is_proctored"] or exams.get_review_policy(exam) is not None:
        exams.set_review_policy(exam, policy, actor, now)
    return exam
