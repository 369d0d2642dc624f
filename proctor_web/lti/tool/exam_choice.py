"""The exam an instructor picks, or creates, for a resource link or a deep link."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime

from flask_babel import gettext as _

from proctor_web.errors import BadRequest, NotFound
from proctor_web.models import Exam, User
from proctor_web.services import exams

KINDS = ("timed", "proctored")


def course_exam_choices(course_id: str) -> list[Exam]:
    return exams.course_exams(course_id)


def chosen_exam(course_id: str, exam_id: str) -> Exam:
    if not exam_id.isdigit():
        raise BadRequest(_("%(field)s: choose an exam.", field="exam_id"), field="exam_id")
    exam = next((e for e in exams.course_exams(course_id) if e.id == int(exam_id)), None)
    if exam is None:
        raise NotFound(_("This course has no such exam."), field="exam_id")
    return exam


def create_exam(course_id: str, form: Mapping[str, str], actor: User, now: datetime) -> Exam:
    """A new exam of the course, named and timed by the instructor (flushes)."""
    kind = form.get("kind") or "timed"
    if kind not in KINDS:
        raise BadRequest(_("%(field)s: expected one of %(choices)s, got %(value)s.",
                           field="kind", choices=", ".join(KINDS), value=repr(kind)),
                         field="kind")
    minutes = (form.get("time_limit_mins") or "").strip()
    if not minutes.isdigit() or not 1 <= int(minutes) <= 24 * 60:
        raise BadRequest(_("%(field)s: a number of minutes from 1 to 1440.",
                           field="time_limit_mins"), field="time_limit_mins")
    data = {"exam_name": (form.get("exam_name") or "").strip(),
            "time_limit_mins": int(minutes), "is_proctored": kind == "proctored"}
    if not data["exam_name"]:
        raise BadRequest(_("%(field)s: this field is required.", field="exam_name"),
                         field="exam_name")
    # Our own content id: the platform knows the exam by the custom parameter we give it.
    content_id = f"lti-{secrets.token_hex(6)}"
    return exams.create_exam(course_id, content_id, data, actor, now)
