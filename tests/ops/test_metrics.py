"""/metrics: request latency, committed transitions, provider callbacks, and the gauges read
from the database at scrape time (attempts by status, outbox depth, age, dead letters)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from proctor_web.extensions import db
from proctor_web.models import EmailMessage, ProviderEvent, utcnow
from proctor_web.ops.metrics import DEAD_LETTER_TRIES, PROCESS_REGISTRY
from proctor_web.services import attempts
from proctor_web.services.attempts import Action, Actor
from tests.conftest import make_sign_in
from tests.webhooks.conftest import provider_token  # noqa: F401  (fixture)


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(name: str, **labels: str) -> float:
    return PROCESS_REGISTRY.get_sample_value(name, labels) or 0.0


def test_request_latency_is_recorded_by_endpoint(client):
    before = sample("proctor_http_request_duration_seconds_count",
                    endpoint="ops.healthz", method="GET", status="200")
    client.get("/healthz")
    client.get("/healthz")
    samples = scrape(client)
    key = ("proctor_http_request_duration_seconds_count",
           (("endpoint", "ops.healthz"), ("method", "GET"), ("status", "200")))
    assert samples[key] == before + 2


def test_attempts_by_status_and_outbox_gauges_come_from_the_database(client, factory, now):
    exam = factory.exam("proctored")
    for status in ("started", "started", "submitted"):
        factory.attempt(exam, factory.learner(), status)
    old = utcnow() - timedelta(minutes=10)
    db.session.add_all([
        ProviderEvent(backend="mock", kind="start", attempt_code="a", attempt_external_id="x",
                      status="pending", tries=3, created_at=old),
        ProviderEvent(backend="mock", kind="stop", attempt_code="a", attempt_external_id="x",
                      status="pending", tries=DEAD_LETTER_TRIES),
        ProviderEvent(backend="mock", kind="error", attempt_code="a", attempt_external_id="x",
                      status="refused", tries=1),
        ProviderEvent(backend="mock", kind="stop", attempt_code="b", attempt_external_id="y",
                      status="delivered", tries=2),
        EmailMessage(template="attempt_submitted", recipient="a@example.com", subject="s",
                     html_body="h", text_body="t", status="delivered", tries=1),
    ])
    db.session.flush()
    samples = scrape(client)
    assert samples[("proctor_attempts", (("status", "started"),))] == 2
    assert samples[("proctor_attempts", (("status", "submitted"),))] == 1
    events, emails = (("outbox", "provider_events"),), (("outbox", "emails"),)
    assert samples[("proctor_outbox_pending", events)] == 2
    assert samples[("proctor_outbox_pending", emails)] == 0
    assert 590 <= samples[("proctor_outbox_oldest_pending_age_seconds", events)] < 3600
    assert samples[("proctor_outbox_oldest_pending_age_seconds", emails)] == 0
    assert samples[("proctor_outbox_dead_letters", events)] == 1
    assert samples[("proctor_outbox_refused", events)] == 1
    # tries beyond the first: 2 + (N - 1) + 0 + 1
    assert samples[("proctor_outbox_retries", events)] == 2 + DEAD_LETTER_TRIES - 1 + 1


def test_transitions_count_when_committed_never_when_rolled_back(app, factory, now):
    exam = factory.exam("timed")
    learner = factory.learner()
    attempt = factory.attempt(exam, learner, "created")
    db.session.commit()
    labels = {"action": "start", "ignored": "false"}
    before = sample("proctor_attempt_transitions_total", **labels)
    attempts.apply_action(attempt, Action.START, Actor.learner(learner), now)
    db.session.rollback()
    assert sample("proctor_attempt_transitions_total", **labels) == before
    attempt = db.session.get(type(attempt), attempt.id)
    attempts.apply_action(attempt, Action.START, Actor.learner(learner), now)
    assert sample("proctor_attempt_transitions_total", **labels) == before
    db.session.commit()
    assert sample("proctor_attempt_transitions_total", **labels) == before + 1


def test_provider_callbacks_are_timed_and_failures_counted_by_provider(
        client, provider_token):  # noqa: F811
    token = provider_token("mock")
    path = "/api/edx_proctoring/v1/proctored_exam/attempt/no-such-attempt/ready"
    labels = {"provider": "mock", "callback": "webhooks.attempt_ready", "status": "404"}
    before = sample("proctor_provider_callback_failures_total", **labels)
    response = client.post(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert sample("proctor_provider_callback_failures_total", **labels) == before + 1
    anonymous = {**labels, "provider": "unknown", "status": "401"}
    before = sample("proctor_provider_callback_failures_total", **anonymous)
    client.post(path, headers={"Authorization": "Bearer forged"})
    assert sample("proctor_provider_callback_failures_total", **anonymous) == before + 1
    assert sample("proctor_provider_callback_duration_seconds_count", provider="oauth",
                  callback="webhooks.access_token") >= 1


@pytest.fixture
def token_app(app):
    app.config["METRICS_TOKEN"] = "metrics-secret-token"
    yield app
    app.config["METRICS_TOKEN"] = None


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic bWV0cmljcy1zZWNyZXQtdG9rZW4=",
                                    "metrics-secret-token"])
def test_a_metrics_token_is_required_when_configured(token_app, client, header):
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json["detail"].startswith("/metrics needs Authorization: Bearer")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_right_metrics_token_is_let_in(token_app, client):
    assert scrape(client, Authorization="Bearer metrics-secret-token")


def test_metrics_needs_no_sign_in_and_signed_in_learners_see_the_same(app, client, factory):
    learner = factory.learner()
    make_sign_in(app, client)(learner)
    assert client.get("/metrics").status_code == 200
