"""Concurrent first reviews of one attempt, as real concurrent requests on PostgreSQL.

Each thread is its own request with its own database connection. The unique attempt code of
``reviews`` lets one review in first; every other one must see the winner's row and be
handled as a later review of the same attempt (an update), never a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from proctor_web.extensions import db
from proctor_web.models import Review, ReviewComment, ReviewHistory, utcnow
from proctor_web.services import attempts, courses, exams, oauth
from proctor_web.services.attempts import Actor
from tests.conftest import app_on_own_database

COURSE = "course-v1:Race+Review+1"
SECRET = "race-provider-secret-0123456789"
ATTEMPTS = 10
REVIEWERS = 5  # concurrent reviews per attempt: 50 requests in all


@pytest.fixture(params=[True, False], ids=["updates-allowed", "updates-off"])
def race_app(request, db_backend, postgres_available) -> Iterator:
    with app_on_own_database(db_backend, Path(), "proctor_review_race", postgres_available,
                             ALLOW_REVIEW_UPDATES=request.param) as app:
        now = utcnow()
        with app.app_context():
            exam = exams.create_exam(COURSE, "race-review", {
                "exam_name": "Race", "time_limit_mins": 60, "is_proctored": True,
                "backend": "mock"}, None, now)
            external_ids = []
            for number in range(ATTEMPTS):
                learner = courses.create_user(f"reviewed-{number}", None, now)
                courses.enroll(learner, COURSE, now)
                attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now)
                attempt.status = "submitted"  # placed there, as after a real exam
                attempt.external_id = f"race-{number}"
                external_ids.append(attempt.external_id)
            oauth.create_client("race-provider", "mock", now, client_id="race-client",
                                client_secret=SECRET)
            db.session.commit()
        app.config["race_external_ids"] = external_ids
        yield app


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.postgresql_only
def test_concurrent_first_reviews_never_fail(race_app):
    app = race_app
    token = app.test_client().post("/oauth2/access_token", data={
        "grant_type": "client_credentials", "client_id": "race-client",
        "client_secret": SECRET}).json["access_token"]
    outcomes: list[tuple[str, int, dict | str]] = []
    lock = threading.Lock()

    for external_id in app.config["race_external_ids"]:
        barrier = threading.Barrier(REVIEWERS, timeout=20)

        def review(number: int, external_id: str = external_id,
                   barrier: threading.Barrier = barrier) -> None:
            body = {"status": "passed", "comments": [
                {"comment": f"reviewer {number}", "status": "ok", "start": number}]}
            client = app.test_client()
            barrier.wait()
            try:
                response = client.post(
                    f"/api/edx_proctoring/v1/proctored_exam/attempt/{external_id}/reviewed",
                    json=body, headers={"Authorization": f"Bearer {token}"})
                result = (external_id, response.status_code,
                          response.json if response.status_code >= 400 else
                          {"updated": response.headers["X-Proctor-Review-Updated"] == "true"})
            except Exception as error:  # noqa: BLE001  (the app re-raises 500s under TESTING)
                result = (external_id, 500, repr(error))
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=review, args=(n,)) for n in range(REVIEWERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    updates = app.config["ALLOW_REVIEW_UPDATES"]
    server_errors = [o for o in outcomes if o[1] >= 500]
    print(f"\nconcurrent first reviews: {len(outcomes)} requests, {len(server_errors)} 5xx")
    assert len(outcomes) == ATTEMPTS * REVIEWERS
    assert server_errors == []
    losers = REVIEWERS - 1
    with app.app_context():
        for external_id in app.config["race_external_ids"]:
            mine = sorted((o[1], o[2].get("updated", o[2].get("detail"))) for o in outcomes
                          if o[0] == external_id)
            if updates:
                # One stored the first review; the others updated it, in some order.
                assert mine == [(200, False)] + [(200, True)] * losers
            else:
                # The losers are refused exactly as a later review is when updates are off.
                assert mine[0] == (200, False)
                assert [status for status, _ in mine[1:]] == [400] * losers
                assert all("already exists" in detail for _, detail in mine[1:])
        assert _count(Review) == ATTEMPTS
        assert _count(ReviewHistory) == (ATTEMPTS * losers if updates else 0)
        assert _count(ReviewComment) == ATTEMPTS * (REVIEWERS if updates else 1)
        db.session.remove()
