"""The task bodies, shared by the embedded thread and the Celery worker.

Each runs inside an app context and commits its own short transactions (they are jobs, not
services). Delivery is idempotent: a row is claimed with a lease and recorded only while
still pending, so a task that runs twice (a redelivered Celery message, a sweep racing a
worker) delivers the row once.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from proctor_web.extensions import db
from proctor_web.models import DeliveryStatus, utcnow
from proctor_web.services import attempts, exam_sync, outbox, registration

log = logging.getLogger(__name__)

#: Task retries back off exponentially from this many seconds, jittered, up to an hour.
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 3600.0


def retry_delay(retries: int, due_in: float) -> float:
    """Seconds before the next try: never before the row is due again, at least the task's
    own exponential backoff, plus up to 25 % jitter so a recovered server is not hit by
    every waiting task in the same second."""
    delay = max(due_in, min(RETRY_BASE_SECONDS * 2 ** retries, RETRY_MAX_SECONDS))
    return delay * random.uniform(1.0, 1.25)


def deliver_row(kind: str, row_id: int) -> float | None:
    """Deliver one outbox row now if it is due; None when it is settled (delivered,
    refused, dead or gone), else the seconds until it is due again (failed, leased by
    another worker, or held back behind an earlier event of its attempt)."""
    outbox.deliver_items([(kind, row_id)], utcnow())
    model = outbox.KINDS[kind].model
    if model is None:  # a job that keeps its own record (exam pushes): done for this task
        db.session.commit()
        return None
    row = db.session.get(model, row_id, populate_existing=True)
    try:
        if row is None or row.status != DeliveryStatus.PENDING.value:
            return None
        return max((row.next_attempt_at - utcnow()).total_seconds(), 0.0)
    finally:
        db.session.commit()  # end the read transaction (nothing to write): no lock left


@dataclass
class SweepReport:
    expired: list[int] = field(default_factory=list)
    pushed: int = 0
    push_failures: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    rosters: list[str] = field(default_factory=list)  # one line per LMS roster synced
    registered: int = 0  # attempts registered with their provider after their request died


def run_sweep(now: datetime) -> SweepReport:
    """What ``flask proctor sweep`` and beat's task do: submit attempts whose time ran out,
    re-push stale exams, and deliver every due outbox row (recovering rows whose task was
    lost). Commits."""
    report = SweepReport()
    report.expired = attempts.sweep_expired(now)
    db.session.commit()
    report.registered = registration.register_stranded(now)
    report.pushed, report.push_failures = exam_sync.sync_exams(now)
    for name, kind in outbox.KINDS.items():
        try:
            report.delivered[name] = kind.deliver(now, None)
        except Exception:  # one broken kind must not stop the others
            db.session.rollback()
            log.exception("sweep: delivering outbox %r failed", name)
            report.delivered[name] = 0
    db.session.commit()
    report.rosters = _sync_due_rosters()
    return report


def _sync_due_rosters() -> list[str]:
    """LMS rosters (NRPS) not synced for ``LTI_ROSTER_SYNC_MINUTES``; one line each."""
    from flask import current_app

    from proctor_web.lti import roster

    minutes = int(current_app.config["LTI_ROSTER_SYNC_MINUTES"])
    if minutes <= 0:
        return []
    lines = []
    for context_id in roster.due_context_ids(utcnow(), timedelta(minutes=minutes)):
        db.session.commit()  # never wait on an LMS while holding the sweep's writes
        result = roster.sync_context_by_id(context_id, utcnow(), requested_by="sweep")
        db.session.commit()
        lines.append(f"LMS roster of context {context_id}: " + (
            result.error or f"{result.members_seen} member(s), {result.added} added, "
            f"{result.updated} updated, {result.deactivated} deactivated."))
    return lines
