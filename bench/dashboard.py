"""Instructor dashboard under load: 100,000 attempts against 100, next to the learner poll.

    .venv/bin/python bench/dashboard.py [--attempts 100000] [--duration 8] [--connections 8]

Builds a throw-away PostgreSQL database (127.0.0.1:5432, user postgres; override with
PROCTOR_BENCH_PG_URL), fills one course with ``--attempts`` attempts and another with 100,
serves the app with gunicorn on 127.0.0.1, signs in through the login form and loads each
URL with wrk in turn, in the same run:

- the attempts page (first page, newest first) in the large and the small course;
- the grouped-attempts endpoint in both courses;
- the learner poll endpoint (GET /api/edx_proctoring/v1/proctored_exam/attempt/<id>).

It prints requests per second, latencies and the large/small ratios, not pass or fail.
Serving and loading use bench/_harness.py (gunicorn_server, run_wrk, print_results).
Everything it starts (gunicorn, the database) is stopped or dropped when it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._harness import gunicorn_server, print_results, run_wrk  # noqa: E402
from proctor_web.config import DEFAULTS  # noqa: E402
from proctor_web.testing.loopback import scratch_postgres  # noqa: E402

PG_ADMIN = os.environ.get("PROCTOR_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BIG = "course-v1:BenchX+BIG+2026"
SMALL = "course-v1:BenchX+SMALL+2026"
PASSWORD = "bench-password"
USER_AGENT = "proctor-bench/1"  # the same for sign-in and wrk: sessions are bound to it
STATUSES = ("created", "started", "submitted", "verified", "error", "rejected",
            "second_review_required")


def app_config(url: str) -> dict[str, object]:
    return {
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "DATABASE_URL": url,
        "BACKENDS": {"DEFAULT": "mock", "mock": {}, "null": {}},
        "SESSION_COOKIE_SECURE": False,
        "LOG_LEVEL": "WARNING",
    }


def populate(url: str, attempts: int) -> dict[str, int]:
    """Both courses, their staff, exams, learners and attempts; returns ids the run needs."""
    from sqlalchemy import insert, select

    from proctor_web import create_app
    from proctor_web.extensions import db
    from proctor_web.models import Attempt, CourseMembership, User
    from proctor_web.services import courses, exams

    app = create_app(app_config(url))
    now = datetime.now(UTC)
    with app.app_context():
        db.create_all()
        staff = courses.create_user("benchstaff", PASSWORD, now, email="staff@bench.example")
        poller = courses.create_user("poller", PASSWORD, now, email="poller@bench.example")
        ids: dict[str, int] = {}
        for course_id, count in ((BIG, attempts), (SMALL, 100)):
            courses.enroll(staff, course_id, now, role="staff")
            exam_list = [
                exams.create_exam(course_id, f"exam-{kind}", {
                    "exam_name": f"{kind.title()} exam", "time_limit_mins": 60,
                    "is_proctored": kind != "timed", "backend": "mock"}, None, now)
                for kind in ("timed", "proctored", "final")
            ]
            learners = -(-count // len(exam_list))
            prefix = "big" if course_id == BIG else "small"
            for start in range(0, learners, 10_000):
                db.session.execute(insert(User), [
                    {"username": f"{prefix}{i}", "email": f"{prefix}{i}@bench.example",
                     "full_name": f"Learner {i}", "is_staff": False, "is_active_account": True,
                     "created": now, "modified": now}
                    for i in range(start, min(start + 10_000, learners))
                ])
            user_ids = db.session.execute(
                select(User.id).where(User.username.like(f"{prefix}%")).order_by(User.id)
            ).scalars().all()
            db.session.execute(insert(CourseMembership), [
                {"user_id": uid, "course_id": course_id, "role": "learner",
                 "enrollment_mode": "verified", "is_active": True, "created": now,
                 "modified": now} for uid in user_ids
            ])
            rows = []
            for n in range(count):
                exam = exam_list[n % len(exam_list)]
                rows.append({
                    "user_id": user_ids[n // len(exam_list)], "exam_id": exam.id,
                    "attempt_code": f"{prefix}-{n}", "status": STATUSES[n % len(STATUSES)],
                    "taking_as_proctored": exam.is_proctored, "is_sample_attempt": False,
                    "created": now, "modified": now, "started_at": now,
                    "allowed_time_limit_mins": 60, "is_resumable": False,
                    "ready_to_resume": False, "resumed": False,
                    "is_status_acknowledged": False,
                })
                if len(rows) == 10_000:
                    db.session.execute(insert(Attempt), rows)
                    rows = []
            if rows:
                db.session.execute(insert(Attempt), rows)
            ids[f"{prefix}_exam"] = exam_list[0].id
        # The learner whose attempt the poll endpoint reads: a timed exam in progress.
        courses.enroll(poller, BIG, now)
        from proctor_web.services import attempts
        from proctor_web.services.attempts import Actor, create_attempt

        extra = exams.create_exam(BIG, "exam-poll", {"exam_name": "Poll exam",
                                                     "time_limit_mins": 600}, None, now)
        attempt = create_attempt(extra, poller, Actor.learner(poller), now, start_clock=True)
        ids["poll_attempt"] = attempt.id
        # The attempts went in behind the services' back: bring the learner counts up to date.
        attempts.recount_learners()
        db.session.commit()
        db.engine.dispose()
    # As autovacuum would have done on a settled table: statistics and the visibility map
    # (index-only scans for the counts).
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return ids


def server_env(url: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for key, value in app_config(url).items():
        if key not in DEFAULTS:  # Flask-only test keys have no PROCTOR_* variable
            continue
        if isinstance(value, dict):
            env[f"PROCTOR_{key}"] = json.dumps(value)
        elif isinstance(value, bool):
            env[f"PROCTOR_{key}"] = "true" if value else "false"
        else:
            env[f"PROCTOR_{key}"] = str(value)
    return env


def sign_in(base: str, username: str) -> str:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    form = session.get(base + "/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = session.post(base + "/login", data={
        "username": username, "password": PASSWORD, "csrf_token": token}, allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def check(url: str, cookie: str) -> int:
    response = requests.get(url, headers={"Cookie": cookie, "User-Agent": USER_AGENT},
                            allow_redirects=False, timeout=30)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=8, help="seconds of wrk per URL")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 2)))
    args = parser.parse_args()

    with scratch_postgres("proctor_bench_dash", PG_ADMIN) as url:
        started = time.monotonic()
        ids = populate(url, args.attempts)
        print(f"populated {args.attempts:,} + 100 attempts in {time.monotonic() - started:.1f}s")
        with gunicorn_server("wsgi:app", env=server_env(url), workers=args.workers,
                             ready_path="/healthz") as base:
            staff = sign_in(base, "benchstaff")
            learner = sign_in(base, "poller")
            api = base + "/api/edx_proctoring/v1/proctored_exam"
            big, small = f"attempts page, {args.attempts:,}", "attempts page, 100"
            big_api, small_api = f"grouped attempts, {args.attempts:,}", "grouped attempts, 100"
            targets = [
                (big, f"{base}/courses/{BIG}/instructor/attempts", staff),
                (small, f"{base}/courses/{SMALL}/instructor/attempts", staff),
                (big_api, f"{api}/attempt/grouped/course_id/{BIG}", staff),
                (small_api, f"{api}/attempt/grouped/course_id/{SMALL}", staff),
                ("learner poll", f"{api}/attempt/{ids['poll_attempt']}", learner),
            ]
            print(f"gunicorn {args.workers} sync workers; wrk -t2 -c{args.connections} "
                  f"-d{args.duration}s per URL")
            results = {}
            for name, target, cookie in targets:
                check(target, cookie)
                results[name] = run_wrk(target, args.duration, args.connections,
                                        headers={"Cookie": cookie, "User-Agent": USER_AGENT},
                                        label=name)
            poll = results["learner poll"]
            print_results(list(results.values()), baseline=poll)
            for label, large, little in (("attempts page", big, small),
                                         ("grouped attempts", big_api, small_api)):
                print(f"{label}: {args.attempts:,} vs 100 attempts, p50 ratio "
                      f"{results[large].p50_ms / results[little].p50_ms:.2f}")
            print(f"attempts page ({args.attempts:,}) vs learner poll, p50 ratio "
                  f"{results[big].p50_ms / poll.p50_ms:.2f}")

if __name__ == "__main__":
    main()
