"""Who may open a course's dashboard: the course and the person's role in it, in one query."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, select

from proctor_web.errors import NotFound
from proctor_web.extensions import db
from proctor_web.models import Course, CourseMembership, CourseRole, User
from proctor_web.services import courses


@dataclass(frozen=True)
class CourseAccess:
    course: Course
    can_manage: bool


def course_access(user: User, course_id: str) -> CourseAccess:
    """The course and whether ``user`` may manage it, in one query (404 if no such course)."""
    row = db.session.execute(
        select(Course, CourseMembership.role, CourseMembership.is_active)
        .outerjoin(
            CourseMembership,
            and_(
                CourseMembership.course_id == Course.course_id,
                CourseMembership.user_id == user.id,
            ),
        )
        .where(Course.course_id == course_id)
    ).first()
    if row is None:
        raise NotFound(_("No course %(course_id)s.", course_id=repr(course_id)))
    course, role, active = row
    can = bool(user.is_staff or (role == CourseRole.STAFF.value and active))
    return CourseAccess(course, can)


def is_member(user: User, course_id: str) -> bool:
    return user.is_staff or courses.is_enrolled(user, course_id)
