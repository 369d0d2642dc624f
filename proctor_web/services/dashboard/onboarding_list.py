"""Read model of the onboarding page (and its JSON endpoint): every enrolled learner's
onboarding status, computed in SQL or read from a provider that keeps onboarding profiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, exists, func, literal, select
from sqlalchemy.orm import aliased

from proctor_web.backends.base import ProctoringBackend
from proctor_web.errors import BadRequest
from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    AttemptStatus,
    CourseMembership,
    CourseRole,
    Exam,
    User,
)
from proctor_web.models.attempt import IN_PROGRESS, PRE_STARTED
from proctor_web.services import courses, onboarding_profiles
from proctor_web.services.dashboard.paging import PAGE_SIZE, parse_page
from proctor_web.services.obscured_ids import obscured_user_id
from proctor_web.services.onboarding import OnboardingStatus, onboarding_exams

S = AttemptStatus
ONBOARDING_STATUSES = tuple(s.value for s in OnboardingStatus)


@dataclass(frozen=True)
class OnboardingFilters:
    search: str = ""
    statuses: tuple[str, ...] = ()
    page: int = 1

    def as_query(self, **changes: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"q": self.search, "status": list(self.statuses),
                                  "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1, [])}


def parse_onboarding_filters(search: Any, statuses: Sequence[str], page: Any) -> OnboardingFilters:
    text = str(search or "").strip()
    if len(text) > 254:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field="text_search",
                           maximum=254), field="text_search")
    wanted: list[str] = []
    for value in statuses:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if part not in ONBOARDING_STATUSES:
                raise BadRequest(
                    _("%(field)s: unknown onboarding status %(value)s; expected some of "
                      "%(choices)s.", field="statuses", value=repr(part),
                      choices=", ".join(ONBOARDING_STATUSES)),
                    field="statuses",
                )
            wanted.append(part)
    return OnboardingFilters(text, tuple(dict.fromkeys(wanted)), parse_page(page))


@dataclass(frozen=True)
class OnboardingRow:
    user_id: int
    username: str
    email: str
    enrollment_mode: str
    status: str
    modified: datetime | None


@dataclass
class OnboardingPage:
    rows: list[OnboardingRow]
    total: int
    page: int
    page_size: int
    filters: OnboardingFilters
    has_onboarding_exam: bool
    #: Statuses come from the provider (it keeps onboarding profiles), not our attempts.
    use_onboarding_profile_api: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


def onboarding_status_query(course_id: str, exam_list: Sequence[Exam], now: datetime) -> Select:
    """One row per enrolled learner with their dashboard onboarding status, computed in SQL.

    Mirrors ``onboarding.instructor_status(learner_onboarding(...))``: a valid verified
    onboarding here wins, then one verified in another course on the same backend, else the
    latest attempt's status in the dashboard's words.
    """
    exam_ids = [e.id for e in exam_list]
    backend_name = exam_list[0].backend or ""
    cutoff = now - timedelta(days=current_app.config["ONBOARDING_VALID_DAYS"])
    here = and_(
        Attempt.user_id == User.id,
        Attempt.exam_id.in_(exam_ids),
        Attempt.taking_as_proctored.is_(True),
    )
    verified_here = exists().where(here, Attempt.status == S.VERIFIED.value,
                                   Attempt.modified > cutoff)
    other_exam = aliased(Exam)
    other = aliased(Attempt)
    verified_elsewhere = (
        exists()
        .where(
            other.user_id == User.id,
            other.exam_id == other_exam.id,
            other.status == S.VERIFIED.value,
            other.taking_as_proctored.is_(True),
            other_exam.is_proctored.is_(True),
            other_exam.is_practice_exam.is_(True),
            other_exam.backend == backend_name,
            other_exam.course_id != course_id,
            other.modified >= cutoff,
        )
    )
    latest = (
        select(Attempt.status).where(here)
        .order_by(Attempt.modified.desc(), Attempt.id.desc()).limit(1).scalar_subquery()
    )
    latest_modified = (
        select(func.max(Attempt.modified)).where(here).scalar_subquery()
    )
    OS = OnboardingStatus
    status = case(
        (verified_here, literal(OS.VERIFIED.value)),
        (verified_elsewhere, literal(OS.OTHER_COURSE_APPROVED.value)),
        (latest.is_(None), literal(OS.NOT_STARTED.value)),
        (latest == S.VERIFIED.value, literal(OS.EXPIRED.value)),
        (latest.in_([s.value for s in PRE_STARTED]), literal(OS.SETUP_STARTED.value)),
        (latest.in_([s.value for s in IN_PROGRESS]), literal(OS.ONBOARDING_STARTED.value)),
        (latest.in_([S.SUBMITTED.value, S.SECOND_REVIEW_REQUIRED.value]),
         literal(OS.SUBMITTED.value)),
        (latest == S.ONBOARDING_RESET.value, literal(OS.NOT_STARTED.value)),
        (latest == S.REJECTED.value, literal(OS.REJECTED.value)),
        else_=literal(OS.ERROR.value),
    )
    return (
        select(
            User.id.label("user_id"),
            User.username.label("username"),
            User.email.label("email"),
            CourseMembership.enrollment_mode.label("enrollment_mode"),
            status.label("status"),
            latest_modified.label("modified"),
        )
        .join(CourseMembership, CourseMembership.user_id == User.id)
        .where(
            CourseMembership.course_id == course_id,
            CourseMembership.is_active.is_(True),
            CourseMembership.role == CourseRole.LEARNER.value,
        )
    )


def onboarding_page(course_id: str, filters: OnboardingFilters, now: datetime,
                    page_size: int = PAGE_SIZE) -> OnboardingPage:
    exam_list = onboarding_exams(course_id)
    if not exam_list:
        return OnboardingPage([], 0, filters.page, page_size, filters, False)
    backend = onboarding_profiles.profile_backend(exam_list)
    if backend is not None:
        return _provider_onboarding_page(course_id, exam_list, backend, filters, now,
                                         page_size)
    inner = onboarding_status_query(course_id, exam_list, now)
    if filters.search:
        inner = inner.where(courses.search_users(filters.search))
    sub = inner.subquery()
    query = select(sub, func.count().over().label("total"))
    if filters.statuses:
        query = query.where(sub.c.status.in_(filters.statuses))
    query = query.order_by(sub.c.username).limit(page_size).offset((filters.page - 1) * page_size)
    result = db.session.execute(query).all()
    total = result[0].total if result else 0
    if not result and filters.page > 1:
        count_query = select(func.count()).select_from(sub)
        if filters.statuses:
            count_query = count_query.where(sub.c.status.in_(filters.statuses))
        total = db.session.execute(count_query).scalar_one()
    rows = [
        OnboardingRow(r.user_id, r.username, r.email, r.enrollment_mode, r.status, r.modified)
        for r in result
    ]
    return OnboardingPage(rows, total, filters.page, page_size, filters, True)


def _provider_onboarding_page(
    course_id: str, exam_list: Sequence[Exam], backend: ProctoringBackend,
    filters: OnboardingFilters, now: datetime, page_size: int,
) -> OnboardingPage:
    """The onboarding list when the provider keeps the statuses: every enrolled learner
    (search applied) with the provider's status for their obscured id, ``not_started`` for
    learners it does not know, and the last change of their attempts here. Raises
    ``ProviderOnboardingUnavailable`` (503) when the provider cannot be asked."""
    known = onboarding_profiles.course_statuses(
        backend, course_id, onboarding_profiles.provider_words_for(filters.statuses))
    learners = onboarding_status_query(course_id, exam_list, now)
    if filters.search:
        learners = learners.where(courses.search_users(filters.search))
    rows: list[OnboardingRow] = []
    for r in db.session.execute(learners.order_by(User.username)).all():
        status = known.get(obscured_user_id(r.user_id, backend.name),
                           OnboardingStatus.NOT_STARTED)
        if filters.statuses and status.value not in filters.statuses:
            continue
        rows.append(OnboardingRow(r.user_id, r.username, r.email, r.enrollment_mode,
                                  status.value, r.modified))
    start = (filters.page - 1) * page_size
    return OnboardingPage(rows[start:start + page_size], len(rows), filters.page, page_size,
                          filters, True, use_onboarding_profile_api=True)
