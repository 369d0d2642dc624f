"""A delivery task for one provider event behind a backlog of older pending events.

Found by bench/drain.py (README, Benchmarks, Queue drain): ``outbox.claim_events`` reads the
oldest 500 pending events and only then keeps the ids its task asked for, so a task whose
row has more than 500 older pending events (of other attempts) cannot claim it and is
retried with backoff. The claim now looks the asked-for rows up themselves.
"""

from __future__ import annotations

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import DeliveryStatus, ProviderEvent, utcnow
from proctor_web.tasks import jobs
from tests.conftest import app_config, scratch_database

OLDER = 500


def test_a_task_delivers_its_event_behind_more_than_500_older_pending_events(
        db_backend, postgres_available, tmp_path):
    with scratch_database(db_backend, tmp_path, "proctor_backlog", postgres_available) as url:
        app = create_app(app_config(url))
        with app.app_context():
            db.create_all()
            now = utcnow()
            rows = [ProviderEvent(backend="mock", kind="start", attempt_code=f"backlog-{n}",
                                  exam_external_id="exam-1", attempt_external_id=f"ext-{n}",
                                  status=DeliveryStatus.PENDING.value, tries=0,
                                  next_attempt_at=now, created_at=now)
                     for n in range(OLDER + 1)]
            db.session.add_all(rows)
            db.session.commit()
            newest = rows[-1].id
            try:
                # Its attempt has no earlier event: nothing should hold it back.
                assert jobs.deliver_row("provider", newest) is None
                row = db.session.get(ProviderEvent, newest, populate_existing=True)
                assert row.status == DeliveryStatus.DELIVERED.value
            finally:
                db.session.remove()
                db.engine.dispose()
