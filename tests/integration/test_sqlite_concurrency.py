"""SQLite, the default database, under 50 concurrent writers on a real threaded server.

(The same load runs on PostgreSQL, where it must hold just as well.)

Learners start, poll, error and submit their exams while a provider posts review callbacks
and status emails go out to a (slow) SMTP server after each response. Every request must
succeed: no 5xx, no "database is locked", and no after-response delivery that fails.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from werkzeug.serving import make_server

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import Attempt, DeliveryStatus, EmailMessage, utcnow
from proctor_web.services import attempts, courses, exams, oauth
from tests.conftest import app_config, make_sign_in, scratch_database

WRITERS = 50
REVIEWERS = 14
PROCTORED_LEARNERS = 12
COURSE = "course-v1:Load+L1+2026"
CLIENT_SECRET = "load-provider-secret-0123456789"
V1 = "/api/edx_proctoring/v1/proctored_exam"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlowInbox:
    """An SMTP server that takes its time, like a real one across a network."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        import asyncio

        await asyncio.sleep(1.0)
        self.count += 1
        return "250 OK"


class ErrorLog(logging.Handler):
    """Collects the app's error log lines (after-response delivery failures end up here),
    and counts the GETs that had to write and were run again with the write lock."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []
        self.retried_reads = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "proctor_web.database" and "retrying" in record.getMessage():
            self.retried_reads += 1
        if record.levelno < logging.ERROR:
            return
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({record.exc_info[1]})"
        self.lines.append(text)


@dataclass
class Tally:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    lock = threading.Lock()

    def record(self, label: str, response: requests.Response | None, error: str = "") -> None:
        with self.lock:
            self.requests += 1
            if response is None:
                self.failures.append(f"{label}: {error}")
                return
            self.statuses[response.status_code] += 1
            if response.status_code >= 500 or "database is locked" in response.text:
                self.failures.append(f"{label}: {response.status_code} {response.text[:200]}")


@pytest.fixture
def server(db_backend: str, tmp_path: Path, postgres_available: bool) -> Iterator[dict[str, Any]]:
    """The app on a threaded server over a file database (SQLite's case; PostgreSQL too,
    to show the SQLite measures change nothing there)."""
    smtp_port = _free_port()
    inbox = SlowInbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port, ready_timeout=5)
    smtp.start()
    with scratch_database(db_backend, tmp_path, "proctor_load", postgres_available) as url:
        app = create_app(app_config(
            url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port, MAIL_TIMEOUT_SECONDS=5,
            PROPAGATE_EXCEPTIONS=False,
            # Enough connections for every server thread (SQLite ignores pool sizes).
            SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": WRITERS}
            if db_backend == "postgresql" else {"pool_pre_ping": True},
        ))
        with app.app_context():
            db.create_all()
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield {"app": app, "url": f"http://127.0.0.1:{httpd.server_port}", "inbox": inbox,
                   "db": db_backend}
        finally:
            httpd.shutdown()
            thread.join(timeout=10)
            smtp.stop()
            with app.app_context():
                db.engine.dispose()


def _seed(app) -> dict[str, Any]:
    """Learners, a timed and a proctored exam, submitted attempts awaiting review."""
    now = utcnow()
    with app.app_context():
        courses.ensure_course(COURSE, now)
        timed = exams.create_exam(COURSE, "timed", {"exam_name": "Timed", "time_limit_mins": 60},
                                  None, now)
        proctored = exams.create_exam(COURSE, "proctored", {
            "exam_name": "Proctored", "time_limit_mins": 60, "is_proctored": True,
            "backend": "mock"}, None, now)
        reviewed = exams.create_exam(COURSE, "reviewed", {
            "exam_name": "Reviewed", "time_limit_mins": 60, "is_proctored": True,
            "backend": "mock"}, None, now)
        learners = []
        for number in range(WRITERS):
            user = courses.create_user(f"load{number}", None, now, email=f"l{number}@example.org")
            courses.enroll(user, COURSE, now)
            learners.append(user)
        # The reviewers' attempts: submitted, registered with the provider.
        external_ids = []
        for number, user in enumerate(learners[:REVIEWERS]):
            attempt = attempts.create_attempt(reviewed, user, attempts.Actor.learner(user), now,
                                              start_clock=False)
            attempt.external_id = f"load-ext-{number}"
            attempt.status = "submitted"
            attempt.started_at = attempt.completed_at = now
            external_ids.append(attempt.external_id)
        oauth.create_client("load-provider", "mock", now, client_id="load-client",
                            client_secret=CLIENT_SECRET)
        db.session.commit()
        cookies = []
        client = app.test_client()
        sign_in = make_sign_in(app, client)
        for user in learners:
            sign_in(user)
            cookies.append(client.get_cookie("session").value)
        return {"timed": timed.id, "proctored": proctored.id, "external_ids": external_ids,
                "cookies": cookies,
                # Flask-Login's strong session protection ties the cookie to the browser.
                "user_agent": client.environ_base["HTTP_USER_AGENT"]}


def _call(tally: Tally, label: str, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = requests.request(method, url, timeout=60, **kwargs)
    except requests.RequestException as error:
        tally.record(label, None, repr(error))
        return {}
    tally.record(label, response)
    try:
        return response.json()
    except ValueError:
        return {}


def _provider_token(base: str) -> str:
    """The provider's service account signs in once, as a real provider would (and the
    token endpoint's per-address rate limit expects)."""
    response = requests.post(f"{base}/oauth2/access_token", timeout=30, data={
        "grant_type": "client_credentials", "client_id": "load-client",
        "client_secret": CLIENT_SECRET})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _reviewer(base: str, token: str, external_id: str, tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for status in ("suspicious", "passed"):  # a first review, then an update
        _call(tally, f"review {status}", "POST", f"{base}{V1}/attempt/{external_id}/reviewed",
              json={"status": status, "comments": [], "reviewed_by": None},
            headers=headers)


def _learner(base: str, cookie: str, user_agent: str, exam_id: int, proctored: bool,
             ends_in_error: bool, tally: Tally) -> None:
    headers = {"Cookie": f"session={cookie}", "User-Agent": user_agent}
    created = _call(tally, "create", "POST", f"{base}{V1}/attempt", headers=headers, json={
        "exam_id": exam_id, "start_clock": not proctored, "attempt_proctored": proctored})
    attempt_id = created.get("exam_attempt_id")
    if not attempt_id:
        tally.failures.append(f"create answered {created}")
        return
    one = f"{base}{V1}/attempt/{attempt_id}"
    if proctored:
        _call(tally, "click", "PUT", one, headers=headers,
              json={"action": "click_download_software"})
        _call(tally, "poll", "GET", one, headers=headers)  # readiness is applied by a GET
        _call(tally, "start", "PUT", one, headers=headers, json={"action": "start"})
    _call(tally, "timer", "GET", f"{base}{V1}/attempt", headers=headers)
    _call(tally, "poll", "GET", one, headers=headers)
    final = "error" if ends_in_error else "submit"
    _call(tally, final, "PUT", one, headers=headers, json={"action": final, "detail": "load"})
    _call(tally, "poll", "GET", one, headers=headers)


def test_fifty_concurrent_writers_see_no_errors(server, capsys):
    app, base = server["app"], server["url"]
    seeded = _seed(app)
    token = _provider_token(base)
    errors = ErrorLog()
    app_logger = logging.getLogger("proctor_web")
    app_logger.addHandler(errors)
    level = app_logger.level
    app_logger.setLevel(logging.INFO)
    tally = Tally()
    barrier = threading.Barrier(WRITERS, timeout=30)

    def run(number: int) -> None:
        barrier.wait()
        if number < REVIEWERS:
            _reviewer(base, token, seeded["external_ids"][number], tally)
            return
        learner_number = number - REVIEWERS
        proctored = learner_number < PROCTORED_LEARNERS
        _learner(base, seeded["cookies"][number], seeded["user_agent"],
                 seeded["proctored"] if proctored else seeded["timed"], proctored,
                 ends_in_error=learner_number % 2 == 1, tally=tally)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        # After-response deliveries run once each response is sent: let them finish.
        with app.app_context():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pending = db.session.execute(select(func.count()).select_from(EmailMessage).where(
                    EmailMessage.status == DeliveryStatus.PENDING.value)).scalar_one()
                db.session.rollback()
                if pending == 0:
                    break
                time.sleep(0.2)
    finally:
        app_logger.removeHandler(errors)
        app_logger.setLevel(level)
    elapsed = time.monotonic() - started

    with app.app_context():
        emails = db.session.execute(select(EmailMessage.status)).scalars().all()
        finished = db.session.execute(select(Attempt.status).where(
            Attempt.status.in_(["submitted", "error", "verified"]))).scalars().all()
    with capsys.disabled():
        print(f"\n{server['db']}, {WRITERS} concurrent writers: {tally.requests} requests in "
              f"{elapsed:.1f} s, {len(tally.failures)} failed; statuses {dict(tally.statuses)}; "
              f"{len(errors.lines)} error log lines; {errors.retried_reads} GETs rerun "
              f"with the write lock; {server['inbox'].count} emails sent")
    assert not any(t.is_alive() for t in threads)
    assert tally.failures == [], tally.failures[:10]
    assert errors.lines == [], errors.lines[:10]
    assert set(tally.statuses) == {200}, tally.statuses
    # Every learner finished and every reviewed attempt was verified by its second review.
    assert len(finished) == WRITERS
    assert emails and all(status == DeliveryStatus.DELIVERED.value for status in emails), \
        Counter(emails)
