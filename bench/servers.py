"""Benchmark: two gunicorn app servers against one, on one PostgreSQL database.

    .venv/bin/python bench/servers.py [--seconds 4] [--rounds 3] [--clients 8] [--workers 1]

Builds a throw-away PostgreSQL database (127.0.0.1:5432, user postgres;
PROCTOR_BENCH_PG_URL to change) with a timed exam and ``--clients`` learners, serves the app
with gunicorn (the shipped gunicorn.conf.py, ``--workers`` sync workers) on 127.0.0.1,
signs every learner in and starts their attempt, then loads it with a Python load
generator, one thread per learner (wrk cannot: each write depends on the one before):

- poll: GET the learner's attempt (the timer poll);
- status write: PUT stop, then PUT start, again and again (started <-> ready_to_submit,
  each a locked row, a status change and a history row).

A second, identical server runs on the same database; the same load then goes with every
learner's requests alternating between the two. The one-server and two-server rounds
alternate (``--rounds`` of each) so a change in the machine's load weighs on both. Prints
requests/s, p50 and p99 of each, the two/one ratio, and the app servers' CPU time per
request (from /proc: what a request costs whatever else runs). A sync worker serves one
request at a time, so one server uses at most ``--workers`` cores and two at most twice
that; PostgreSQL and the load generator share the same cores. About
rounds x 2 x (2 x seconds + 1) s plus start-up; everything started is stopped and the
database dropped at the end, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    HttpClient,
    WrkResult,
    api_headers,
    cpu_seconds,
    machine,
    migrate_quietly,
    print_results,
    run_clients,
    sign_in,
    stop_on_sigterm,
)
from proctor_web.testing.loopback import (  # noqa: E402
    PG_ADMIN_URL,
    app_environment,
    gunicorn_process,
    scratch_postgres,
)

COURSE = "course-v1:BenchX+TWO+2026"
PASSWORD = "bench-servers-pass-0123"
SECRET_KEY = "bench-servers-secret-key-0123456789"
API = "/api/edx_proctoring/v1/proctored_exam"
BACKENDS = {"DEFAULT": "mock", "null": {}, "mock": {"ready_after_seconds": 0}}


def seed(url: str, learners: int) -> int:
    """Migrate; a timed exam and enrolled learners; returns the exam id."""
    from proctor_web import create_app
    from proctor_web.extensions import db
    from proctor_web.models import utcnow
    from proctor_web.services import courses, exams

    app = create_app({"SECRET_KEY": SECRET_KEY, "DATABASE_URL": url, "BACKENDS": BACKENDS,
                      "LOG_LEVEL": "WARNING"})
    with app.app_context():
        migrate_quietly()
        now = utcnow()
        courses.ensure_course(COURSE, now)
        exam = exams.create_exam(COURSE, "final", {"exam_name": "Final",
                                                   "time_limit_mins": 600}, None, now)
        for number in range(learners):
            user = courses.create_user(f"two{number}", PASSWORD, now,
                                       email=f"two{number}@bench.example")
            courses.enroll(user, COURSE, now)
        db.session.commit()
        exam_id = exam.id
        db.session.remove()
        db.engine.dispose()
    return exam_id


class Learner:
    """A signed-in learner with a running attempt; its requests take turns over servers."""

    def __init__(self, base: str, number: int, exam_id: int) -> None:
        agent = f"bench-two-{number}"
        browser = sign_in(base, f"two{number}", PASSWORD, agent)
        created = browser.post(f"{base}{API}/attempt", timeout=30,
                               json={"exam_id": exam_id, "start_clock": True})
        created.raise_for_status()
        self.path = f"{API}/attempt/{created.json()['exam_attempt_id']}"
        self.headers = api_headers(browser)
        self.clients: list[HttpClient] = []
        self.turn = 0
        self.next_action = "stop"

    def use(self, servers: list[str]) -> None:
        self.clients = [HttpClient(base, self.headers) for base in servers]

    def _client(self) -> HttpClient:
        self.turn += 1
        return self.clients[self.turn % len(self.clients)]

    def poll(self) -> int:
        return self._client().request("GET", self.path)[0]

    def write(self) -> int:
        body = json.dumps({"action": self.next_action}).encode()
        status = self._client().request("PUT", self.path, body=body)[0]
        if status in (200, 400):  # 400: it had gone through before a timeout
            self.next_action = "start" if self.next_action == "stop" else "stop"
        return status


class Measured:
    """Results of one configuration summed over rounds, with the app servers' CPU time."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.results: dict[str, WrkResult | None] = {"poll": None, "stop/start": None}
        self.cpu: dict[str, float] = {"poll": 0.0, "stop/start": 0.0}

    def cpu_ms_per_request(self, kind: str) -> float:
        result = self.results[kind]
        return 1000 * self.cpu[kind] / max(result.requests if result else 0, 1)


def measure(learners: list[Learner], servers: list[tuple[str, int]], seconds: int,
            into: Measured) -> None:
    """One round: poll, then stop/start, for ``seconds`` each, counting the CPU time of
    every app server (gunicorn master and workers, from /proc)."""
    for learner in learners:
        learner.use([base for base, _ in servers])
    clients: dict[str, list[Callable[[], int]]] = {
        "poll": [learner.poll for learner in learners],
        "stop/start": [learner.write for learner in learners]}
    run_clients(clients["poll"], 1, "warm-up")
    for kind, calls in clients.items():
        before = sum(cpu_seconds(pid) for _, pid in servers)
        into.results[kind] = run_clients(calls, seconds, f"{kind}, {into.label}",
                                         after=into.results[kind])
        into.cpu[kind] += sum(cpu_seconds(pid) for _, pid in servers) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4, help="per kind and round")
    parser.add_argument("--rounds", type=int, default=3, help="one server, two, one, two ...")
    parser.add_argument("--clients", type=int, default=8, help="learners (load threads)")
    parser.add_argument("--workers", type=int, default=1, help="sync workers per server")
    args = parser.parse_args()
    stop_on_sigterm()

    admin = os.environ.get("PROCTOR_BENCH_PG_URL", PG_ADMIN_URL)
    print(f"machine: {machine()}")
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-two-")))
        url = stack.enter_context(scratch_postgres("proctor_bench_two", admin))
        exam_id = seed(url, args.clients)
        env = app_environment(
            PROCTOR_SECRET_KEY=SECRET_KEY, PROCTOR_DATABASE_URL=url,
            PROCTOR_BACKENDS=json.dumps(BACKENDS), PROCTOR_SESSION_COOKIE_SECURE="false",
            # Worker recycling (2000 requests by default) would restart a worker every few
            # seconds at these rates and measure the restarts.
            GUNICORN_MAX_REQUESTS="0",
        )
        servers = []
        for name in ("a", "b"):
            base, master = stack.enter_context(
                gunicorn_process(env, logs / f"{name}.log", workers=args.workers))
            servers.append((base, master.pid))
        learners = [Learner(servers[0][0], number, exam_id) for number in range(args.clients)]
        one, two = Measured("1 server"), Measured("2 servers")
        # Rounds alternate, so a change in the machine's load weighs on both alike.
        for _ in range(args.rounds):
            measure(learners, servers[:1], args.seconds, one)
            measure(learners, servers, args.seconds, two)
        after = machine()
    print(f"machine after: {after}")
    print(f"\n{args.workers} sync worker(s) per server (cores used by the app: at most "
          f"{args.workers} with one server, {2 * args.workers} with two, of "
          f"{os.cpu_count()}; PostgreSQL and the load generator run on the same cores), "
          f"{args.clients} learners, {args.rounds} x {args.seconds} s per row, PostgreSQL")
    for kind in ("poll", "stop/start"):
        print_results([one.results[kind], two.results[kind]], baseline=one.results[kind])
    print("app servers' CPU time per request, ms (what the app costs, whatever the load): "
          + ", ".join(f"{kind} {measured.cpu_ms_per_request(kind):.1f} with {measured.label}"
                      for measured in (one, two) for kind in ("poll", "stop/start")))


if __name__ == "__main__":
    main()
