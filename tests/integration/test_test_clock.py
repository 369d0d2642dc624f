"""The opt-in test clock, against a real server started in a subprocess.

An operator shifts the running server's clock past an attempt's end by writing
``{"offset_seconds": N}`` to the clock file, and sees the attempt expire without waiting.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from proctor_web import create_app
from proctor_web.config import ConfigError, build_config
from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import courses, exams
from tests.conftest import app_config, make_sign_in

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-clock-secret-key-0123456789"
COURSE = "course-v1:Clock+C1+2026"
V1 = "/api/edx_proctoring/v1/proctored_exam"
# The server exits by itself if the test cannot stop it.
SERVER = """
import os, sys, threading
from werkzeug.serving import make_server
from proctor_web import create_app
threading.Timer(120, os._exit, [3]).start()
server = make_server("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True)
print("listening", flush=True)
server.serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _set_offset(path: Path, seconds: float) -> None:
    path.write_text(json.dumps({"offset_seconds": seconds}), encoding="utf-8")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[dict[str, Any]]:
    database = f"sqlite:///{tmp_path / 'clock.sqlite3'}"
    clock_file = tmp_path / "clock.json"
    _set_offset(clock_file, 0)
    app = create_app(app_config(database, SECRET_KEY=SECRET))
    with app.app_context():
        db.create_all()
        now = utcnow()
        courses.ensure_course(COURSE, now)
        learner = courses.create_user("clocky", None, now)
        courses.enroll(learner, COURSE, now)
        exam = exams.create_exam(COURSE, "timed", {"exam_name": "Ten minutes",
                                                   "time_limit_mins": 10}, None, now)
        db.session.commit()
        client = app.test_client()
        make_sign_in(app, client)(learner)
        cookie = client.get_cookie("session").value
        user_agent = client.environ_base["HTTP_USER_AGENT"]
        exam_id = exam.id
        db.engine.dispose()

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PROCTOR_DATABASE_URL": database,
           "PROCTOR_SECRET_KEY": SECRET, "PROCTOR_SESSION_COOKIE_SECURE": "0",
           "PROCTOR_TEST_CLOCK_FILE": str(clock_file), "PROCTOR_ALLOW_TEST_CLOCK": "1"}
    with subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=lambda: lines.put(process.stdout.readline()),
                             daemon=True).start()
            assert lines.get(timeout=30).strip() == "listening"
            browser = requests.Session()  # the learner's browser, signed in
            browser.headers["User-Agent"] = user_agent
            browser.cookies.set("session", cookie, domain="127.0.0.1", path="/")
            token = browser.get(f"http://127.0.0.1:{port}/csrf/api/v1/token", timeout=10)
            browser.headers["X-CSRFToken"] = token.json()["csrfToken"]
            yield {"url": f"http://127.0.0.1:{port}", "browser": browser, "exam_id": exam_id,
                   "clock_file": clock_file, "process": process}
        finally:
            process.terminate()
            process.wait(timeout=10)


def _server_time(payload: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(payload["server_time"].replace("Z", "+00:00"))


def test_shifting_the_clock_expires_a_running_attempt(live):
    base, browser = live["url"], live["browser"]
    created = browser.post(f"{base}{V1}/attempt", timeout=10, json={
        "exam_id": live["exam_id"], "start_clock": True})
    assert created.status_code == 200, created.text
    attempt_url = f"{base}{V1}/attempt/{created.json()['exam_attempt_id']}"

    running = browser.get(attempt_url, timeout=10).json()
    assert running["attempt_status"] == "started"
    assert 590 <= running["time_remaining_seconds"] <= 600
    assert abs(_server_time(running) - utcnow()) < timedelta(seconds=30)

    _set_offset(live["clock_file"], 11 * 60)  # past the ten minutes
    expired = browser.get(attempt_url, timeout=10).json()
    assert expired["attempt_status"] == "submitted"
    assert expired["time_remaining_seconds"] == 0
    shifted = _server_time(expired) - utcnow()
    assert timedelta(minutes=10) < shifted < timedelta(minutes=12)

    live["process"].terminate()
    _, errors = live["process"].communicate(timeout=10)
    assert "TEST CLOCK ON" in errors  # the server said, at start, that its clock is not real


def test_a_clock_file_without_the_flag_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="PROCTOR_ALLOW_TEST_CLOCK"):
        build_config(str(tmp_path), {"TESTING": True,
                                     "TEST_CLOCK_FILE": str(tmp_path / "clock.json")},
                     environ={})


def test_the_clock_is_real_unless_both_keys_are_set(tmp_path):
    clock_file = tmp_path / "clock.json"
    _set_offset(clock_file, 3600)
    database = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    plain = create_app(app_config(database, ALLOW_TEST_CLOCK=True))
    shifted = create_app(app_config(database, ALLOW_TEST_CLOCK=True,
                                    TEST_CLOCK_FILE=str(clock_file)))
    with plain.app_context():
        assert abs(utcnow() - datetime.now(tz=utcnow().tzinfo)) < timedelta(seconds=5)
    with shifted.app_context():
        assert abs(utcnow() - datetime.now(tz=utcnow().tzinfo) - timedelta(hours=1)) < \
            timedelta(seconds=5)
        clock_file.write_text("{not json", encoding="utf-8")  # a broken file: no shift
        assert abs(utcnow() - datetime.now(tz=utcnow().tzinfo)) < timedelta(seconds=5)
        clock_file.unlink()  # no file: no shift
        assert abs(utcnow() - datetime.now(tz=utcnow().tzinfo)) < timedelta(seconds=5)
