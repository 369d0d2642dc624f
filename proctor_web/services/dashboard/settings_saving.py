"""The course's proctoring settings saved from the exam settings page: the escalation email
and whether learners may opt out of proctoring."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from proctor_web.errors import BadRequest
from proctor_web.extensions import db
from proctor_web.models import Course
from proctor_web.services import courses
from proctor_web.services.validation import parse_bool


def update_course_settings(course: Course, form: Mapping[str, Any], now: datetime) -> Course:
    email = str(form.get("proctoring_escalation_email") or "").strip()
    if email and not courses.EMAIL_PATTERN.match(email):
        raise BadRequest(_("%(field)s: %(value)s is not an email address.",
                           field="proctoring_escalation_email", value=repr(email)),
                         field="proctoring_escalation_email")
    if len(email) > 254:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.",
                           field="proctoring_escalation_email", maximum=254),
                         field="proctoring_escalation_email")
    course.proctoring_escalation_email = email or None
    course.allow_proctoring_opt_out = parse_bool(
        form.get("allow_proctoring_opt_out", "false"), "allow_proctoring_opt_out"
    )
    course.modified = now
    db.session.flush()
    return course
