"""Benchmark: the learner's hot requests next to a bare Flask route.

    .venv/bin/python bench/poll.py [--seconds 10] [--connections 16] [--writers 16]

Seeds a fresh file SQLite database (demo data, 200 extra learners with attempts), starts a
timed attempt for the demo learner, signs in, then serves the app with gunicorn (2 workers) on
127.0.0.1 and loads, with wrk, the poll (GET attempt by id) and the timer payload (GET
attempt). A bare Flask app returning a small JSON body is served and loaded the same way.
Then the status write (PUT attempt by id, stop and start in turn), which wrk cannot chain:
``--writers`` learners, each on its own attempt, one Python thread each (``run_clients``),
next to the bare route loaded by the same threads. Prints requests/s, p50 and p99 of each
and the ratios. Stops every server it started; takes about 5 x (seconds + 3) seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    HttpClient,
    api_headers,
    cookie_header,
    gunicorn_server,
    machine,
    print_results,
    run_clients,
    run_wrk,
    sign_in,
)

BACKENDS = {"DEFAULT": "mock", "null": {}, "mock": {"ready_after_seconds": 1}}
WRITER_PASSWORD = "bench-writer-pass-0123"
API = "/api/edx_proctoring/v1/proctored_exam"


def bare_app():
    """The baseline: Flask with one JSON route and nothing else."""
    from flask import Flask

    app = Flask("bare")

    @app.route("/ping")
    def ping():
        return {"status": "ok", "server_time": "2026-01-01T00:00:00Z"}

    return app


def seed(database_url: str, extra_learners: int, writers: int = 0) -> tuple[int, list[int]]:
    """Schema, demo data, many attempts; returns alice's running attempt id and those of the
    first ``writers`` extra learners (``bench0``...), who get a password to sign in with."""
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
        writer_attempts = []
        for index in range(extra_learners):
            user = courses.create_user(f"bench{index}",
                                       WRITER_PASSWORD if index < writers else None, now)
            courses.enroll(user, DEMO_COURSE_ID, now)
            running = attempts.create_attempt(long_exam, user, Actor.learner(user),
                                              now - timedelta(minutes=index % 50),
                                              start_clock=True)
            if index < writers:
                writer_attempts.append(running)
        alice = courses.get_user("alice")
        attempt = attempts.create_attempt(long_exam, alice, Actor.learner(alice), now,
                                          start_clock=True)
        db.session.commit()
        return attempt.id, [running.id for running in writer_attempts]


#: Flask-Login's strong session protection ties the session to the client's address and
#: User-Agent, so wrk sends the User-Agent the demo learner signed in with.
USER_AGENT = "proctor-web-bench"


class Writer:
    """A signed-in learner who stops and starts their own running attempt, in turn."""

    def __init__(self, base_url: str, number: int, attempt_id: int) -> None:
        agent = f"bench-writer-{number}"
        browser = sign_in(base_url, f"bench{number}", WRITER_PASSWORD, agent)
        self.client = HttpClient(base_url, api_headers(browser))
        self.path = f"{API}/attempt/{attempt_id}"
        self.next_action = "stop"

    def write(self) -> int:
        body = json.dumps({"action": self.next_action}).encode()
        status = self.client.request("PUT", self.path, body=body)[0]
        if status == 200:
            self.next_action = "start" if self.next_action == "stop" else "stop"
        return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--max-requests", type=int, default=0,
                        help="recycle each worker after this many requests, as gunicorn.conf.py "
                             "does (0: never, the default here)")
    args = parser.parse_args()
    args.writers = min(args.writers, args.learners)
    print(f"machine: {machine()}")

    with tempfile.TemporaryDirectory(prefix="proctor-bench-") as tmp:
        database_url = "sqlite:///" + str(Path(tmp) / "bench.sqlite3")
        attempt_id, writer_ids = seed(database_url, args.learners, args.writers)
        env = {
            "PROCTOR_SECRET_KEY": "bench",
            "PROCTOR_DATABASE_URL": database_url,
            "PROCTOR_BACKENDS": json.dumps(BACKENDS),
            "PROCTOR_SESSION_COOKIE_SECURE": "false",
            "PROCTOR_LOG_LEVEL": "WARNING",
        }
        recycle = (("--max-requests", str(args.max_requests), "--max-requests-jitter",
                    str(args.max_requests // 10)) if args.max_requests else ())
        with gunicorn_server("proctor_web:create_app()", env=env, ready_path="/healthz",
                             extra_args=recycle) as base_url:
            cookie = cookie_header(sign_in(base_url, "alice", "alice-demo-pass", USER_AGENT))
            poll_url = f"{base_url}/api/edx_proctoring/v1/proctored_exam/attempt/{attempt_id}"
            headers = {"Cookie": cookie, "Accept": "application/json",
                       "User-Agent": USER_AGENT}
            run_wrk(poll_url, seconds=2, connections=4, headers=headers)  # warm-up
            poll = run_wrk(poll_url, seconds=args.seconds, connections=args.connections,
                           headers=headers, label="poll GET attempt/<id>")
            timer = run_wrk(f"{base_url}{API}/attempt", seconds=args.seconds,
                            connections=args.connections, headers=headers,
                            label="timer payload GET attempt")
            writers = [Writer(base_url, number, writer_id)
                       for number, writer_id in enumerate(writer_ids)]
            run_clients([writer.write for writer in writers], 2, "warm-up")
            write = run_clients([writer.write for writer in writers], args.seconds,
                                "status write PUT stop/start")
        with gunicorn_server("bench.poll:bare_app()", ready_path="/ping") as base_url:
            run_wrk(base_url + "/ping", seconds=2, connections=4)  # warm-up
            bare = run_wrk(base_url + "/ping", seconds=args.seconds,
                           connections=args.connections, label="bare Flask route")
            pingers = [HttpClient(base_url) for _ in writer_ids]
            bare_threads = run_clients(
                [lambda client=client: client.request("GET", "/ping")[0] for client in pingers],
                args.seconds, "bare Flask route")
    print(f"machine after: {machine()}")
    print(f"gunicorn 2 workers, SQLite, {args.learners + 1} running attempts, workers "
          + (f"recycled every {args.max_requests} requests (jitter {args.max_requests // 10})"
             if args.max_requests else "never recycled"))
    print(f"\nwrk {args.connections} connections x {args.seconds} s")
    print_results([bare, poll, timer], baseline=bare)
    print(f"\n{len(writer_ids)} Python threads (one learner each) x {args.seconds} s")
    print_results([bare_threads, write], baseline=bare_threads)
    for result in (poll, timer, write):
        if result.non_2xx or result.errors:
            print(f"warning: {result.non_2xx} non-2xx responses and {result.errors} socket "
                  f"errors on {result.label}")


if __name__ == "__main__":
    main()
