"""Two gunicorn servers on one PostgreSQL database, as a production deployment runs them.

Both are started by the test from the shipped ``gunicorn.conf.py`` on 127.0.0.1 ports with
the same settings, and stopped at the end. Learners are driven concurrently, every request
of a learner going to the other server than the one before (sign in on one, start on the
other, polls and submit alternating): sessions, CSRF tokens, timers and statuses must hold
across servers, because nothing a request needs lives in one server's memory.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import pytest
import requests
from flask_migrate import upgrade
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory, utcnow
from proctor_web.services import courses, exams
from proctor_web.testing.loopback import app_environment, gunicorn_app
from tests.conftest import TEST_BACKENDS, app_config, scratch_database

COURSE = "course-v1:ScaleX+TWO+2026"
LEARNERS = 6
PASSWORD = "two-servers-pass-0123"
SECRET_KEY = "shared-secret-key-of-both-servers-0123456789"
API = "/api/edx_proctoring/v1/proctored_exam"
POLLS = 4

pytestmark = pytest.mark.postgresql_only


def gunicorn(database_url: str, tmp_path: Path, name: str) -> AbstractContextManager[str]:
    env = app_environment(
        PROCTOR_SECRET_KEY=SECRET_KEY, PROCTOR_DATABASE_URL=database_url,
        PROCTOR_BACKENDS=json.dumps(TEST_BACKENDS),
        PROCTOR_SESSION_COOKIE_SECURE="false",  # plain http on loopback
        PROCTOR_LOG_FORMAT="json",
    )
    return gunicorn_app(env, tmp_path / f"{name}.log", workers=2)


@pytest.fixture
def deployment(db_backend, tmp_path, postgres_available):
    """A migrated PostgreSQL database with a course, a timed exam and learners."""
    with scratch_database(db_backend, tmp_path, "proctor_two", postgres_available) as url:
        app = create_app(app_config(url))
        with app.app_context():
            upgrade()
            now = utcnow()
            courses.ensure_course(COURSE, now)
            exam = exams.create_exam(COURSE, "final", {"exam_name": "Final",
                                                       "time_limit_mins": 30}, None, now)
            for number in range(LEARNERS):
                user = courses.create_user(f"scale{number}", PASSWORD, now,
                                           email=f"scale{number}@example.com",
                                           full_name=f"Scale Learner {number}")
                courses.enroll(user, COURSE, now)
            db.session.commit()
            exam_id = exam.id
            db.engine.dispose()
        yield app, url, exam_id
        with app.app_context():
            db.engine.dispose()


class Alternating:
    """A learner's browser whose every request goes to the other server than the last."""

    def __init__(self, servers: list[str], username: str) -> None:
        self.servers = servers
        self.turn = 0
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"learner-{username}"
        self.served_by: list[str] = []

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        base = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        self.served_by.append(base)
        request_id = f"{self.session.headers['User-Agent']}-{self.turn}"
        headers = {"X-Request-ID": request_id, **kwargs.pop("headers", {})}
        response = self.session.request(method, base + path, headers=headers, timeout=15,
                                        allow_redirects=False, **kwargs)
        assert response.headers["X-Request-ID"] == request_id
        return response


def take_exam(servers: list[str], username: str, exam_id: int) -> dict:
    browser = Alternating(servers, username)
    login_page = browser.request("GET", "/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_page.text)[1]
    signed_in = browser.request("POST", "/login", data={
        "username": username, "password": PASSWORD, "csrf_token": csrf})
    assert signed_in.status_code == 302, signed_in.text[:500]
    token = browser.request("GET", "/csrf/api/v1/token").json()["csrfToken"]
    write = {"X-CSRFToken": token}
    created = browser.request("POST", f"{API}/attempt", headers=write,
                              json={"exam_id": exam_id, "start_clock": True})
    assert created.status_code == 200, created.text
    attempt_id = created.json()["exam_attempt_id"]
    polls = [browser.request("GET", f"{API}/attempt/{attempt_id}").json()
             for _ in range(POLLS)]
    submitted = browser.request("PUT", f"{API}/attempt/{attempt_id}", headers=write,
                                json={"action": "submit"})
    assert submitted.status_code == 200, submitted.text
    after = browser.request("GET", f"{API}/attempt/{attempt_id}").json()
    return {"attempt_id": attempt_id, "polls": polls, "after": after,
            "servers": set(browser.served_by)}


def metric(base: str, name: str, **labels: str) -> float | None:
    text = requests.get(base + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_learners_alternating_between_two_servers_get_consistent_results(
        deployment, tmp_path):
    app, url, exam_id = deployment
    with ExitStack() as stack:
        servers = [stack.enter_context(gunicorn(url, tmp_path, name)) for name in ("a", "b")]
        with ThreadPoolExecutor(max_workers=LEARNERS) as pool:
            results = list(pool.map(lambda n: take_exam(servers, f"scale{n}", exam_id),
                                    range(LEARNERS)))
        for result in results:
            assert result["servers"] == set(servers)
            first = result["polls"][0]
            for poll in result["polls"]:
                assert poll["attempt_status"] == "started"
                # Both servers compute the same end from the same row.
                assert poll["timer_ends"] == first["timer_ends"]
            assert result["after"]["attempt_status"] == "submitted"
        # The database-backed gauges agree whichever server is asked; each server adds up
        # its own workers' request counts.
        for base in servers:
            assert metric(base, "proctor_attempts", status="submitted") == LEARNERS
        served = [metric(base, "proctor_http_request_duration_seconds_count",
                         endpoint="api.get_attempt", method="GET", status="200")
                  for base in servers]
        assert sum(served) == LEARNERS * (POLLS + 1)
    with app.app_context():
        attempts = db.session.execute(select(Attempt)).scalars().all()
        assert sorted(a.id for a in attempts) == sorted(r["attempt_id"] for r in results)
        assert {a.status for a in attempts} == {"submitted"}
        assert len({a.user_id for a in attempts}) == LEARNERS
        for attempt in attempts:
            actions = db.session.execute(
                select(AttemptHistory.action).where(AttemptHistory.attempt_id == attempt.id)
                .order_by(AttemptHistory.id)).scalars().all()
            assert actions[-2:] == ["start", "submit"], actions
        db.session.remove()
