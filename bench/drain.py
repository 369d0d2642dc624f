"""Benchmark: a burst of outbox rows (provider events and emails) drained by Celery workers.

    .venv/bin/python bench/drain.py [--rows 10000] [--workers 2] [--rabbitmq] [--batch 300]

Starts the fake REST provider (its own process), a loopback SMTP sink (in this process),
``--workers`` Celery workers (``flask proctor worker --hostname NAME --concurrency 1``,
one process each)
over Redis at 127.0.0.1:6379 (RabbitMQ at 127.0.0.1:5672 with --rabbitmq) and builds a
throw-away PostgreSQL database (127.0.0.1:5432, user postgres; PROCTOR_BENCH_PG_URL to
change). Each simulated attempt is registered at the provider and then gets three outbox
rows: a "start" event, a status email and a "stop" event. Once the workers are ready the
rows are written ``--batch`` at a time, each batch in one transaction, and after its commit
handed to background work the way a web process does (``dispatch.enqueue``: one task per
row, published by a thread). The run waits until no row is pending.

Prints events per second (rows delivered / time from the first commit to the last
delivery) and the delay from a row's commit to its delivery (p50, p99, max; delivery time
is the row's ``delivered_at`` / ``sent_at``, set when the worker took it), and checks
that every email reached the sink once and every attempt reached the provider's
"submitted". Everything started is stopped, the broker queue deleted and the database
dropped at the end, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    celery_queue,
    machine,
    migrate_quietly,
    percentile,
    stop_on_sigterm,
)
from proctor_web.testing.loopback import (  # noqa: E402
    PG_ADMIN_URL,
    Inbox,
    app_environment,
    celery_worker,
    fake_provider,
    reachable,
    scratch_postgres,
    smtp_server,
)

PROVIDER_SECRET = "bench-drain-client-secret-0123456789-0123"
LMS_SECRET = "bench-drain-provider-secret-0123456789"
BROKERS = {"redis": "redis://127.0.0.1:6379/12", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}


def backends(port: int) -> dict[str, Any]:
    return {"DEFAULT": "rest", "null": {},
            "rest": {"base_url": f"http://127.0.0.1:{port}", "client_id": "fake-client",
                     "client_secret": PROVIDER_SECRET, "timeout_seconds": 20}}


def register_at_provider(port: int, attempts: int) -> tuple[str, list[str]]:
    """One exam and ``attempts`` attempts registered at the fake provider (setup, not
    measured): returns their ids there."""
    base = f"http://127.0.0.1:{port}"
    token = requests.post(base + "/oauth2/access_token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": "fake-client",
        "client_secret": PROVIDER_SECRET}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    exam = requests.post(base + "/api/v1/exam/", headers=headers, timeout=10, json={
        "exam_name": "Drain", "time_limit_mins": 60}).json()["id"]

    def register(number: int) -> str:
        answer = requests.post(f"{base}/api/v1/exam/{exam}/attempt/", headers=headers,
                               timeout=30, json={
                                   "user_id": f"u{number}", "full_name": f"Learner {number}",
                                   "email": f"learner{number}@bench.example",
                                   "lms_host": "http://127.0.0.1:1", "status": "created"})
        answer.raise_for_status()
        return answer.json()["id"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return exam, list(pool.map(register, range(attempts)))


def write_and_enqueue(app: Any, exam: str, externals: list[str], rows: int,
                      batch: int) -> dict[tuple[str, int], float]:
    """Write the outbox rows in batches; after each commit hand them to background work.
    Returns (kind, row id) -> commit time (time.time())."""
    from proctor_web.extensions import db
    from proctor_web.models import EmailMessage, utcnow
    from proctor_web.tasks import dispatch

    committed: dict[tuple[str, int], float] = {}
    per_batch = max(1, batch // 3)
    with app.app_context():
        written = 0
        for first in range(0, len(externals), per_batch):
            now = utcnow()
            chunk = list(enumerate(externals[first:first + per_batch], start=first))
            wanted = min(rows - written, 3 * len(chunk))
            events = {kind: [] for kind in ("start", "stop")}
            emails = []
            for slot, (number, external) in enumerate(chunk):
                # Rows of one attempt: start, email, stop (the last attempt may lack some).
                have = min(3, wanted - 3 * slot)
                if have >= 1:
                    events["start"].append(_event("start", number, exam, external, now))
                if have >= 2:
                    emails.append(EmailMessage(
                        template="attempt_submitted", recipient=f"learner{number}@bench.example",
                        subject=f"Your exam attempt {number}", text_body="Submitted.",
                        html_body="<p>Submitted.</p>", status="pending", tries=0,
                        next_attempt_at=now, created_at=now))
                if have >= 3:
                    events["stop"].append(_event("stop", number, exam, external, now))
            for group in (events["start"], emails, events["stop"]):
                db.session.add_all(group)
                db.session.flush()  # starts get lower ids than stops: order per attempt
            db.session.commit()
            at = time.time()
            items: list[tuple[str, int]] = []
            for slot in range(len(chunk)):
                for kind, group in (("provider", events["start"]), ("email", emails),
                                    ("provider", events["stop"])):
                    if slot < len(group):
                        items.append((kind, group[slot].id))
            for item in items:
                committed[item] = at
            dispatch.enqueue(app, items)
            written += len(items)
            if written >= rows:
                break
        db.session.remove()
    return committed


def _event(kind: str, number: int, exam: str, external: str, now: Any) -> Any:
    from proctor_web.models import ProviderEvent

    return ProviderEvent(backend="rest", kind=kind, attempt_id=None,
                         attempt_code=f"drain-{number}", exam_external_id=exam,
                         attempt_external_id=external, status="pending", tries=0,
                         next_attempt_at=now, created_at=now)


def outbox_counts(app: Any) -> dict[str, dict[str, int]]:
    from sqlalchemy import func, select

    from proctor_web.extensions import db
    from proctor_web.models import EmailMessage, ProviderEvent

    with app.app_context():
        counts = {}
        for name, model in (("provider", ProviderEvent), ("email", EmailMessage)):
            counts[name] = dict(db.session.execute(
                select(model.status, func.count()).group_by(model.status)).all())
        db.session.remove()
        return counts


def delivery_times(app: Any) -> dict[tuple[str, int], float]:
    from sqlalchemy import select

    from proctor_web.extensions import db
    from proctor_web.models import EmailMessage, ProviderEvent

    with app.app_context():
        times = {("provider", row_id): at.timestamp() for row_id, at in db.session.execute(
            select(ProviderEvent.id, ProviderEvent.delivered_at)
            .where(ProviderEvent.delivered_at.is_not(None)))}
        times.update({("email", row_id): at.timestamp() for row_id, at in db.session.execute(
            select(EmailMessage.id, EmailMessage.sent_at)
            .where(EmailMessage.sent_at.is_not(None)))})
        db.session.remove()
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="outbox rows in all")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--batch", type=int, default=300, help="rows per transaction")
    parser.add_argument("--rabbitmq", action="store_true", help="RabbitMQ instead of Redis")
    parser.add_argument("--timeout", type=float, default=900, help="give up after (s)")
    args = parser.parse_args()
    stop_on_sigterm()

    broker = BROKERS["rabbitmq" if args.rabbitmq else "redis"]
    if not args.rabbitmq and not reachable("127.0.0.1", 6379):
        raise SystemExit("Redis at 127.0.0.1:6379 does not answer (or use --rabbitmq).")
    admin = os.environ.get("PROCTOR_BENCH_PG_URL", PG_ADMIN_URL)
    attempts = -(-args.rows // 3)
    print(f"machine: {machine()}", flush=True)
    inbox = Inbox()
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-drain-")))
        provider_port = stack.enter_context(fake_provider(
            PROVIDER_SECRET, LMS_SECRET, ["--ready-delay", "86400", "--review-delay", "86400"]))
        smtp_port = stack.enter_context(smtp_server(inbox))
        url = stack.enter_context(scratch_postgres("proctor_bench_drain", admin))
        queue = stack.enter_context(celery_queue(broker, f"proctor-bench-{uuid.uuid4().hex[:8]}"))
        config = {"SECRET_KEY": "bench-drain-secret-key-0123456789", "DATABASE_URL": url,
                  "BACKENDS": backends(provider_port), "MAIL_SERVER": "127.0.0.1",
                  "MAIL_PORT": smtp_port, "CELERY_BROKER_URL": broker, "CELERY_QUEUE": queue,
                  "BACKGROUND_MODE": "celery", "LOG_LEVEL": "WARNING"}
        from proctor_web import create_app

        app = create_app(config)
        with app.app_context():
            migrate_quietly()
        setup_began = time.monotonic()
        exam, externals = register_at_provider(provider_port, attempts)
        print(f"setup: {attempts} attempts registered at the provider in "
              f"{time.monotonic() - setup_began:.1f} s", flush=True)
        env = app_environment(**{f"PROCTOR_{key}": (value if isinstance(value, str)
                                                    else json.dumps(value))
                                 for key, value in config.items()})
        env["PROCTOR_LOG_LEVEL"] = "INFO"  # as in production: a line per delivery
        for number in range(args.workers):
            stack.enter_context(celery_worker(env, logs / f"worker{number}.log", concurrency=1,
                                              node_name=f"bench{number}-{queue}@%h"))
        began = time.time()
        committed = write_and_enqueue(app, exam, externals, args.rows, args.batch)
        written = time.time()
        from proctor_web.tasks import dispatch

        dispatch.background_thread(app, dispatch.CeleryPublisher).wait_idle(timeout=args.timeout)
        published = time.time()
        print(f"{len(committed)} rows committed in {written - began:.1f} s, all tasks "
              f"published after {published - began:.1f} s", flush=True)
        deadline = time.monotonic() + args.timeout
        while True:
            counts = outbox_counts(app)
            pending = sum(kinds.get("pending", 0) for kinds in counts.values())
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(1)
        times = delivery_times(app)
        retries = sum(path.read_text().count("retry: Retry in")
                      for path in logs.glob("worker*.log"))
        state = requests.get(f"http://127.0.0.1:{provider_port}/_control/state",
                             timeout=30).json()
        after = machine()

    report(args, broker, counts, committed, times, retries, inbox, state, externals, after)


def report(args: argparse.Namespace, broker: str, counts: dict, committed: dict,
           times: dict, retries: int, inbox: Inbox, state: dict, externals: list[str],
           after: str) -> None:
    print(f"machine after: {after}")
    delays = {kind: [times[key] - at for key, at in committed.items()
                     if key[0] == kind and key in times] for kind in ("provider", "email")}
    every = delays["provider"] + delays["email"]
    first = min(committed.values())
    last = max(times[key] for key in committed if key in times) if every else first
    print(f"\n{len(committed)} rows ({len(delays['provider'])} provider events and "
          f"{len(delays['email'])} emails delivered), {args.workers} Celery workers "
          f"(concurrency 1 each), broker {broker.split(':')[0]}, PostgreSQL")
    print(f"outbox statuses: {counts}")
    print(f"delivered per second: {len(every) / max(last - first, 1e-9):.1f} "
          f"(first commit to last delivery: {last - first:.1f} s)")
    print(f"{'delay commit -> delivery':<26} {'p50 s':>8} {'p99 s':>8} {'max s':>8}")
    for label, values in (("provider events", delays["provider"]),
                          ("emails", delays["email"]), ("all", every)):
        print(f"{label:<26} {percentile(values, 0.5):>8.2f} {percentile(values, 0.99):>8.2f} "
              f"{max(values, default=0):>8.2f}")
    stopped = len(committed) // 3  # attempts that got all three rows, "stop" last
    submitted = sum(1 for external in externals[:stopped]
                    if state["attempts"].get(external, {}).get("status") == "submitted")
    recipients = [message["To"] for message in inbox.messages]
    pending = sum(kinds.get("pending", 0) for kinds in counts.values())
    if pending:
        print(f"{pending} rows still pending when the wait ended (--timeout {args.timeout:.0f} s):"
              " not in the figures")
    print(f"tasks retried (the row could not be claimed: an earlier event of its attempt "
          f"pending, rows locked by the other worker's claim, or 500 older events "
          f"pending): {retries}")
    print(f"checks: {len(inbox.messages)} emails at the sink for {len(delays['email'])} sent "
          f"({len(recipients) - len(set(recipients))} duplicates); {submitted} of "
          f"{stopped} attempts with a stop event 'submitted' at the provider")


if __name__ == "__main__":
    main()
