"""The Celery app, bound to a Flask app: every task runs inside that app's context.

The web process builds it lazily to publish (``get_celery``); a worker starts from
``proctor_web.tasks.worker`` (``celery -A proctor_web.tasks.worker worker -B``), which builds
the Flask app from the environment (``PROCTOR_*``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init
from flask import Flask

from proctor_web.tasks import jobs

log = logging.getLogger(__name__)

SWEEP_EVERY_SECONDS = 60.0


def make_celery(flask_app: Flask) -> Celery:
    url = flask_app.config.get("CELERY_BROKER_URL")
    if not url:
        raise RuntimeError("PROCTOR_CELERY_BROKER_URL is not set")

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    os.makedirs(flask_app.instance_path, exist_ok=True)  # beat keeps its schedule there
    celery = Celery("proctor_web", broker=url, task_cls=FlaskTask, set_as_current=False)
    celery.conf.update(
        task_ignore_result=True,
        task_default_queue=flask_app.config.get("CELERY_QUEUE") or "proctor_web",
        # A task is acknowledged once done: a worker killed mid-delivery gives it back.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_timeout=3,
        broker_connection_retry_on_startup=True,
        # Redis redelivers unacknowledged tasks after this; longer than any retry countdown.
        broker_transport_options={"visibility_timeout": 2 * 3600},
        timezone="UTC",
        beat_schedule={"proctor-sweep": {"task": "proctor.sweep",
                                         "schedule": SWEEP_EVERY_SECONDS}},
        beat_schedule_filename=os.path.join(flask_app.instance_path, "celerybeat-schedule"),
    )
    max_retries = 3 * int(flask_app.config.get("OUTBOX_MAX_TRIES") or 8)

    @celery.task(name="proctor.deliver", bind=True, max_retries=max_retries, shared=False)
    def deliver(self: Task, kind: str, row_id: int) -> None:
        """Deliver one outbox row; retried with backoff while it stays pending."""
        due_in = jobs.deliver_row(kind, row_id)
        if due_in is not None:
            if self.request.retries >= max_retries:
                log.warning("outbox %s %s still pending: left for the sweep", kind, row_id)
                return
            raise self.retry(countdown=jobs.retry_delay(self.request.retries, due_in))

    @celery.task(name="proctor.sweep", shared=False)
    def sweep() -> None:
        from proctor_web.models import utcnow

        report = jobs.run_sweep(utcnow())
        log.info("sweep: %d attempt(s) submitted, %d exam(s) pushed, delivered %s",
                 len(report.expired), report.pushed, report.delivered)

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_: Any) -> None:
        # A forked pool process must not share the parent's database connections.
        from proctor_web.extensions import db

        with flask_app.app_context():
            db.engine.dispose(close=False)

    flask_app.extensions["proctor_celery"] = celery
    return celery


def get_celery(flask_app: Flask) -> Celery:
    return flask_app.extensions.get("proctor_celery") or make_celery(flask_app)
