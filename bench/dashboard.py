"""Instructor dashboard under load: courses of 100, 10,000 and 100,000 attempts in one table,
on PostgreSQL and on SQLite, next to the learner poll.

    .venv/bin/python bench/dashboard.py [--sizes 100,10000,100000] [--databases postgresql,sqlite]
                                        [--duration 8] [--connections 8] [--workers N]
                                        [--in-process-requests 40]

For each database it builds a throw-away one (PostgreSQL: 127.0.0.1:5432, user postgres,
override with PROCTOR_BENCH_PG_URL; SQLite: a file in a temporary directory), fills one
course per size, in the order given, so the last course's attempts are the newest in the
table (the courses before it are "not the newest": a list that walks the table by id pays
for every newer row). It first requests each URL through the Flask test client, one at a
time (the cost of a request without HTTP or queueing, and its CPU time: less sensitive to
what else the machine runs), then serves the app with gunicorn on 127.0.0.1, signs in
through the login form and loads each URL with wrk in turn, in the same run:

- the attempts page (first page, newest first) of every course;
- the grouped-attempts endpoint of every course;
- the learner poll endpoint (GET /api/edx_proctoring/v1/proctored_exam/attempt/<id>).

It prints requests per second, latencies and the ratios against the smallest course, not
pass or fail. Serving and loading use bench/_harness.py (gunicorn_server, run_wrk,
print_results). Everything it starts (gunicorn, the databases) is stopped or dropped when
it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
PASSWORD = "bench-password"
USER_AGENT = "proctor-bench/1"  # the same for sign-in and wrk: sessions are bound to it
STATUSES = ("created", "started", "submitted", "verified", "error", "rejected",
            "second_review_required")


def course_id_for(size: int) -> str:
    return f"course-v1:BenchX+N{size}+2026"


@contextmanager
def postgresql_database() -> Iterator[str]:
    with scratch_postgres("proctor_bench_dash", PG_ADMIN) as url:
        yield url


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="proctor-bench-dash-") as tmp:
        yield "sqlite:///" + str(Path(tmp) / "bench.sqlite3")


DATABASES = {"postgresql": postgresql_database, "sqlite": sqlite_database}


def app_config(url: str) -> dict[str, object]:
    return {
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "DATABASE_URL": url,
        "BACKENDS": {"DEFAULT": "mock", "mock": {}, "null": {}},
        "SESSION_COOKIE_SECURE": False,
        "LOG_LEVEL": "WARNING",
    }


def populate(url: str, sizes: Sequence[int]) -> dict[str, int]:
    """One course per size (in that order: the last one's attempts are the newest), their
    staff, exams, learners and attempts; returns the ids the run needs."""
    from sqlalchemy import insert, select

    from proctor_web import create_app
    from proctor_web.extensions import db
    from proctor_web.models import Attempt, CourseMembership, User
    from proctor_web.services import attempts, courses, exams
    from proctor_web.services.attempts import Actor, create_attempt

    app = create_app(app_config(url))
    now = datetime.now(UTC)
    with app.app_context():
        db.create_all()
        staff = courses.create_user("benchstaff", PASSWORD, now, email="staff@bench.example")
        poller = courses.create_user("poller", PASSWORD, now, email="poller@bench.example")
        ids: dict[str, int] = {}
        for size in sizes:
            course_id = course_id_for(size)
            courses.enroll(staff, course_id, now, role="staff")
            exam_list = [
                exams.create_exam(course_id, f"exam-{kind}", {
                    "exam_name": f"{kind.title()} exam", "time_limit_mins": 60,
                    "is_proctored": kind != "timed", "backend": "mock"}, None, now)
                for kind in ("timed", "proctored", "final")
            ]
            learners = -(-size // len(exam_list))
            prefix = f"n{size}x"
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
            for n in range(size):
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
            db.session.commit()
        # The learner whose attempt the poll endpoint reads: a timed exam in progress.
        last = course_id_for(sizes[-1])
        courses.enroll(poller, last, now)
        extra = exams.create_exam(last, "exam-poll", {"exam_name": "Poll exam",
                                                      "time_limit_mins": 600}, None, now)
        attempt = create_attempt(extra, poller, Actor.learner(poller), now, start_clock=True)
        ids["poll_attempt"] = attempt.id
        # The attempts went in behind the services' back: bring the learner counts up to date.
        attempts.recount_learners()
        db.session.commit()
        db.engine.dispose()
    if url.startswith("postgresql"):
        # As autovacuum would have done on a settled table: statistics and the visibility
        # map (index-only scans for the counts). SQLite is left without ANALYZE, as a
        # deployment that never runs it.
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
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


def in_process(url: str, paths: list[tuple[str, str, str]], requests_per_path: int) -> None:
    """Each path through the Flask test client in this process, one request at a time: the
    time a request costs with no HTTP and no queueing behind other requests, and the CPU
    time of this process (the Python side; PostgreSQL's own work runs elsewhere). Less
    sensitive than wrk to what else the machine runs."""
    from flask import g

    from proctor_web import create_app

    app = create_app({**app_config(url), "WTF_CSRF_ENABLED": False})
    clients = {}
    for username in {who for _, _, who in paths}:
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        clients[username] = client
    print(f"{'in-process, one at a time':<34} {'p50 ms':>9} {'min ms':>9} {'CPU p50 ms':>11}")
    with app.app_context():
        for label, path, who in paths:
            wall, cpu = [], []
            for n in range(requests_per_path + 5):
                g.pop("_login_user", None)
                started, started_cpu = time.perf_counter(), time.process_time()
                response = clients[who].get(path)
                response.get_data()
                if n >= 5:  # the first few warm the caches
                    wall.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - started_cpu) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            wall.sort()
            cpu.sort()
            print(f"{label:<34} {wall[len(wall) // 2]:>9.2f} {wall[0]:>9.2f} "
                  f"{cpu[len(cpu) // 2]:>11.2f}")


def run_database(kind: str, args: argparse.Namespace) -> dict[str, object]:
    """Populate one database, serve it, and load every URL; returns the results by label."""
    with DATABASES[kind]() as url:
        started = time.monotonic()
        ids = populate(url, args.sizes)
        print(f"{kind}: populated {' + '.join(f'{n:,}' for n in args.sizes)} attempts in "
              f"{time.monotonic() - started:.1f}s", flush=True)
        api = "/api/edx_proctoring/v1/proctored_exam"
        paths = [(f"attempts page, {size:,}",
                  f"/courses/{course_id_for(size)}/instructor/attempts", "benchstaff")
                 for size in args.sizes]
        paths += [(f"grouped attempts, {size:,}",
                   f"{api}/attempt/grouped/course_id/{course_id_for(size)}", "benchstaff")
                  for size in args.sizes]
        paths.append(("learner poll", f"{api}/attempt/{ids['poll_attempt']}", "poller"))
        print(f"\n{kind}: 1-minute load average {os.getloadavg()[0]:.2f}")
        in_process(url, paths, args.in_process_requests)
        with gunicorn_server("wsgi:app", env=server_env(url), workers=args.workers,
                             ready_path="/healthz") as base:
            staff = sign_in(base, "benchstaff")
            learner = sign_in(base, "poller")
            cookies = {"benchstaff": staff, "poller": learner}
            targets = [(label, base + path, cookies[who]) for label, path, who in paths]
            results = {}
            load_before = os.getloadavg()[0]
            for name, target, cookie in targets:
                check(target, cookie)
                headers = {"Cookie": cookie, "User-Agent": USER_AGENT}
                run_wrk(target, 1, 2, headers=headers)  # warm-up: connections, caches
                results[name] = run_wrk(target, args.duration, args.connections,
                                        headers=headers, label=name)
            load_after = os.getloadavg()[0]
    print(f"\n{kind}: gunicorn {args.workers} sync workers; wrk -t2 -c{args.connections} "
          f"-d{args.duration}s per URL; 1-minute load average {load_before:.2f} before "
          f"the first URL, {load_after:.2f} after the last ({os.cpu_count()} CPUs)")
    poll = results["learner poll"]
    print_results(list(results.values()), baseline=poll)
    smallest = args.sizes[0]
    for label in ("attempts page", "grouped attempts"):
        base_p50 = results[f"{label}, {smallest:,}"].p50_ms
        ratios = ", ".join(
            f"{size:,}: {results[f'{label}, {size:,}'].p50_ms / base_p50:.2f}"
            for size in args.sizes[1:]
        )
        print(f"{kind} {label}: p50 against {smallest:,} attempts: {ratios}")
    print(flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,10000,100000",
                        help="attempts per course, comma-separated; the last is the newest")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--duration", type=int, default=8, help="seconds of wrk per URL")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 2)))
    parser.add_argument("--in-process-requests", type=int, default=40,
                        help="requests per URL through the Flask test client, one at a time")
    args = parser.parse_args()
    args.sizes = [int(n) for n in args.sizes.split(",")]
    for kind in args.databases.split(","):
        if kind not in DATABASES:
            parser.error(f"--databases: expected postgresql and/or sqlite, got {kind!r}")
        run_database(kind, args)


if __name__ == "__main__":
    main()
