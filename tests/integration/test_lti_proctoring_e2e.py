"""proctor_web as an LTI proctoring platform, against the fake LTI tool as a real process.

proctor_web is served for real (werkzeug on a thread, its own SQLite file); the learner's
browser is a ``requests`` session that follows redirects and submits the auto-post forms as
a browser would. The tool verifies our id_tokens against our published key set, signs its
LtiStartAssessment with its own key, and calls our token endpoint and ACS over HTTP.
"""

from __future__ import annotations

import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    AttemptHistory,
    AttemptIncident,
    LtiProctoringSession,
    utcnow,
)
from proctor_web.services import courses, exams
from tests.conftest import scratch_database

REPO_ROOT = Path(__file__).resolve().parents[2]
COURSE = "course-v1:LtiX+Proctor+2026"
CLIENT_ID = "fake-lti-tool"
DEPLOYMENT_ID = "fake-deployment-1"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"


class FormParser(HTMLParser):
    """The forms of a page: action, method and their input fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append({"id": values.get("id"), "action": values.get("action"),
                               "method": (values.get("method") or "get").lower(), "fields": {}})
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1]["fields"][values["name"]] = values.get("value") or ""


def the_form(page: str, form_id: str) -> dict[str, Any]:
    parser = FormParser()
    parser.feed(page)
    for form in parser.forms:
        if form["id"] == form_id:
            return form
    raise AssertionError(f"no form {form_id!r} in the page:\n{page[:2000]}")


@pytest.fixture(scope="module")
def tool_url() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    command = [sys.executable, "-m", "proctor_web.testing.fake_lti_tool", "--port", "0",
               "--client-id", CLIENT_ID, "--deployment-id", DEPLOYMENT_ID]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, env=env) as process:
        try:
            lines: queue.Queue[str] = queue.Queue()
            stdout = process.stdout
            assert stdout is not None
            threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
            banner = lines.get(timeout=20)
            assert banner.startswith("Fake LTI proctoring tool listening on"), banner
            yield banner.rsplit(" ", 1)[1].strip()
        finally:
            process.terminate()
            process.wait(timeout=10)


@dataclass
class Live:
    app: Flask
    url: str
    tool_url: str
    exam_path: str
    browser: requests.Session

    def read(self, fn: Any) -> Any:
        """Read the database in a fresh transaction (the server thread writes meanwhile)."""
        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    def attempt(self) -> dict[str, Any]:
        def load() -> dict[str, Any]:
            attempt = db.session.execute(
                select(Attempt).order_by(Attempt.id.desc())).scalars().first()
            return {"id": attempt.id, "code": attempt.attempt_code, "status": attempt.status}
        return self.read(load)

    def act(self, action: str) -> None:
        response = self.browser.post(self.url + self.exam_path, data={"action": action},
                                     allow_redirects=False, timeout=10)
        assert response.status_code == 303, response.text

    def control(self, **fields: Any) -> dict[str, Any]:
        response = requests.post(f"{self.tool_url}/_control/acs", json=fields, timeout=20)
        assert response.status_code == 200, response.text
        return response.json()

    def tool_state(self) -> dict[str, Any]:
        return requests.get(f"{self.tool_url}/_control/state", timeout=10).json()

    def poll(self, attempt_id: int) -> dict[str, Any]:
        response = self.browser.get(
            f"{self.url}/api/edx_proctoring/v1/proctored_exam/attempt/{attempt_id}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def serve_live(tool_url: str, database_url: str) -> Iterator[Live]:
    """proctor_web on a free port with the fake tool registered as its ``lti`` backend."""
    requests.post(f"{tool_url}/_control/reset", timeout=10)
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "lti-e2e-secret-key-0123456789",
        # Delivery in this process after each response: a background thread would outlive
        # the test and touch the next test's database session.
        "BACKGROUND_MODE": "sync",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "BACKENDS": {
            "DEFAULT": "lti",
            "lti": {
                "verbose_name": "Fake LTI Proctoring",
                "client_id": CLIENT_ID, "deployment_id": DEPLOYMENT_ID,
                "tool_login_url": f"{tool_url}/login", "tool_launch_url": f"{tool_url}/launch",
                "tool_key_set_url": f"{tool_url}/jwks.json", "share_name": True,
                "proctoring_settings": {"camera": "required"},
            },
            "null": {},
        },
        "PROPAGATE_UNEXPECTED": False,
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["SITE_URL"] = url
    requests.post(f"{tool_url}/_control/configure", json={"platform_url": url}, timeout=10)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        with app.app_context():
            db.create_all()
            now = utcnow()
            courses.ensure_course(COURSE, now, "LTI Proctoring Course")
            learner = courses.create_user("lena", "lena-password-1", now,
                                          email="lena@example.org", full_name="Lena Learner")
            courses.enroll(learner, COURSE, now)
            exams.create_exam(COURSE, "midterm", {
                "exam_name": "Midterm", "time_limit_mins": 30, "is_proctored": True,
                "backend": "lti"}, None, now)
            db.session.commit()
            db.session.remove()
        browser = requests.Session()
        signed_in = browser.post(f"{url}/login", data={"username": "lena",
                                                       "password": "lena-password-1"},
                                 allow_redirects=False, timeout=10)
        assert signed_in.status_code == 302, signed_in.text
        yield Live(app, url, tool_url, f"/courses/{COURSE}/exams/midterm", browser)
    finally:
        server.shutdown()
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def live(tool_url: str, db_backend: str, tmp_path: Path,
         postgres_available: bool) -> Iterator[Live]:
    with scratch_database(db_backend, tmp_path, "lti_e2e", postgres_available) as url:
        if url.startswith("sqlite"):
            with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
        with serve_live(tool_url, url) as live:
            yield live


def launch_and_start_assessment(live: Live) -> dict[str, Any]:
    """Enter the exam, open the system check, go through the tool, come back ready."""
    live.act("enter")
    live.act("click_download_software")
    attempt = live.attempt()
    page = live.browser.get(live.url + live.exam_path, timeout=10).text
    match = re.search(r'href="(/lti/platform/launch/[^"]+)"', page)
    assert match, "the system check page links to the LTI launch"
    # Our launch -> the tool's OIDC login -> our auth endpoint -> the auto-post page.
    autopost = live.browser.get(live.url + match.group(1), timeout=10)
    assert autopost.status_code == 200, autopost.text
    assert "lti-autopost.js" in autopost.text and "<script>" not in autopost.text
    form = the_form(autopost.text, "lti-autopost")
    assert form["action"] == f"{live.tool_url}/launch" and form["method"] == "post"
    system_check = live.browser.post(form["action"], data=form["fields"], timeout=10)
    assert system_check.status_code == 200, system_check.text
    start = the_form(system_check.text, "start-assessment")
    assert start["action"] == f"{live.url}/lti/platform/start_assessment"
    back = live.browser.post(start["action"], data=start["fields"], allow_redirects=False,
                             timeout=10)
    assert back.status_code == 303, back.text
    assert back.headers["Location"].endswith(live.exam_path.replace(":", "%3A").replace(
        "+", "%2B")) or back.headers["Location"].endswith("/exams/midterm")
    assert live.attempt()["status"] == "ready_to_start"
    return {**attempt, "start_form": start}


def test_start_proctoring_to_end_assessment(live: Live) -> None:
    attempt = launch_and_start_assessment(live)
    launch = live.tool_state()["launches"][0]
    assert launch[LTI + "message_type"] == "LtiStartProctoring"
    assert launch[LTI + "resource_link"]["id"] == "midterm"
    assert launch[AP + "attempt_number"] == 1
    assert launch[AP + "acs"]["actions"] == ["pause", "resume", "terminate", "update", "flag"]
    assert launch[AP + "acs"]["assessment_control_url"] == f"{live.url}/lti/platform/acs"
    assert launch[AP + "proctoring_settings"] == {"data": '{"camera": "required"}'}
    assert launch["name"] == "Lena Learner" and "email" not in launch

    # The same LtiStartAssessment again is a replay: refused, nothing changes.
    replay = live.browser.post(attempt["start_form"]["action"],
                               data=attempt["start_form"]["fields"], timeout=10)
    assert replay.status_code == 400 and "already used" in replay.text

    session = live.read(lambda: db.session.execute(select(LtiProctoringSession)).scalar_one())
    assert session.end_assessment_return is True
    assert "Verified" in (session.verified_user or "")
    history = live.read(lambda: [
        (h.action, h.actor_kind, h.to_status) for h in db.session.execute(
            select(AttemptHistory).where(AttemptHistory.attempt_id == attempt["id"])
            .order_by(AttemptHistory.id)).scalars()])
    assert ("ready", "provider", "ready_to_start") in history

    live.act("start")
    before = live.poll(attempt["id"])
    assert before["attempt_status"] == "started" and before["timer_paused"] is False
    ends_before = datetime.fromisoformat(before["timer_ends"].replace("Z", "+00:00"))

    paused = live.control(action="pause", reason_code="face_missing")
    assert paused["status_code"] == 200 and paused["body"] == {"status": "paused"}
    assert paused["content_type"].startswith("application/vnd.ims.lti-ap.v1.control+json")
    first = live.poll(attempt["id"])
    time.sleep(1.5)
    second = live.poll(attempt["id"])
    assert first["timer_paused"] is True
    assert second["time_remaining_seconds"] == first["time_remaining_seconds"]
    assert live.control(action="pause")["body"] == {"status": "paused"}  # repeated: no-op

    resumed = live.control(action="resume")
    assert resumed["body"] == {"status": "running"}
    after = live.poll(attempt["id"])
    ends_after = datetime.fromisoformat(after["timer_ends"].replace("Z", "+00:00"))
    assert after["timer_paused"] is False
    assert (ends_after - ends_before).total_seconds() >= 1.5

    flagged = live.control(action="flag", incident_severity=0.7, reason_code="second_person",
                           reason_msg="Someone else is in the room")
    assert flagged["body"] == {"status": "running"}
    extended = live.control(action="update", extra_time=2)  # minutes
    assert extended["body"] == {"status": "running", "extra_time": 2}
    later = live.poll(attempt["id"])
    assert (datetime.fromisoformat(later["timer_ends"].replace("Z", "+00:00"))
            - ends_after).total_seconds() >= 120

    incidents = live.read(lambda: [(i.action, i.severity, i.reason_code) for i in
                                   db.session.execute(select(AttemptIncident)
                                                      .order_by(AttemptIncident.id)).scalars()])
    assert ("flag", 0.7, "second_person") in incidents
    assert [i[0] for i in incidents] == ["pause", "pause", "resume", "flag", "update"]

    live.act("submit")
    assert live.attempt()["status"] == "submitted"
    page = live.browser.get(live.url + live.exam_path, timeout=10).text
    match = re.search(r'href="(/lti/platform/end/[^"]+)"', page)
    assert match, "the submitted page sends the browser on to LtiEndAssessment"
    autopost = live.browser.get(live.url + match.group(1), timeout=10)
    form = the_form(autopost.text, "lti-autopost")
    closed = live.browser.post(form["action"], data=form["fields"], timeout=10)
    assert closed.status_code == 200 and "ended" in closed.text
    ends = live.tool_state()["ends"]
    assert len(ends) == 1 and ends[0][LTI + "message_type"] == "LtiEndAssessment"
    assert ends[0][AP + "session_data"] == launch[AP + "session_data"]
    assert AP + "errormsg" not in ends[0]
    assert live.tool_state()["refusals"] == []  # the tool accepted every id_token we sent
    # Sent once: the page no longer asks for it.
    assert "/lti/platform/end/" not in live.browser.get(live.url + live.exam_path,
                                                        timeout=10).text


def test_terminate_submits_and_error_terminate_reports_the_error(live: Live) -> None:
    attempt = launch_and_start_assessment(live)
    live.act("start")
    answer = live.control(action="terminate", reason_code="error", reason_msg="Camera lost")
    assert answer["status_code"] == 200 and answer["body"] == {"status": "terminated"}
    assert live.attempt()["status"] == "error"
    page = live.browser.get(live.url + live.exam_path, timeout=10).text
    match = re.search(r'href="(/lti/platform/end/[^"]+)"', page)
    assert match
    form = the_form(live.browser.get(live.url + match.group(1), timeout=10).text,
                    "lti-autopost")
    live.browser.post(form["action"], data=form["fields"], timeout=10)
    end = live.tool_state()["ends"][0]
    assert end[AP + "errormsg"] and "Camera lost" in end[AP + "errorlog"]
    # A control about an attempt that does not exist is a 404.
    missing = live.control(action="flag", attempt_number=7)
    assert missing["status_code"] == 404 and "detail" in missing["body"]
    assert attempt["id"] == live.attempt()["id"]


def test_terminate_of_running_exam_submits_it(live: Live) -> None:
    launch_and_start_assessment(live)
    live.act("start")
    answer = live.control(action="terminate", reason_code="session_complete")
    assert answer["body"] == {"status": "terminated"}
    assert live.attempt()["status"] == "submitted"
