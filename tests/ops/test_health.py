"""/healthz and /readyz: open to anyone, and readiness says exactly what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask_migrate import stamp

from proctor_web import create_app
from proctor_web.extensions import db
from tests.conftest import app_config

REDIS = "redis://127.0.0.1:6379/0"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
CLOSED_PORT = "127.0.0.1:1"


@contextmanager
def serving(url: str, **overrides) -> Iterator[Flask]:
    app = create_app(app_config(url, WTF_CSRF_ENABLED=True, **overrides))
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def test_healthz_answers_without_a_database():
    with serving(f"postgresql://nobody@{CLOSED_PORT}/none") as app:
        response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database_without_signing_in(migrated_database_url):
    with serving(migrated_database_url) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_names_an_unreachable_database():
    with serving(f"postgresql://nobody@{CLOSED_PORT}/none") as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert set(response.json["problems"]) == {"database"}
    assert "127.0.0.1:1/none unreachable" in response.json["detail"]


def test_readyz_names_a_schema_behind_the_code(migrated_database_url):
    with serving(migrated_database_url) as app:
        with app.app_context():
            stamp(revision="0003")
        try:
            response = app.test_client().get("/readyz")
        finally:
            with app.app_context():
                stamp(revision="head")
    assert response.status_code == 503
    assert list(response.json["problems"]) == ["migrations"]
    assert response.json["detail"].startswith("database schema at revision 0003, code expects 0")
    assert "db upgrade" in response.json["detail"]


def test_readyz_names_a_database_never_migrated(database_url):
    """The suite's shared database is built with create_all, never stamped by alembic."""
    with serving(database_url) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "database schema at revision none" in response.json["problems"]["migrations"]


@pytest.mark.parametrize("broker", [REDIS, RABBITMQ])
def test_readyz_pings_a_configured_broker(migrated_database_url, broker):
    with serving(migrated_database_url, CELERY_BROKER_URL=broker) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json


@pytest.mark.parametrize("broker", [f"redis://{CLOSED_PORT}/0", f"amqp://guest:guest@{CLOSED_PORT}//",
                                    "amqp://guest:guest@127.0.0.1:6379//"])
def test_readyz_names_an_unreachable_broker(migrated_database_url, broker):
    with serving(migrated_database_url, CELERY_BROKER_URL=broker) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert list(response.json["problems"]) == ["broker"]
    assert "unreachable" in response.json["problems"]["broker"]
    assert "guest:guest" not in response.json["detail"]


def test_probes_need_no_csrf_token_or_session(migrated_database_url):
    with serving(migrated_database_url) as app:
        client = app.test_client()
        for path in ("/healthz", "/readyz", "/metrics"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "Set-Cookie" not in response.headers, path
