"""Prometheus metrics at ``/metrics``.

Two kinds: counters and histograms kept by the processes that serve (request latency,
provider callbacks, status transitions), and gauges read from the database when Prometheus
scrapes (attempts by status, outbox depth, age, dead letters and retries): a handful of
grouped counts on indexed columns, so every process and every server reports the same
numbers without keeping any state.

Under gunicorn each worker is its own process: with ``PROMETHEUS_MULTIPROC_DIR`` set (the
shipped ``gunicorn.conf.py`` does it), prometheus-client writes the process metrics to files
there and any worker's ``/metrics`` adds them all up.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator

from flask import Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from proctor_web.ops.providers import provider_for_request

#: Process metrics live in their own registry, not prometheus-client's global one, so that
#: building several apps in one process (the tests do) never registers a name twice.
PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_LATENCY = Histogram(
    "proctor_http_request_duration_seconds", "Time to answer a request, by endpoint.",
    ["endpoint", "method", "status"], registry=PROCESS_REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CALLBACK_LATENCY = Histogram(
    "proctor_provider_callback_duration_seconds", "Time to handle a provider callback.",
    ["provider", "callback"], registry=PROCESS_REGISTRY,
)
CALLBACK_FAILURES = Counter(
    "proctor_provider_callback_failures_total",
    "Provider callbacks answered with an error (4xx or 5xx), by provider and status.",
    ["provider", "callback", "status"], registry=PROCESS_REGISTRY,
)
TRANSITIONS = Counter(
    "proctor_attempt_transitions_total",
    "Committed attempt history rows, by lifecycle action (ignored = a stale provider event).",
    ["action", "ignored"], registry=PROCESS_REGISTRY,
)

#: A pending outbox row that has failed this many times counts as a dead letter (unless the
#: outbox has a state of its own for those, which counts too).
DEAD_LETTER_TRIES = 10
_LIVE_OUTBOX_STATES = ("pending", "delivered", "refused")
_PENDING_TRANSITIONS = "proctor_pending_transitions"


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class DatabaseCollector(Collector):
    """Gauges computed from the database at scrape time."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from proctor_web.models import Attempt, EmailMessage, ProviderEvent

        attempts = GaugeMetricFamily("proctor_attempts", "Stored attempts by status.",
                                     labels=["status"])
        depth = GaugeMetricFamily("proctor_outbox_pending", "Outbox rows waiting for delivery.",
                                  labels=["outbox"])
        age = GaugeMetricFamily("proctor_outbox_oldest_pending_age_seconds",
                                "Age of the oldest row waiting for delivery (0 when none).",
                                labels=["outbox"])
        dead = GaugeMetricFamily(
            "proctor_outbox_dead_letters",
            f"Rows given up on: in a dead state, or pending after {DEAD_LETTER_TRIES}+ tries.",
            labels=["outbox"])
        refused = GaugeMetricFamily("proctor_outbox_refused",
                                    "Provider events the provider refused for good (4xx).",
                                    labels=["outbox"])
        retries = GaugeMetricFamily("proctor_outbox_retries",
                                    "Delivery tries beyond the first, summed over the rows.",
                                    labels=["outbox"])
        session = self.session
        now = session.execute(select(func.current_timestamp())).scalar_one()
        for status, count in session.execute(
            select(Attempt.status, func.count()).group_by(Attempt.status)
        ):
            attempts.add_metric([status], count)
        for name, model in (("provider_events", ProviderEvent), ("emails", EmailMessage)):
            pending = model.status == "pending"
            row = session.execute(select(
                func.count().filter(pending),
                func.min(model.created_at).filter(pending),
                func.count().filter(
                    model.status.not_in(_LIVE_OUTBOX_STATES)
                    | (pending & (model.tries >= DEAD_LETTER_TRIES))),
                func.count().filter(model.status == "refused"),
                func.coalesce(func.sum(case((model.tries > 1, model.tries - 1), else_=0)), 0),
            )).one()
            depth.add_metric([name], row[0])
            age.add_metric([name], _seconds_between(row[1], now))
            dead.add_metric([name], row[2])
            refused.add_metric([name], row[3])
            retries.add_metric([name], row[4])
        yield from (attempts, depth, age, dead, refused, retries)


def _seconds_between(oldest, now) -> float:  # noqa: ANN001  (datetimes or SQLite strings)
    if oldest is None:
        return 0.0
    from datetime import UTC, datetime

    def aware(value) -> datetime:  # noqa: ANN001
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    return max(0.0, (aware(now) - aware(oldest)).total_seconds())


def exposition(session: Session) -> bytes:
    database = CollectorRegistry()
    database.register(DatabaseCollector(session))
    directory = _multiprocess_dir()
    if directory:
        process = CollectorRegistry()
        multiprocess.MultiProcessCollector(process, path=directory)
    else:
        process = PROCESS_REGISTRY
    return generate_latest(process) + generate_latest(database)


def metrics_view() -> Response:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 token.encode()):
            refusal = jsonify(
                detail="/metrics needs Authorization: Bearer <PROCTOR_METRICS_TOKEN>.")
            refusal.status_code = 401
            refusal.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return refusal
    from proctor_web.extensions import db

    return Response(exposition(db.session), mimetype=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def _count_new_transitions(session: Session, flush_context) -> None:  # noqa: ANN001
    from proctor_web.models import AttemptHistory

    rows = [row for row in session.new if isinstance(row, AttemptHistory)]
    if rows:
        session.info.setdefault(_PENDING_TRANSITIONS, []).extend(
            (row.action, "true" if row.ignored else "false") for row in rows)


def _publish_transitions(session: Session) -> None:
    for action, ignored in session.info.pop(_PENDING_TRANSITIONS, ()):
        TRANSITIONS.labels(action=action, ignored=ignored).inc()


def _forget_transitions(session: Session, previous_transaction=None) -> None:  # noqa: ANN001
    session.info.pop(_PENDING_TRANSITIONS, None)


def listen_for_transitions() -> None:
    """Count history rows when their transaction commits (a rolled-back change never counts)."""
    from sqlalchemy import event

    if not event.contains(Session, "after_flush", _count_new_transitions):
        event.listen(Session, "after_flush", _count_new_transitions)
        event.listen(Session, "after_commit", _publish_transitions)
        event.listen(Session, "after_rollback", _forget_transitions)


def init_app(app: Flask) -> None:
    listen_for_transitions()

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is None:
            return response
        elapsed = time.perf_counter() - started
        endpoint = request.endpoint or "unmatched"
        REQUEST_LATENCY.labels(endpoint=endpoint, method=request.method,
                               status=str(response.status_code)).observe(elapsed)
        provider = provider_for_request()
        if provider is not None:
            CALLBACK_LATENCY.labels(provider=provider, callback=endpoint).observe(elapsed)
            if response.status_code >= 400:
                CALLBACK_FAILURES.labels(provider=provider, callback=endpoint,
                                         status=str(response.status_code)).inc()
        return response
