"""Fixtures of the instructor dashboard tests: two courses and one person per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from proctor_web.extensions import db
from proctor_web.models import Attempt, Exam, User
from tests.conftest import make_sign_in
from tests.factories import COURSE_ID

OTHER_COURSE_ID = "course-v1:OtherX+O201+2026"


@dataclass
class Dash:
    course_id: str
    staff: User
    global_staff: User
    other_staff: User
    learner: User
    learner2: User
    outsider: User  # a learner of the other course only
    timed: Exam
    proctored: Exam
    onboarding: Exam
    other_exam: Exam
    submitted: Attempt
    errored: Attempt
    other_attempt: Attempt


@pytest.fixture
def dash(factory, now) -> Dash:
    factory.course(COURSE_ID)
    factory.course(OTHER_COURSE_ID)
    staff = factory.course_staff(COURSE_ID, "teacher")
    other_staff = factory.course_staff(OTHER_COURSE_ID, "otherteacher")
    global_staff = factory.user("root", is_staff=True)
    learner = factory.learner(COURSE_ID, "learner1")
    learner2 = factory.learner(COURSE_ID, "learner2")
    outsider = factory.learner(OTHER_COURSE_ID, "outsider")
    timed = factory.exam("timed", exam_name="Quiz One")
    proctored = factory.exam("proctored", exam_name="Final Exam")
    onboarding = factory.exam("onboarding", exam_name="Onboarding")
    other_exam = factory.exam("proctored", course_id=OTHER_COURSE_ID, exam_name="Secret Exam")
    submitted = factory.attempt(proctored, learner, "submitted", started_minutes_ago=90,
                                completed_at=now)
    errored = factory.attempt(proctored, learner2, "error", started_minutes_ago=30,
                              is_resumable=True, time_remaining_seconds=1800)
    other_attempt = factory.attempt(other_exam, outsider, "submitted", started_minutes_ago=90)
    # Committing ends the test's savepoint: the error handler's rollback (on a refused
    # request) then undoes only what that request did, not the fixture.
    db.session.commit()
    return Dash(COURSE_ID, staff, global_staff, other_staff, learner, learner2, outsider,
                timed, proctored, onboarding, other_exam, submitted, errored, other_attempt)


@pytest.fixture
def login_as(app, client):
    """Sign ``client`` in as ``user`` (None signs out), as the login form would."""
    return make_sign_in(app, client)


def page_url(course_id: str, rest: str = "") -> str:
    return f"/courses/{course_id}/instructor/{rest}"
