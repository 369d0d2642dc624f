"""The attempts list pages exam by exam (each exam's first page x page-size rows, merged):
every sort and filter must give exactly the rows, in the order, of one plain query over the
whole course, page after page."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from proctor_web.extensions import db
from proctor_web.models import Attempt, Exam, User
from proctor_web.services import courses
from proctor_web.services.dashboard import attempt_list
from proctor_web.services.dashboard.attempt_list import SORTS, AttemptFilters
from tests.instructor.conftest import OTHER_COURSE_ID

STATUSES = ("created", "started", "submitted", "verified", "error", "rejected")


@pytest.fixture
def mixed_course(dash, factory, now):
    """Three exams plus a practice exam, attempts interleaved across them with varied
    statuses and times (some never started or completed), learners with earlier attempts,
    and newer attempts of another course after them."""
    practice = factory.exam("practice", exam_name="Practice round")
    exam_list = [dash.timed, dash.proctored, dash.onboarding, practice]
    learners = [factory.learner(username=f"mixed{n:02d}") for n in range(9)]
    for n, (learner, exam) in enumerate(itertools.product(learners, exam_list)):
        if n % 5 == 4:
            continue  # not every learner tries every exam
        started = None if n % 7 == 0 else (n * 13) % 90
        completed = {"completed_at": now - timedelta(minutes=n % 4)} if n % 3 == 0 else {}
        if exam.is_practice_exam and n % 2 == 0:
            # Practice exams keep every attempt: an earlier one below the latest.
            factory.attempt(exam, learner, "error", started_minutes_ago=120)
        factory.attempt(exam, learner, STATUSES[n % len(STATUSES)],
                        started_minutes_ago=started, **completed)
    outsider = factory.learner(OTHER_COURSE_ID, "mixed_outsider")
    for _ in range(3):
        factory.attempt(dash.other_exam, outsider, "submitted", resumed=True)
    db.session.commit()
    return dash


def reference(course_id: str, filters: AttemptFilters) -> list[int]:
    """The whole list in one query: the latest attempt per learner and exam, sorted."""
    newer = aliased(Attempt)
    query = (
        select(Attempt.id)
        .join(User, Attempt.user_id == User.id)
        .join(Exam, Attempt.exam_id == Exam.id)
        .where(Exam.course_id == course_id)
        .where(~select(newer.id).where(newer.exam_id == Attempt.exam_id,
                                       newer.user_id == Attempt.user_id,
                                       newer.id > Attempt.id).exists())
    )
    if filters.search:
        query = query.where(courses.search_users(filters.search))
    if filters.status:
        query = query.where(Attempt.status == filters.status)
    if filters.exam_id:
        query = query.where(Attempt.exam_id == filters.exam_id)
    sort = SORTS[filters.sort]
    return list(db.session.execute(
        query.order_by(*sort.order_by(sort.column, Attempt.id))).scalars())


def every_page(course_id: str, filters: AttemptFilters, page_size: int) -> list[int]:
    ids: list[int] = []
    for number in itertools.count(1):
        page = attempt_list.list_attempts(
            course_id, AttemptFilters(filters.search, filters.exam_id, filters.status,
                                      filters.exam_type, filters.sort, number), page_size)
        ids += [row.attempt.id for row in page.rows]
        if not page.has_next:
            assert page.total == len(ids)
            return ids
    raise AssertionError("unreachable")


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_sort_pages_like_one_query_over_the_course(sort, mixed_course):
    filters = AttemptFilters(sort=sort)
    expected = reference(mixed_course.course_id, filters)
    assert len(expected) > 20
    for page_size in (1, 4, 7):
        assert every_page(mixed_course.course_id, filters, page_size) == expected


@pytest.mark.parametrize("filters", [
    AttemptFilters(status="started"),
    AttemptFilters(search="mixed0", sort="oldest"),
    AttemptFilters(search="MIXED", status="error", sort="username"),
    AttemptFilters(sort="-username", exam_id=-1),  # replaced by the proctored exam below
])
def test_filtered_lists_page_like_one_query_over_the_course(filters, mixed_course):
    if filters.exam_id == -1:
        filters = AttemptFilters(sort=filters.sort, exam_id=mixed_course.proctored.id)
    expected = reference(mixed_course.course_id, filters)
    assert expected
    assert every_page(mixed_course.course_id, filters, 3) == expected


def test_earlier_attempts_are_those_of_the_same_learner_and_exam(mixed_course):
    page = attempt_list.list_attempts(mixed_course.course_id, AttemptFilters(), 1000)
    with_earlier = [row for row in page.rows if row.earlier]
    assert with_earlier
    for row in page.rows:
        expected = db.session.execute(
            select(Attempt.id)
            .where(Attempt.exam_id == row.attempt.exam_id,
                   Attempt.user_id == row.attempt.user_id, Attempt.id != row.attempt.id)
            .order_by(Attempt.id.desc())
        ).scalars().all()
        assert [a.id for a in row.earlier] == expected
