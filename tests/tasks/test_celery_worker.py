"""A real Celery worker process with beat, over Redis: a delivery task sent twice delivers
once, the sweep task recovers a row whose task was lost, and beat is scheduled to run it
every minute."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask_migrate import upgrade

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import DeliveryStatus, EmailMessage, utcnow
from proctor_web.tasks.celery_app import SWEEP_EVERY_SECONDS, get_celery
from tests.conftest import app_config, scratch_database
from tests.tasks.helpers import Inbox, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/13"


def _email(app, subject: str) -> int:
    with app.app_context():
        now = utcnow()
        row = EmailMessage(template="attempt_submitted", recipient="w@example.com",
                           subject=subject, html_body="<p>x</p>", text_body="x",
                           status=DeliveryStatus.PENDING.value, tries=0, next_attempt_at=now,
                           created_at=now)
        db.session.add(row)
        db.session.commit()
        return row.id


def _statuses(app) -> list[str]:
    with app.app_context():
        try:
            return [row.status for row in db.session.query(EmailMessage).order_by(
                EmailMessage.id)]
        finally:
            db.session.remove()


def test_worker_with_beat_delivers_once_and_sweeps(db_backend, postgres_available, tmp_path):
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    smtp.start()
    queue_name = f"proctor-test-{uuid.uuid4().hex[:8]}"
    try:
        with scratch_database(db_backend, tmp_path, "proctor_worker", postgres_available) as url:
            app = create_app(app_config(url, CELERY_BROKER_URL=BROKER, CELERY_QUEUE=queue_name,
                                        MAIL_PORT=smtp.port, BACKGROUND_MODE="celery"))
            with app.app_context():
                upgrade()
                db.session.remove()
            env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
            env.update({"PYTHONPATH": str(ROOT), "PROCTOR_DATABASE_URL": url,
                        "PROCTOR_SECRET_KEY": "worker-test-secret-key-0123456789",
                        "PROCTOR_CELERY_BROKER_URL": BROKER, "PROCTOR_CELERY_QUEUE": queue_name,
                        "PROCTOR_MAIL_SERVER": "127.0.0.1", "PROCTOR_MAIL_PORT": str(smtp.port),
                        "PROCTOR_LOG_FORMAT": "text"})
            log_path = tmp_path / "worker.log"
            with log_path.open("w") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "proctor_web", "proctor", "worker",
                     "--beat", "--concurrency", "1"],
                    cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
                try:
                    wait_for(lambda: "ready." in log_path.read_text()
                             or worker.poll() is not None, timeout=60)
                    assert worker.poll() is None, log_path.read_text()[-3000:]
                    celery = get_celery(app)
                    twice = _email(app, "sent twice")
                    for _ in range(2):  # a redelivered message
                        celery.tasks["proctor.deliver"].apply_async(args=("email", twice))
                    wait_for(lambda: _statuses(app) == ["delivered"], timeout=30)
                    lost = _email(app, "task lost")  # committed, but no task was sent
                    assert _statuses(app) == ["delivered", "pending"]
                    celery.tasks["proctor.sweep"].apply_async()
                    wait_for(lambda: _statuses(app) == ["delivered", "delivered"], timeout=30)
                    assert sorted(m["Subject"] for m in inbox.messages) == ["sent twice",
                                                                           "task lost"]
                    assert lost
                    assert "beat: Starting" in log_path.read_text()
                    assert "ERROR/Beat" not in log_path.read_text()
                finally:
                    worker.send_signal(signal.SIGTERM)
                    try:
                        worker.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        worker.kill()
                        worker.wait()
            assert get_celery(app).conf.beat_schedule["proctor-sweep"] == {
                "task": "proctor.sweep", "schedule": SWEEP_EVERY_SECONDS}
            assert SWEEP_EVERY_SECONDS == 60.0
            with app.app_context():
                db.engine.dispose()
    finally:
        smtp.stop()


@pytest.mark.parametrize("mode", ["celery", "thread"])
def test_background_mode_follows_the_broker_setting(mode):
    from proctor_web.tasks import dispatch

    broker = BROKER if mode == "celery" else None
    app = create_app(app_config("sqlite://", CELERY_BROKER_URL=broker, BACKGROUND_MODE=None))
    assert dispatch.mode(app) == mode
