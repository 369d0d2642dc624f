"""Refusals from the service layer reach people in their language.

The domain errors (``ProctorError`` and its subclasses) carry gettext-translated messages:
a Spanish-speaking learner who is refused something reads why in Spanish, on the HTML error
page as in the API's ``{"detail": ...}``, while English requests keep the English text. Where
no request (or no app context) exists, the messages are English.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from flask_babel import refresh

from proctor_web.backends.base import ProviderUnavailable
from proctor_web.errors import BadRequest
from proctor_web.extensions import db
from proctor_web.models import Attempt, utcnow
from proctor_web.services import attempts
from proctor_web.services.attempts import Actor
from proctor_web.services.validation import parse_int
from tests.learner.conftest import make_sign_in

COURSE_ID = "course-v1:TestX+T101+2026"
API = "/api/edx_proctoring/v1/proctored_exam"


@pytest.fixture
def sign_in(app, client):
    return make_sign_in(app, client)


@pytest.fixture
def timed(factory):
    learner = factory.learner()
    exam = factory.exam("timed", content_id="timed-i18n", time_limit_mins=90,
                        due_date=utcnow() + timedelta(days=30))
    db.session.commit()
    return learner, exam


def _page_url(exam) -> str:
    return f"/courses/{quote(exam.course_id, safe='')}/exams/{exam.content_id}"


def _post(client, url, language, **form):
    refresh()  # requests share the test's app context, where Flask-Babel caches the locale
    return client.post(url, data=form, headers={"Accept-Language": language,
                                                "Accept": "text/html"})


def test_starting_twice_is_refused_in_the_learners_language(timed, sign_in, client):
    learner, exam = timed
    sign_in(learner)
    url = _page_url(exam)
    entered = _post(client, url, "es", action="enter")
    assert entered.status_code == 303
    attempt = attempts.current_attempt(exam, learner)
    assert attempt is not None and attempt.status == "started"

    # A double click on "Start" after the exam started: refused, in Spanish.
    spanish = _post(client, url, "es-ES,es;q=0.9,en;q=0.5", action="start")
    assert spanish.status_code == 400
    html = spanish.get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "no se puede aplicar «start» a un intento en estado started" in html
    assert "cannot start an attempt that is started" not in html

    english = _post(client, url, "en", action="start")
    assert english.status_code == 400
    html = english.get_data(as_text=True)
    assert "cannot start an attempt that is started" in html
    assert "no se puede aplicar" not in html

    # The refusal changed nothing.
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).status == "started"


def test_unknown_page_action_is_refused_in_spanish_with_its_values_untranslated(
    timed, sign_in, client
):
    learner, exam = timed
    sign_in(learner)
    response = _post(client, _page_url(exam), "es", action="jump")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Acción desconocida: &#39;jump&#39;. Acciones conocidas: enter, decline," in html


def test_provider_outage_is_explained_in_spanish(app, factory, sign_in, client, monkeypatch):
    learner = factory.learner()
    exam = factory.exam("proctored", content_id="proctored-i18n",
                        due_date=utcnow() + timedelta(days=30))
    db.session.commit()
    registry = app.extensions["proctor_backends"]
    backend = registry.get("mock")

    def down(*args, **kwargs):
        raise ProviderUnavailable("provider unreachable")

    monkeypatch.setattr(backend, "register_exam_attempt", down)
    sign_in(learner)
    response = _post(client, _page_url(exam), "es", action="enter")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert (f"El servicio de supervisión ({backend.display_name}) no pudo preparar tu sesión "
            "de examen en este momento. No se guardó nada: vuelve a intentarlo en unos "
            "minutos.") in html
    assert attempts.current_attempt(exam, learner) is None


def test_api_refusal_detail_follows_accept_language(timed, sign_in, client):
    learner, exam = timed
    sign_in(learner)
    created = client.post(f"{API}/attempt", json={"exam_id": exam.id, "start_clock": "true"})
    attempt_id = created.json["exam_attempt_id"]

    refresh()
    spanish = client.put(f"{API}/attempt/{attempt_id}", json={"action": "fly"},
                         headers={"Accept-Language": "es"})
    assert spanish.status_code == 400
    assert spanish.json["detail"].startswith("Acción desconocida: 'fly'. Acciones conocidas: ")
    assert spanish.json["field"] == "action"

    refresh()
    again = client.put(f"{API}/attempt/{attempt_id}", json={"action": "start"},
                       headers={"Accept-Language": "es"})
    assert again.status_code == 400
    assert again.json["detail"] == (
        "no se puede aplicar «start» a un intento en estado started")

    refresh()
    english = client.put(f"{API}/attempt/{attempt_id}", json={"action": "fly"},
                         headers={"Accept-Language": "en"})
    assert english.json["detail"].startswith("Unknown action 'fly'. Known actions: ")


def test_ignored_provider_events_keep_an_english_history(app, timed, factory):
    """The history is a record, not a page: it stays English whoever is reading."""
    learner, exam = timed
    attempt = factory.attempt(exam, learner, "submitted")
    with app.test_request_context(headers={"Accept-Language": "es"}):
        refresh()
        attempts.apply_action(attempt, "ready", Actor.provider("mock"), utcnow())
    refresh()
    last = factory.history(attempt.id)[-1]
    assert last.ignored
    assert last.reason == "cannot ready an attempt that is submitted"


def test_messages_are_english_outside_requests(app):
    refresh()
    with pytest.raises(BadRequest, match=r"^minutes: must be at least 1\.$"):
        parse_int("0", "minutes", minimum=1)


def test_messages_work_without_an_app_context():
    with pytest.raises(BadRequest, match=r"^minutes: expected a whole number, got 'x'\.$"):
        parse_int("x", "minutes")
