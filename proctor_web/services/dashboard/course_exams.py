"""The exams of a course as the dashboard pages list and open them."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from proctor_web.errors import NotFound
from proctor_web.extensions import db
from proctor_web.models import Exam


def course_exam_list(course_id: str) -> list[Exam]:
    """Every exam of the course, active first, in course order."""
    return list(
        db.session.execute(
            select(Exam)
            .where(Exam.course_id == course_id)
            .options(joinedload(Exam.review_policy))
            .order_by(Exam.is_active.desc(), Exam.id)
        ).unique().scalars()
    )


def course_exam(course_id: str, exam_id: int) -> Exam:
    """One exam of the course (404 when it is missing or belongs to another course)."""
    exam = db.session.get(Exam, exam_id)
    if exam is None or exam.course_id != course_id:
        raise NotFound(_("Exam %(id)s does not exist in this course.", id=exam_id))
    return exam
