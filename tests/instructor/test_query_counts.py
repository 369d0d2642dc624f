"""The attempts page, the attempt detail and the grouped-attempts endpoint read a fixed number
of queries, at most 6, whether the course has 10 attempts or 10,000."""

from __future__ import annotations

import itertools

import pytest
from flask import g
from sqlalchemy import insert, select

from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory, CourseMembership, User
from proctor_web.services import attempts
from tests.instructor.conftest import page_url

API = "/api/edx_proctoring/v1/proctored_exam"
STATUSES = ("created", "started", "submitted", "verified", "error", "rejected")


def bulk_attempts(dash, count: int, now) -> None:
    """``count`` attempts spread over the course's exams, inserted in a few statements."""
    exams = [dash.timed, dash.proctored, dash.onboarding]
    learners = -(-count // len(exams))
    prefix = f"bulk{count}_"
    db.session.execute(insert(User), [
        {"username": f"{prefix}{i}", "email": f"{prefix}{i}@example.com", "full_name": "",
         "is_staff": False, "is_active_account": True, "created": now, "modified": now}
        for i in range(learners)
    ])
    ids = db.session.execute(
        select(User.id).where(User.username.like(f"{prefix}%")).order_by(User.id)
    ).scalars().all()
    db.session.execute(insert(CourseMembership), [
        {"user_id": uid, "course_id": dash.course_id, "role": "learner",
         "enrollment_mode": "verified", "is_active": True, "created": now, "modified": now}
        for uid in ids
    ])
    pairs = itertools.islice(((uid, exam) for uid in ids for exam in exams), count)
    rows = []
    history = []
    for n, (uid, exam) in enumerate(pairs):
        code = f"{prefix}code{n}"
        rows.append({
            "user_id": uid, "exam_id": exam.id, "attempt_code": code,
            "status": STATUSES[n % len(STATUSES)], "taking_as_proctored": exam.is_proctored,
            "is_sample_attempt": exam.is_practice_exam, "created": now, "modified": now,
            "started_at": now, "allowed_time_limit_mins": 60, "is_resumable": False,
            "ready_to_resume": False, "resumed": False, "is_status_acknowledged": False,
        })
    db.session.execute(insert(Attempt), rows)
    attempt_ids = db.session.execute(
        select(Attempt.id, Attempt.user_id, Attempt.exam_id, Attempt.attempt_code)
        .where(Attempt.attempt_code.like(f"{prefix}%"))
    ).all()
    for attempt_id, uid, exam_id, code in attempt_ids:
        history.append({
            "attempt_id": attempt_id, "attempt_code": code, "user_id": uid, "exam_id": exam_id,
            "action": "create", "from_status": None, "to_status": "created",
            "actor_kind": "learner", "reason": "", "ignored": False, "created_at": now,
        })
    db.session.execute(insert(AttemptHistory), history)
    # Rows inserted behind the services' back: bring the exams' learner counts up to date.
    attempts.recount_learners()
    db.session.commit()


def _count(count_queries, client, url: str) -> int:
    # Start cold, as a real request does: the signed-in user is loaded and counted too (the
    # test's long-lived app context would otherwise keep it in ``g`` between requests).
    db.session.expunge_all()
    g.pop("_login_user", None)
    with count_queries() as counter:
        response = client.get(url)
        response.get_data()
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return counter.count


@pytest.mark.parametrize("size", [10, 10_000])
def test_fixed_query_counts(size, dash, login_as, client, count_queries, now):
    bulk_attempts(dash, size, now)
    login_as(dash.staff)
    cid = dash.course_id
    urls = {
        "attempts page": page_url(cid, "attempts"),
        "attempts page, filtered": page_url(
            cid, "attempts?q=bulk&status=started&type=proctored&sort=username"),
        "attempt detail": page_url(cid, f"attempts/{dash.submitted.id}"),
        "grouped attempts": f"{API}/attempt/grouped/course_id/{cid}?page=1",
        "grouped attempts search": f"{API}/attempt/grouped/course_id/{cid}/search/bulk",
    }
    counts = {name: _count(count_queries, client, url) for name, url in urls.items()}
    # Fixed numbers: the same at 10 and 10,000 attempts, and never more than 6.
    # (user, course and access, exams, page, total, earlier attempts | history, allowances,
    # review with comments). Unfiltered, the total is the exams' own learner counts.
    assert counts == {
        "attempts page": 5,
        "attempts page, filtered": 6,
        "attempt detail": 6,
        "grouped attempts": 5,
        "grouped attempts search": 6,
    }
