"""Benchmark: a learner's start + submit with the SMTP server and the provider hanging,
as a ratio to the same with both healthy.

    .venv/bin/python bench/hanging.py [--learners 8] [--rabbitmq] [--no-celery]

One gunicorn server with ONE sync worker (the shipped gunicorn.conf.py) on a throw-away
PostgreSQL database (127.0.0.1:5432, user postgres; PROCTOR_BENCH_PG_URL to change), the
fake REST provider (its own process) and a loopback SMTP sink. For each background mode
(the embedded thread; Celery over Redis at 127.0.0.1:6379 when it answers, with one worker
of concurrency 2 beside the server; Celery over RabbitMQ with --rabbitmq) and each
condition:

- healthy: the app talks to the provider and the SMTP sink directly;
- hanging: it talks to gates that accept the connection and never answer (until the end).

``--learners`` learners, each with a proctored attempt ready to start, sign in (not timed)
and then, timed through the real HTTP API: PUT start, PUT submit (the round trip), and the
next request the worker serves (GET the attempt, the timer poll). Prints medians and
maxima, the hanging/healthy ratios, and how many connections the gates held (with one
background thread the email waits behind the hanging provider call, so the SMTP gate may
hold none). About 30 s per mode. Everything started is
stopped and the database dropped at the end, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    celery_queue,
    machine,
    median,
    migrate_quietly,
    sign_in,
    stop_on_sigterm,
)
from proctor_web.testing.loopback import (  # noqa: E402
    PG_ADMIN_URL,
    Gate,
    Inbox,
    app_environment,
    celery_worker,
    fake_provider,
    gunicorn_app,
    reachable,
    scratch_postgres,
    smtp_server,
)

PROVIDER_SECRET = "bench-client-secret-0123456789-0123456789"
LMS_SECRET = "bench-provider-secret-0123456789-0123"
COURSE = "course-v1:BenchX+HANG+2026"
PASSWORD = "bench-hanging-pass-0123"
SECRET_KEY = "bench-hanging-secret-key-0123456789"
API = "/api/edx_proctoring/v1/proctored_exam"
BROKERS = {"celery-redis": "redis://127.0.0.1:6379/12",
           "celery-rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}
#: Longer than the run: a hanging call stays hanging until the gates close at the end.
CALL_TIMEOUT = 60


def backends(port: int) -> dict[str, Any]:
    return {"DEFAULT": "rest", "null": {},
            "rest": {"base_url": f"http://127.0.0.1:{port}", "client_id": "fake-client",
                     "client_secret": PROVIDER_SECRET, "timeout_seconds": CALL_TIMEOUT}}


def seed(url: str, provider_port: int, groups: list[str], learners: int) -> dict[str, list]:
    """Migrate; one proctored exam pushed to the provider; per group ``learners`` learners
    with an attempt registered at the provider and ready to start. Returns
    group -> [(username, attempt id)]."""
    from proctor_web import create_app
    from proctor_web.extensions import db
    from proctor_web.models import utcnow
    from proctor_web.services import attempts, courses, exams
    from proctor_web.services.attempts import Actor

    app = create_app({"SECRET_KEY": SECRET_KEY, "DATABASE_URL": url,
                      "BACKENDS": backends(provider_port), "LOG_LEVEL": "WARNING"})
    plan: dict[str, list] = {}
    with app.app_context():
        migrate_quietly()
        now = utcnow()
        courses.ensure_course(COURSE, now)
        exam = exams.create_exam(COURSE, "final", {
            "exam_name": "Final", "time_limit_mins": 60, "is_proctored": True,
            "backend": "rest"}, None, now)
        for group in groups:
            plan[group] = []
            for number in range(learners):
                name = f"{group.replace('-', '')}{number}"
                user = courses.create_user(name, PASSWORD, now, email=f"{name}@bench.example",
                                           full_name=f"Bench Learner {number}")
                courses.enroll(user, COURSE, now)
                attempt = attempts.create_attempt(exam, user, Actor.learner(user), now,
                                                  taking_as_proctored=True)
                attempts.set_attempt_status(attempt, "ready_to_start", Actor.system("bench"),
                                            now, "the provider's software is ready")
                db.session.commit()
                plan[group].append((name, attempt.id))
        db.session.remove()
        db.engine.dispose()
    return plan


@dataclass
class Timings:
    round_trip: list[float] = field(default_factory=list)  # start + submit
    next_request: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def drive(base: str, learners: list[tuple[str, int]]) -> Timings:
    timings = Timings()
    for name, attempt_id in learners:
        browser = sign_in(base, name, PASSWORD, f"bench-{name}")
        url = f"{base}{API}/attempt/{attempt_id}"
        began = time.monotonic()
        started = browser.put(url, json={"action": "start"}, timeout=CALL_TIMEOUT)
        submitted = browser.put(url, json={"action": "submit"}, timeout=CALL_TIMEOUT)
        between = time.monotonic()
        polled = browser.get(url, timeout=CALL_TIMEOUT)
        ended = time.monotonic()
        for answer in (started, submitted, polled):
            if answer.status_code != 200:
                timings.failures.append(f"{answer.request.method} {answer.status_code}: "
                                        f"{answer.text[:200]}")
        if polled.status_code == 200 and polled.json().get("attempt_status") != "submitted":
            timings.failures.append(f"{name}: {polled.json().get('attempt_status')}")
        timings.round_trip.append(between - began)
        timings.next_request.append(ended - between)
        time.sleep(0.3)  # the same pause in both conditions: background work may run
    return timings


def run_scenario(mode: str, hanging: bool, url: str, provider_port: int, smtp_port: int,
                 learners: list[tuple[str, int]], logs: Path) -> tuple[Timings, str]:
    with ExitStack() as stack:
        provider, smtp = provider_port, smtp_port
        gates: list[Gate] = []
        if hanging:
            gates = [stack.enter_context(Gate(provider_port)),
                     stack.enter_context(Gate(smtp_port))]
            provider, smtp = gates[0].port, gates[1].port
        env = app_environment(
            PROCTOR_SECRET_KEY=SECRET_KEY, PROCTOR_DATABASE_URL=url,
            PROCTOR_BACKENDS=json.dumps(backends(provider)),
            PROCTOR_SESSION_COOKIE_SECURE="false",
            PROCTOR_MAIL_SERVER="127.0.0.1", PROCTOR_MAIL_PORT=str(smtp),
            PROCTOR_MAIL_TIMEOUT_SECONDS=str(CALL_TIMEOUT), PROCTOR_LOG_FORMAT="text",
            PROCTOR_LOG_LEVEL="WARNING",
        )
        if mode == "thread":
            env["PROCTOR_BACKGROUND_MODE"] = "thread"
        else:
            env["PROCTOR_CELERY_BROKER_URL"] = BROKERS[mode]
            env["PROCTOR_CELERY_QUEUE"] = stack.enter_context(celery_queue(
                BROKERS[mode], f"proctor-bench-{uuid.uuid4().hex[:8]}"))
        tag = f"{mode}-{'hanging' if hanging else 'healthy'}"
        base = stack.enter_context(gunicorn_app(env, logs / f"{tag}-gunicorn.log", workers=1))
        if mode != "thread":
            stack.enter_context(celery_worker(env, logs / f"{tag}-worker.log", concurrency=2))
        timings = drive(base, learners)
        note = ""
        if hanging:
            time.sleep(0.5)
            note = (f"held connections: provider {gates[0].held}, smtp {gates[1].held}")
            for gate in gates:
                gate.close()  # the hanging calls fail now, so every process stops at once
        return timings, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=8, help="learners per mode and condition")
    parser.add_argument("--rabbitmq", action="store_true", help="also Celery over RabbitMQ")
    parser.add_argument("--no-celery", action="store_true", help="the embedded thread only")
    args = parser.parse_args()
    stop_on_sigterm()

    modes = ["thread"]
    if not args.no_celery:
        if reachable("127.0.0.1", 6379):
            modes.append("celery-redis")
        else:
            print("Redis at 127.0.0.1:6379 does not answer: Celery over Redis skipped")
        if args.rabbitmq:
            modes.append("celery-rabbitmq")
    groups = [f"{mode}-{condition}" for mode in modes for condition in ("healthy", "hanging")]
    print(f"machine: {machine()}")
    inbox = Inbox()
    results: dict[str, tuple[Timings, str]] = {}
    admin = os.environ.get("PROCTOR_BENCH_PG_URL", PG_ADMIN_URL)
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-hang-")))
        provider_port = stack.enter_context(fake_provider(
            PROVIDER_SECRET, LMS_SECRET, ["--ready-delay", "3600", "--review-delay", "3600"]))
        smtp_port = stack.enter_context(smtp_server(inbox))
        url = stack.enter_context(scratch_postgres("proctor_bench_hang", admin))
        plan = seed(url, provider_port, groups, args.learners)
        for group in groups:
            mode, _, condition = group.rpartition("-")
            results[group] = run_scenario(mode, condition == "hanging", url, provider_port,
                                          smtp_port, plan[group], logs)
            note = results[group][1] or f"emails received so far: {len(inbox.messages)}"
            print(f"  {group}: done ({note})", flush=True)
    print(f"machine after: {machine()}")
    print(f"\ngunicorn 1 sync worker, PostgreSQL, {args.learners} learners per row; "
          "seconds, median (max)")
    print(f"{'mode':<16} {'condition':<9} {'start+submit':>16} {'next request':>16}")
    for group, (timings, _) in results.items():
        mode, _, condition = group.rpartition("-")
        print(f"{mode:<16} {condition:<9} "
              f"{median(timings.round_trip):>8.3f} ({max(timings.round_trip):.3f}) "
              f"{median(timings.next_request):>8.3f} ({max(timings.next_request):.3f})")
        for failure in timings.failures[:5]:
            print(f"    failed: {failure}")
    print("\nratio hanging / healthy (medians):")
    for mode in modes:
        healthy, hanging = results[f"{mode}-healthy"][0], results[f"{mode}-hanging"][0]
        trip = median(hanging.round_trip) / median(healthy.round_trip)
        after = median(hanging.next_request) / median(healthy.next_request)
        print(f"  {mode:<16} start+submit {trip:.2f}   next request {after:.2f}")


if __name__ == "__main__":
    main()
