"""Benchmark: the timer poll (GET attempt by id) next to a bare Flask route.

    .venv/bin/python bench/poll.py [--seconds 10] [--connections 16]

Seeds a fresh file SQLite database (demo data, 200 extra learners with attempts), starts a
timed attempt for the demo learner, signs in, then serves the app with gunicorn (2 workers) on
127.0.0.1 and loads the poll endpoint with wrk. A bare Flask app returning a small JSON body
is served and loaded the same way. Prints requests/s, p50 and p99 of each and their ratio.
Stops every server it started; takes about 2 x (seconds + 5) seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import gunicorn_server, print_results, run_wrk  # noqa: E402

BACKENDS = {"DEFAULT": "mock", "null": {}, "mock": {"ready_after_seconds": 1}}


def bare_app():
    """The baseline: Flask with one JSON route and nothing else."""
    from flask import Flask

    app = Flask("bare")

    @app.route("/ping")
    def ping():
        return {"status": "ok", "server_time": "2026-01-01T00:00:00Z"}

    return app


def seed(database_url: str, extra_learners: int) -> tuple[int, str]:
    """Schema, demo data, many attempts; returns alice's running attempt id and course id."""
    from proctor_web import create_app
    from proctor_web.cli import DEMO_COURSE_ID
    from proctor_web.extensions import db
    from proctor_web.models import utcnow
    from proctor_web.services import attempts, courses, exams
    from proctor_web.services.attempts import Actor

    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": database_url,
                      "BACKENDS": BACKENDS, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["proctor", "demo"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    with app.app_context():
        now = utcnow()
        long_exam = exams.create_exam(DEMO_COURSE_ID, "bench-long", {
            "exam_name": "Bench exam", "time_limit_mins": 600}, None, now)
        for index in range(extra_learners):
            user = courses.create_user(f"bench{index}", None, now)
            courses.enroll(user, DEMO_COURSE_ID, now)
            attempts.create_attempt(long_exam, user, Actor.learner(user),
                                    now - timedelta(minutes=index % 50), start_clock=True)
        alice = courses.get_user("alice")
        attempt = attempts.create_attempt(long_exam, alice, Actor.learner(alice), now,
                                          start_clock=True)
        db.session.commit()
        return attempt.id, DEMO_COURSE_ID


USER_AGENT = "proctor-web-bench"


def session_cookie(base_url: str) -> str:
    """Sign in as the demo learner. Flask-Login's strong session protection ties the session
    to the client's address and User-Agent, so wrk must send the same User-Agent."""
    import requests

    with requests.Session() as http:
        http.headers["User-Agent"] = USER_AGENT
        page = http.get(base_url + "/login", timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = http.post(base_url + "/login", data={
            "csrf_token": token, "username": "alice", "password": "alice-demo-pass"},
            timeout=10, allow_redirects=False)
        if response.status_code != 302:
            raise SystemExit(f"sign-in failed: {response.status_code}")
        return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--learners", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="proctor-bench-") as tmp:
        database_url = "sqlite:///" + str(Path(tmp) / "bench.sqlite3")
        attempt_id, _course = seed(database_url, args.learners)
        env = {
            "PROCTOR_SECRET_KEY": "bench",
            "PROCTOR_DATABASE_URL": database_url,
            "PROCTOR_BACKENDS": json.dumps(BACKENDS),
            "PROCTOR_SESSION_COOKIE_SECURE": "false",
            "PROCTOR_LOG_LEVEL": "WARNING",
        }
        with gunicorn_server("proctor_web:create_app()", env=env,
                             ready_path="/healthz") as base_url:
            cookie = session_cookie(base_url)
            poll_url = f"{base_url}/api/edx_proctoring/v1/proctored_exam/attempt/{attempt_id}"
            headers = {"Cookie": cookie, "Accept": "application/json",
                       "User-Agent": USER_AGENT}
            run_wrk(poll_url, seconds=2, connections=4, headers=headers)  # warm-up
            poll = run_wrk(poll_url, seconds=args.seconds, connections=args.connections,
                           headers=headers, label="poll GET attempt/<id>")
        with gunicorn_server("bench.poll:bare_app()", ready_path="/ping") as base_url:
            run_wrk(base_url + "/ping", seconds=2, connections=4)  # warm-up
            bare = run_wrk(base_url + "/ping", seconds=args.seconds,
                           connections=args.connections, label="bare Flask route")
    print(f"gunicorn 2 workers, wrk {args.connections} connections x {args.seconds} s, "
          f"SQLite, {args.learners + 1} running attempts")
    print_results([bare, poll], baseline=bare)
    if poll.non_2xx or poll.errors:
        print(f"warning: {poll.non_2xx} non-2xx responses and {poll.errors} socket errors "
              "on the poll endpoint")


if __name__ == "__main__":
    main()
