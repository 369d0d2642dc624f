"""The learner's pages over HTTP: URLs, forms without JavaScript, content gating, errors."""

from __future__ import annotations

import re

import pytest

from proctor_web.extensions import db
from proctor_web.models import Attempt, utcnow
from proctor_web.services import attempts

ENCODED = "course-v1%3ATestX%2BT101%2B2026"
CONTENT = "/static/sample-exam/index.html"


@pytest.fixture
def now():
    return utcnow()


@pytest.fixture
def setup(factory):
    factory.course(allow_proctoring_opt_out=True, proctoring_escalation_email="help@c.example")
    data = {
        "learner": factory.learner(),
        "timed": factory.exam("timed", content_id="timed-1", content_url=CONTENT),
        "proctored": factory.exam("proctored", content_id="proctored-1", content_url=CONTENT),
    }
    db.session.commit()
    return data


def situation(response) -> str:
    match = re.search(r'data-situation="([a-z_]+)"', response.get_data(as_text=True))
    return match.group(1) if match else ""


def post(client, content_id, action):
    return client.post(f"/courses/{ENCODED}/exams/{content_id}", data={"action": action})


@pytest.mark.parametrize("path", [
    f"/courses/{ENCODED}/exams/timed-1",
    "/courses/course-v1:TestX+T101+2026/exams/timed-1",
    "/courses/course-v1%3ATestX+T101+2026/exams/timed-1",
])
def test_course_ids_survive_url_encoding(setup, sign_in, client, path):
    sign_in(setup["learner"])
    response = client.get(path)
    assert response.status_code == 200
    assert situation(response) == "entrance"


def test_unknown_exam_is_404_and_anonymous_is_sent_to_sign_in(setup, sign_in, client):
    response = client.get(f"/courses/{ENCODED}/exams/timed-1")
    assert response.status_code == 302 and "/login?next=" in response.location
    sign_in(setup["learner"])
    assert client.get(f"/courses/{ENCODED}/exams/nope").status_code == 404


def test_timed_exam_with_forms_only(setup, sign_in, client):
    sign_in(setup["learner"])
    page = client.get(f"/courses/{ENCODED}/exams/timed-1")
    assert CONTENT not in page.get_data(as_text=True)
    response = post(client, "timed-1", "enter")
    assert response.status_code == 303
    assert response.location == f"/courses/{ENCODED}/exams/timed-1"
    started = client.get(response.location)
    html = started.get_data(as_text=True)
    assert situation(started) == "started" and f'src="{CONTENT}"' in html
    assert 'role="status" aria-live="polite"' in html
    for action, expected in [("stop", "ready_to_submit"), ("start", "started"),
                             ("stop", "ready_to_submit"), ("submit", "submitted")]:
        assert post(client, "timed-1", action).status_code == 303
        assert situation(client.get(f"/courses/{ENCODED}/exams/timed-1")) == expected
    assert CONTENT not in client.get(f"/courses/{ENCODED}/exams/timed-1").get_data(as_text=True)


def test_illegal_action_shows_a_clear_400_page(setup, sign_in, client):
    sign_in(setup["learner"])
    response = post(client, "timed-1", "submit")
    assert response.status_code == 400
    assert "You have not begun this exam yet." in response.get_data(as_text=True)
    unknown = post(client, "timed-1", "teleport")
    assert unknown.status_code == 400 and "Unknown action" in unknown.get_data(as_text=True)


def test_proctored_exam_with_forms_only(setup, sign_in, client):
    sign_in(setup["learner"])
    post(client, "proctored-1", "enter")
    page = client.get(f"/courses/{ENCODED}/exams/proctored-1")
    assert situation(page) == "instructions"
    assert "Start the system check" in page.get_data(as_text=True)
    post(client, "proctored-1", "click_download_software")
    # The test provider is ready at once; the next read moves the attempt on.
    assert situation(client.get(f"/courses/{ENCODED}/exams/proctored-1")) == "ready_to_start"
    post(client, "proctored-1", "start")
    assert situation(client.get(f"/courses/{ENCODED}/exams/proctored-1")) == "started"


def test_decline_confirmation_then_decline(setup, sign_in, client):
    sign_in(setup["learner"])
    confirm = client.get(f"/courses/{ENCODED}/exams/proctored-1?confirm=decline")
    assert situation(confirm) == "confirm_decline"
    post(client, "proctored-1", "decline")
    assert situation(client.get(f"/courses/{ENCODED}/exams/proctored-1")) == "declined"


def test_staff_preview_and_no_attempts_as_a_learner(setup, factory, sign_in, client):
    staff = factory.course_staff()
    db.session.commit()
    sign_in(staff)
    assert situation(client.get(f"/courses/{ENCODED}/exams/timed-1")) == "staff_preview"
    response = post(client, "timed-1", "enter")
    assert response.status_code == 403
    assert db.session.query(Attempt).filter_by(user_id=staff.id).count() == 0


def test_enrollment_missing(setup, factory, sign_in, client):
    outsider = factory.user()
    db.session.commit()
    sign_in(outsider)
    assert situation(client.get(f"/courses/{ENCODED}/exams/timed-1")) == "enrollment_missing"
    assert post(client, "timed-1", "enter").status_code == 403


def test_provider_down_shows_a_retry_page_and_keeps_nothing(setup, sign_in, client, app,
                                                            monkeypatch):
    from proctor_web.backends.rest import RestBackend

    # A real REST backend pointed at a port nobody listens on.
    down = RestBackend("down", {"base_url": "http://127.0.0.1:9", "client_id": "x",
                                "client_secret": "y", "timeout_seconds": 2})
    registry = app.extensions["proctor_backends"]
    monkeypatch.setitem(registry._backends, "down", down)
    setup["proctored"].backend = "down"
    db.session.commit()
    sign_in(setup["learner"])
    response = post(client, "proctored-1", "enter")
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "The proctoring service is not responding" in html
    assert 'name="action" value="enter"' in html
    assert attempts.current_attempt(setup["proctored"], setup["learner"]) is None
    assert db.session.query(Attempt).count() == 0


def _csp_directive(response, name: str) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(part.strip() for part in policy.split(";") if part.strip().startswith(name))


def test_csp_frame_ancestors(setup, sign_in, client, app, monkeypatch):
    sign_in(setup["learner"])
    plain = client.get(f"/courses/{ENCODED}/exams/timed-1")
    assert _csp_directive(plain, "frame-ancestors") == "frame-ancestors 'self'"
    assert plain.headers["X-Frame-Options"] == "SAMEORIGIN"
    monkeypatch.setitem(app.config, "FRAME_ANCESTORS", ["https://lms.example.org"])
    embedded = client.get(f"/courses/{ENCODED}/exams/timed-1")
    assert _csp_directive(embedded, "frame-ancestors") == (
        "frame-ancestors 'self' https://lms.example.org")
    assert "X-Frame-Options" not in embedded.headers
    assert '"frame_ancestors": ["https://lms.example.org"]' in embedded.get_data(as_text=True)


def test_frame_ancestors_make_cookies_cross_site():
    from proctor_web.config import build_config

    config = build_config("/tmp", {"TESTING": True, "FRAME_ANCESTORS": ["https://lms.example"]},
                          environ={})
    assert config["SESSION_COOKIE_SAMESITE"] == "None" and config["SESSION_COOKIE_SECURE"]


def test_ready_to_resume_page_resumes(setup, factory, sign_in, client):
    errored = factory.attempt(setup["timed"], setup["learner"], "error", ready_to_resume=True,
                              time_remaining_seconds=600)
    db.session.commit()
    sign_in(setup["learner"])
    assert situation(client.get(f"/courses/{ENCODED}/exams/timed-1")) == "ready_to_resume"
    post(client, "timed-1", "resume")
    newest = attempts.current_attempt(setup["timed"], setup["learner"])
    assert newest.id != errored.id and newest.time_remaining_seconds == 600


def test_resumed_timed_exam_entrance_offers_the_saved_time(setup, factory, sign_in, client, now):
    learner = setup["learner"]
    errored = factory.attempt(setup["timed"], learner, "error", resumed=True,
                              time_remaining_seconds=12 * 60 + 30)
    factory.attempt(setup["timed"], learner, "created",
                    time_remaining_seconds=errored.time_remaining_seconds)
    db.session.commit()
    sign_in(learner)
    html = client.get(f"/courses/{ENCODED}/exams/timed-1").get_data(as_text=True)
    assert "You will have 12 minutes to finish" in html


class _AttemptAwareProvider:
    """Wraps the mock backend: an attempt-specific download link, or a provider that is down."""

    def __init__(self, backend, down: bool) -> None:
        self._backend, self._down = backend, down

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def get_proctoring_config(self, locale="en"):
        from proctor_web.backends.base import ProviderUnavailable

        if self._down:
            raise ProviderUnavailable("provider unreachable")
        return self._backend.get_proctoring_config(locale)

    def get_attempt(self, exam_external_id, attempt_external_id, locale="en"):
        from proctor_web.backends.base import ProviderUnavailable

        if self._down:
            raise ProviderUnavailable("provider unreachable")
        return {"download_url": f"https://provider.example/check?attempt={attempt_external_id}",
                "instructions": ["Open the provider's check for this very attempt."]}

    def is_ready(self, *args):
        return False


@pytest.mark.parametrize("down", [False, True])
def test_setup_page_uses_the_attempts_own_link_and_survives_a_provider_outage(
    app, setup, factory, sign_in, client, monkeypatch, down
):
    registry = app.extensions["proctor_backends"]
    monkeypatch.setitem(registry._backends, "mock",
                        _AttemptAwareProvider(registry._backends["mock"], down))
    attempt = factory.attempt(setup["proctored"], setup["learner"], "created",
                              external_id="EXT-42")
    db.session.commit()
    sign_in(setup["learner"])
    response = client.get(f"/courses/{ENCODED}/exams/proctored-1")
    assert response.status_code == 200
    assert situation(response) == "instructions"
    html = response.get_data(as_text=True)
    assert ("https://provider.example/check?attempt=EXT-42" in html) is not down
    assert ("for this very attempt" in html) is not down
    assert attempt.id


def _card_text(response) -> str:
    html = response.get_data(as_text=True)
    card = html[html.index('<div class="card interstitial">'):html.index('id="page-alert"')]
    return " ".join(re.sub(r"<[^>]+>", " ", card).split())


#: What each language's onboarding page must say (an identity check: what happens, that it
#: is recorded to verify identity, what to bring) and what belongs to a proctored exam only.
ONBOARDING_WORDS = {
    "en": (("identity profile", "records a short session to verify your identity",
            "identity document", "camera", "There are no questions", "Start the identity check"),
           ("Rules", "timer", "You will have", "Start my exam")),
    "es": (("perfil de identidad", "grabará una sesión breve para verificar tu identidad",
            "documento de identidad", "cámara", "No hay preguntas",
            "Empezar la verificación de identidad"),
           ("Reglas", "temporizador", "Tendrás", "Empezar mi examen")),
}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_onboarding_ready_to_start_reads_as_an_identity_check_not_an_exam(
        setup, factory, sign_in, client, lang):
    factory.exam("onboarding", content_id="onboarding-1", content_url=CONTENT)
    db.session.commit()
    sign_in(setup["learner"])
    texts = {}
    for content_id in ("proctored-1", "onboarding-1"):
        post(client, content_id, "enter")
        post(client, content_id, "click_download_software")
        page = client.get(f"/courses/{ENCODED}/exams/{content_id}?lang={lang}")
        assert situation(page) == "ready_to_start", content_id
        texts[content_id] = _card_text(page)
    onboarding, proctored = texts["onboarding-1"], texts["proctored-1"]
    wanted, exam_only = ONBOARDING_WORDS[lang]
    for words in wanted:
        assert words in onboarding, (words, onboarding)
    for words in exam_only:
        assert words in proctored, (words, proctored)  # the proctored page does say it
        assert words not in onboarding, (words, onboarding)


@pytest.mark.parametrize("status", [None, "ready_to_start", "started", "submitted"])
def test_exam_page_reads_each_row_once(setup, factory, sign_in, client, count_queries,
                                       status):
    """The learner's exam page: the user, the exam, the membership, the course, the attempt
    with its timer facts and the review policy, each read once; a page that changed nothing
    commits nothing, so the template reads no row again (before: 11 statements, the
    membership, attempt, exam, user and course each twice)."""
    from flask import g

    if status is not None:
        factory.attempt(setup["proctored"], setup["learner"], status,
                        started_minutes_ago=1 if status != "ready_to_start" else None)
    db.session.commit()
    sign_in(setup["learner"])
    g.pop("_login_user", None)
    db.session.expunge_all()  # as in production: a request starts with no rows loaded
    with count_queries() as counted:
        response = client.get(f"/courses/{ENCODED}/exams/proctored-1")
    assert response.status_code == 200
    statements = [" ".join(statement.split()) for statement in counted.statements]
    # No attempt yet: the learner's extra time is read on its own instead of with the attempt.
    assert len(statements) == len(set(statements)) <= (7 if status is None else 6), [
        statement[:90] for statement in statements]
    assert all(statement.lstrip().upper().startswith("SELECT")
               for statement in counted.statements), counted.statements
