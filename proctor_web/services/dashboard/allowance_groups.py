"""Read model of the allowances page: allowances grouped by learner, their recent changes,
the learners the form offers, and the lookup the edit and delete pages use."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased

from proctor_web.errors import NotFound
from proctor_web.extensions import db
from proctor_web.models import (
    Allowance,
    AllowanceHistory,
    CourseMembership,
    CourseRole,
    Exam,
    User,
)


@dataclass
class LearnerAllowances:
    user: User
    allowances: list[Allowance]


def grouped_allowances(course_id: str) -> list[LearnerAllowances]:
    rows = db.session.execute(
        select(Allowance)
        .join(Exam, Allowance.exam_id == Exam.id)
        .join(User, Allowance.user_id == User.id)
        .where(Exam.course_id == course_id)
        .order_by(User.username, Exam.id, Allowance.key)
    ).unique().scalars()
    groups: dict[int, LearnerAllowances] = {}
    for allowance in rows:
        group = groups.setdefault(allowance.user_id, LearnerAllowances(allowance.user, []))
        group.allowances.append(allowance)
    return list(groups.values())


@dataclass(frozen=True)
class AllowanceChange:
    row: AllowanceHistory
    username: str
    exam_name: str
    actor: str | None


def allowance_history(course_id: str, limit: int = 50) -> list[AllowanceChange]:
    actor = aliased(User)
    rows = db.session.execute(
        select(AllowanceHistory, User.username, Exam.exam_name, actor.username)
        .join(Exam, Exam.id == AllowanceHistory.exam_id)
        .join(User, User.id == AllowanceHistory.user_id)
        .outerjoin(actor, actor.id == AllowanceHistory.actor_id)
        .where(Exam.course_id == course_id)
        .order_by(AllowanceHistory.id.desc())
        .limit(limit)
    ).all()
    return [AllowanceChange(*row) for row in rows]


def find_allowance(course_id: str, allowance_id: int) -> Allowance:
    allowance = db.session.execute(
        select(Allowance).where(Allowance.id == allowance_id)
    ).unique().scalar_one_or_none()
    if allowance is None or allowance.exam.course_id != course_id:
        raise NotFound(_("Allowance %(id)s does not exist in this course.", id=allowance_id))
    return allowance


def enrolled_learners(course_id: str, limit: int = 500) -> list[User]:
    """Learners to offer in the allowance form (a datalist; any enrolled learner is valid)."""
    return list(
        db.session.execute(
            select(User)
            .join(CourseMembership, CourseMembership.user_id == User.id)
            .where(CourseMembership.course_id == course_id, CourseMembership.is_active.is_(True),
                   CourseMembership.role == CourseRole.LEARNER.value)
            .order_by(User.username)
            .limit(limit)
        ).scalars()
    )
