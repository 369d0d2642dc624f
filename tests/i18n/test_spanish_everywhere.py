"""Spanish reaches what used to stay English: emails, error pages, the mock provider's steps,
provider names and enrollment modes.

A person's last language is kept on their account, so the status emails written later, by
whoever or whatever causes them (course staff in English, a provider, the sweep), are in it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from urllib.parse import quote

import pytest
import responses
from flask_babel import refresh
from sqlalchemy import select

from proctor_web import create_app
from proctor_web.backends import get_backend
from proctor_web.backends.rest import RestBackend
from proctor_web.extensions import db
from proctor_web.i18n import enrollment_mode_label, provider_label
from proctor_web.models import EmailMessage, User, utcnow
from proctor_web.services import attempts, courses, notifications
from proctor_web.services.attempts import Action, Actor
from tests.conftest import SAME_SITE_FORM, app_config, make_sign_in
from tests.factories import COURSE_ID
from tests.smtp_sink import part, subject


@pytest.fixture
def sign_in(app, client):
    return make_sign_in(app, client)


def _html(message: Message) -> str:
    return part(message, "text/html")


def _page(exam) -> str:
    return f"/courses/{quote(exam.course_id, safe='')}/exams/{exam.content_id}"


def _get(client, url: str, **headers: str):
    refresh()  # requests share the test's app context, where Flask-Babel caches the locale
    return client.get(url, headers=headers)


def _stored_locale(user_id: int) -> str | None:
    db.session.expire_all()
    return db.session.get(User, user_id).locale


# The learner's language, kept -----------------------------------------------------------


def test_the_language_a_learner_uses_is_kept_on_their_account(factory, sign_in, client, app):
    learner = factory.learner()
    exam = factory.exam("proctored", content_id="kept")
    db.session.commit()
    assert learner.locale is None
    sign_in(learner)

    assert _get(client, _page(exam), **{"Accept-Language": "es-ES,es;q=0.9"}).status_code == 200
    assert _stored_locale(learner.id) == "es"
    assert _get(client, _page(exam) + "?lang=en").status_code == 200
    assert _stored_locale(learner.id) == "en"
    assert _get(client, _page(exam) + "?lang=es").status_code == 200
    assert _stored_locale(learner.id) == "es"

    # A client that names no language (no header, nothing chosen) leaves it alone.
    other = app.test_client()
    make_sign_in(app, other)(learner)
    refresh()
    assert other.get(_page(exam)).status_code == 200
    assert _stored_locale(learner.id) == "es"


def test_status_email_is_written_in_the_learners_last_language(factory, sign_in, client,
                                                                mail_inbox):
    learner = factory.learner(username="lea", email="lea@example.org", full_name="Lea")
    staff = factory.course_staff(username="teacher")
    exam = factory.exam("proctored", content_id="final", exam_name="Química final")
    attempt = factory.attempt(exam, learner, "submitted", external_id="ext-es",
                              started_minutes_ago=5)
    db.session.commit()
    sign_in(learner)
    assert _get(client, _page(exam) + "?lang=es").status_code == 200

    # Course staff, in English, verify the attempt: the learner's email is still Spanish.
    sign_in(staff)
    refresh()
    answer = client.post(f"/courses/{exam.course_id}/instructor/attempts/{attempt.id}/verify",
                         data={"reason": "watched the recording"},
                         headers={"Accept-Language": "en"})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
    assert "Verified" in _get(client, f"/courses/{exam.course_id}/instructor/attempts",
                              **{"Accept-Language": "en"}).get_data(as_text=True)
    assert notifications.send_pending(utcnow()) == 1  # the pages ran on the real clock

    (message,) = mail_inbox.messages
    assert message["To"] == "lea@example.org"
    assert subject(message) == "Tu examen supervisado fue verificado"
    html = _html(message)
    assert '<html lang="es">' in html
    assert "Hola, Lea:" in html
    assert "Buenas noticias" in html and "Química final" in html
    assert "Este mensaje lo envió" in html
    assert "Good news" not in html and "Hello" not in html
    assert "Hola, Lea:" in part(message, "text/plain")


def test_email_without_a_known_language_is_in_the_sites_default(factory, mail_inbox, now, app):
    learner = factory.learner(email="ann@example.org", full_name="Ann")
    attempt = factory.attempt(factory.exam("proctored", exam_name="Physics"), learner,
                              "submitted", external_id="ext-en", started_minutes_ago=5)
    # Raised from a Spanish request (a provider's callback, say): not the learner's language.
    with app.test_request_context(headers={"Accept-Language": "es"}):
        attempts.apply_action(attempt, Action.VERIFY, Actor.provider("mock"), now)
    notifications.send_pending(now)
    (message,) = mail_inbox.messages
    assert subject(message) == "Your proctored exam was verified"
    assert '<html lang="en">' in _html(message) and "Hello Ann," in _html(message)


def test_submitted_email_follows_the_learner_not_the_sweep(factory, mail_inbox, now):
    factory.course(COURSE_ID, display_name="")  # the email then says "your course"
    learner = factory.learner(email="sol@example.org", full_name="Sol")
    learner.locale = "es"
    attempt = factory.attempt(factory.exam("proctored", exam_name="Historia"), learner,
                              "started", external_id="ext-sw", started_minutes_ago=5)
    attempts.apply_action(attempt, Action.SUBMIT, Actor.learner(learner), now)  # no request
    notifications.send_pending(now)
    (message,) = mail_inbox.messages
    assert subject(message) == "Tu examen supervisado se entregó"
    assert "Recibimos tu examen supervisado «Historia» en tu curso." in _html(message)


def test_times_in_a_spanish_email_are_in_spanish_in_the_learners_zone(factory, mail_inbox, now):
    learner = factory.learner(email="luz@example.org", full_name="Luz")
    learner.locale, learner.time_zone = "es", "America/Bogota"
    exam = factory.exam("proctored", exam_name="Geografía",
                        due_date=datetime(2026, 12, 24, 17, 0, tzinfo=UTC))
    attempt = factory.attempt(exam, learner, "started", external_id="ext-tz",
                              started_minutes_ago=5)
    attempts.apply_action(attempt, Action.SUBMIT, Actor.learner(learner), now)
    notifications.send_pending(now)
    (message,) = mail_inbox.messages
    for body in (_html(message), part(message, "text/plain")):
        assert "Entrega: 22 de noviembre de 2026, 7:00 hora de Colombia (12:00 UTC)" in body, body
        assert "Fecha límite: 24 de diciembre de 2026, 12:00 hora de Colombia (17:00 UTC)" in body
        assert "November" not in body and "Colombia Time" not in body


def test_a_spanish_email_without_a_zone_says_its_times_are_utc(factory, mail_inbox, now):
    learner = factory.learner(email="mar@example.org", full_name="Mar")
    learner.locale = "es"
    attempt = factory.attempt(factory.exam("proctored"), learner, "started",
                              external_id="ext-utc", started_minutes_ago=5)
    attempts.apply_action(attempt, Action.SUBMIT, Actor.learner(learner), now)
    notifications.send_pending(now)
    text = part(mail_inbox.messages[0], "text/plain")
    assert "Entrega: 22 de noviembre de 2026, 12:00:00 UTC" in text, text
    assert "Todas las horas están en UTC (tiempo universal coordinado)." in text


def test_review_alert_is_in_each_staff_members_language(factory, now):
    course = factory.course(COURSE_ID, proctoring_escalation_email="desk@example.org")
    spanish = factory.course_staff(username="profe")
    spanish.locale = "es"
    factory.course_staff(username="prof")
    exam = factory.exam("proctored", exam_name="Final")
    notifications.queue_review_alert(exam, None, "suspicious", "http://proctor.test/r", now)
    queued = {m.recipient: m for m in db.session.execute(select(EmailMessage)).scalars()}
    assert course.proctoring_escalation_email in queued
    assert queued["profe@example.com"].subject == "Una revisión de supervisión requiere tu atención"
    assert "un estudiante que ya no está inscrito" in queued["profe@example.com"].html_body
    assert "como sospechoso" in queued["profe@example.com"].html_body
    assert "as suspicious" in queued["prof@example.com"].html_body
    assert "a learner who has since left" in queued["prof@example.com"].html_body
    assert queued["prof@example.com"].subject == "A proctoring review needs your attention"
    assert queued["desk@example.org"].subject == "A proctoring review needs your attention"


# Error pages ------------------------------------------------------------------------------


def test_a_missing_page_in_spanish(client):
    page = _get(client, "/no/such/page", **{"Accept-Language": "es", "Accept": "text/html"})
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "No encontramos esa página" in html
    assert "No hay nada en esta dirección" in html
    assert "Volver a tus cursos" in html
    assert "requested URL was not found" not in html

    english = _get(client, "/no/such/page", **{"Accept-Language": "en"}).get_data(as_text=True)
    assert "There is nothing at this address" in english


def test_http_errors_in_json_speak_the_callers_language(client):
    missing = _get(client, "/api/edx_proctoring/v1/no-such-thing", **{"Accept-Language": "es"})
    assert missing.status_code == 404
    assert missing.json["detail"].startswith("No hay nada en esta dirección")
    refresh()
    wrong_method = client.delete("/csrf/api/v1/token", headers={"Accept-Language": "es"})
    assert wrong_method.status_code == 405
    assert wrong_method.json["detail"] == "Esta dirección no acepta ese tipo de solicitud."
    assert "GET" in wrong_method.headers["Allow"]
    refresh()
    english = client.get("/api/edx_proctoring/v1/no-such-thing")
    assert english.json["detail"].startswith("There is nothing at this address")


# The mock provider and provider names ------------------------------------------------------


def test_the_mock_provider_answers_in_the_language_it_is_asked(app):
    mock = get_backend("mock")
    # Asked for Spanish from an English request: the provider's answer follows the argument.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        spanish = mock.get_proctoring_config("es")
        regional = mock.get_proctoring_config("es-MX")
        english = mock.get_proctoring_config("en")
        unknown = mock.get_proctoring_config("not a language")
    assert spanish["name"] == "Servicio de supervisión simulado"
    assert spanish["instructions"][0].startswith(
        "Selecciona «Iniciar la comprobación del sistema»")
    assert spanish["rules"] == {"allow_notes": "No se permiten apuntes",
                                "camera": "Mantén la cámara encendida"}
    assert regional == spanish
    assert english["name"] == "Mock Proctoring Service"
    assert english["instructions"][0].startswith("Select “Start the system check”")
    assert unknown == english


def test_the_mock_steps_on_a_spanish_learner_page(factory, sign_in, client):
    learner = factory.learner()
    exam = factory.exam("proctored", content_id="steps")
    factory.attempt(exam, learner, "created")
    db.session.commit()
    sign_in(learner)
    html = _get(client, _page(exam) + "?lang=es").get_data(as_text=True)
    assert "Selecciona «Iniciar la comprobación del sistema»" in html
    assert "Permite que use tu cámara y tu micrófono." in html
    assert "Servicio de supervisión simulado" in html
    assert "Allow it to use your camera" not in html
    assert "Mock Proctoring Service" not in html

    refresh()
    settings = client.get(f"/api/edx_proctoring/v1/proctored_exam/settings/exam_id/{exam.id}/",
                          headers={"Accept-Language": "es"}).json
    assert settings["provider_name"] == "Servicio de supervisión simulado"
    assert settings["exam_proctoring_backend"]["rules"]["camera"] == "Mantén la cámara encendida"


def test_provider_names_and_enrollment_modes_in_the_dashboard(factory, sign_in, client, app):
    staff = factory.course_staff(username="docente")
    factory.exam("proctored", exam_name="Final")
    factory.exam("onboarding", exam_name="Identidad")
    courses.enroll(factory.user("mara"), COURSE_ID, factory.now, enrollment_mode="masters")
    db.session.commit()
    sign_in(staff)
    exams = _get(client, f"/courses/{COURSE_ID}/instructor/exams?lang=es").get_data(as_text=True)
    assert "Servicio de supervisión simulado" in exams
    assert ">mock<" not in exams and ">null<" not in exams
    onboarding = _get(client, f"/courses/{COURSE_ID}/instructor/onboarding").get_data(
        as_text=True)
    assert re.search(r"<td[^>]*>Máster</td>", onboarding), "the mode in words"

    with app.test_request_context("/?lang=es"):
        assert provider_label("null") == "Sin supervisión"
        assert provider_label(None) == "Servicio de supervisión simulado"  # the default
        assert provider_label("retired-provider") == "retired-provider"
        assert enrollment_mode_label("audit") == "Oyente"
        assert enrollment_mode_label("some-new-mode") == "some-new-mode"


@responses.activate
def test_a_rest_provider_is_asked_in_the_learners_language(app, factory, sign_in, client,
                                                            monkeypatch):
    base = "https://provider.example"
    provider = RestBackend("restp", {"base_url": base, "client_id": "cid",
                                     "client_secret": "s" * 32})
    monkeypatch.setitem(app.extensions["proctor_backends"]._backends, "restp", provider)
    responses.post(f"{base}/oauth2/access_token",
                   json={"access_token": "t", "expires_in": 3600})
    responses.get(f"{base}/api/v1/config/",
                  json={"name": "Proveedor", "rules": {}, "instructions": ["Paso general."]})
    responses.get(f"{base}/api/v1/exam/px-1/attempt/pa-1/",
                  json={"status": "created", "instructions": ["Abre el programa del proveedor."],
                        "download_url": "https://provider.example/check/pa-1"})
    learner = factory.learner()
    exam = factory.exam("proctored", content_id="rest-es", backend="restp", external_id="px-1")
    factory.attempt(exam, learner, "created", external_id="pa-1")
    db.session.commit()
    sign_in(learner)
    html = _get(client, _page(exam), **{"Accept-Language": "es-ES,es;q=0.9"}).get_data(
        as_text=True)
    assert "Abre el programa del proveedor." in html
    asked = {call.request.url.removeprefix(base): call.request.headers.get("Accept-Language")
             for call in responses.calls if call.request.method == "GET"}
    assert asked == {"/api/v1/config/": "es;en", "/api/v1/exam/px-1/attempt/pa-1/": "es;en"}


def test_a_refused_form_says_why_in_spanish(tmp_path):
    """Flask-WTF's reasons are English only; the page that refuses the form is not."""
    app = create_app(app_config(f"sqlite:///{tmp_path / 'csrf.sqlite3'}", TESTING=False,
                                WTF_CSRF_ENABLED=True))
    try:
        response = app.test_client().post(
            "/login", data={"username": "x", "password": "y"},
            headers={"Accept-Language": "es", **SAME_SITE_FORM})
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert ("Tu formulario caducó o se envió desde otro sitio (falta el código de "
                "seguridad del formulario)") in html
        assert "CSRF token" not in html
    finally:
        with app.app_context():
            db.engine.dispose()
