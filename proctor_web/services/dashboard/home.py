"""Read model of the signed-in home page: the courses a person belongs to and their exams."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import Course, CourseMembership, Exam, User, utcnow
from proctor_web.services.learner.home import ExamState, exam_states


@dataclass(frozen=True)
class CourseCard:
    course: Course
    role: str
    exams: list[Exam]
    #: The learner's state on each exam, by exam id (learners' cards only).
    states: dict[int, ExamState] = field(default_factory=dict)


def home_for(user: User, now: datetime | None = None) -> list[CourseCard]:
    """The courses a person belongs to; global staff manage every course."""
    if user.is_staff:
        rows = [(course, "staff") for course in db.session.execute(
            select(Course).order_by(Course.course_id)).scalars()]
    else:
        rows = db.session.execute(
            select(Course, CourseMembership.role)
            .join(CourseMembership, CourseMembership.course_id == Course.course_id)
            .where(CourseMembership.user_id == user.id, CourseMembership.is_active.is_(True))
            .order_by(Course.course_id)
        ).all()
    course_ids = [course.course_id for course, _ in rows]
    exams_by_course: dict[str, list[Exam]] = {cid: [] for cid in course_ids}
    if course_ids:
        for exam in db.session.execute(
            select(Exam)
            .where(Exam.course_id.in_(course_ids), Exam.is_active.is_(True))
            .order_by(Exam.id)
        ).scalars():
            exams_by_course[exam.course_id].append(exam)
    now = now or utcnow()
    return [CourseCard(course, role, exams_by_course[course.course_id],
                       {} if role == "staff" else exam_states(
                           user, course, exams_by_course[course.course_id], now))
            for course, role in rows]
