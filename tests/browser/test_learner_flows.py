"""A learner takes exams in a real browser, from the entrance to the final page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import attempts, courses, exams
from tests.browser.conftest import DEMO_COURSE_ID, end_exam, start_system_check

ENCODED_COURSE = "course-v1%3ADemoX%2BPROC101%2B2026"


def exam_url(live_server, content_id: str) -> str:
    return live_server.path(f"/courses/{ENCODED_COURSE}/exams/{content_id}")


def situation(page) -> str:
    return page.locator("article.exam-page").get_attribute("data-situation")


def test_timed_exam_from_entrance_to_submitted(live_server, page, login, shot, fresh_learner):
    username, password = fresh_learner()
    login(page, username, password)
    page.goto(exam_url(live_server, "timed-exam"))
    assert situation(page) == "entrance"
    expect(page.get_by_role("heading", level=1)).to_contain_text("Timed Midterm")
    shot(page, "timed-01-entrance")

    page.get_by_role("button", name="Start my timed exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    expect(page.frame_locator("iframe.exam-content").get_by_role("heading", level=1)).to_have_text(
        "Sample exam: Proctoring 101")
    expect(page.locator("#timer-value")).to_have_text(re.compile(r"^0:(29|30):\d\d$"))
    expect(page.locator("#timer-toggle")).to_be_visible()
    shot(page, "timed-02-started")

    page.get_by_role("button", name="End my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation",
                                                               "ready_to_submit")
    shot(page, "timed-03-ready-to-submit")
    page.get_by_role("button", name="No, go back to my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    end_exam(page)
    page.get_by_role("button", name="Yes, submit my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "submitted")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your exam has been submitted")
    assert page.locator("iframe").count() == 0
    shot(page, "timed-04-submitted")


def test_proctored_exam_with_the_mock_backend(live_server, page, login, shot, fresh_learner):
    username, password = fresh_learner()
    login(page, username, password)
    page.goto(exam_url(live_server, "proctored-exam"))
    assert situation(page) == "entrance"
    shot(page, "proctored-01-entrance")

    page.get_by_role("button", name="Continue to the proctored exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "instructions")
    expect(page.get_by_role("list").filter(has_text="mock proctoring software")).to_be_visible()
    shot(page, "proctored-02-instructions")

    # The system check opens the provider's software in a new tab and records the click.
    with page.context.expect_page() as software:
        start_system_check(page)
    software_page = software.value
    software_page.wait_for_load_state()
    expect(software_page.get_by_role("heading", level=1)).to_have_text("Mock proctoring software")
    shot(software_page, "proctored-03-system-check")
    software_page.close()

    # The mock provider reports ready a second later; the page moves on by itself.
    expect(page.locator("article.exam-page")).to_have_attribute(
        "data-situation", "ready_to_start", timeout=20_000)
    expect(page.get_by_text("Closed book. One sheet of blank scratch paper")).to_be_visible()
    shot(page, "proctored-04-ready-to-start")

    page.get_by_role("button", name="Start my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    expect(page.locator("#timer-value")).to_have_text(re.compile(r"^(0:59|1:00):\d\d$"))
    shot(page, "proctored-05-started")

    end_exam(page)
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation",
                                                               "ready_to_submit")
    shot(page, "proctored-06-ready-to-submit")
    page.get_by_role("button", name="Yes, submit my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "submitted")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your proctored exam has been submitted")
    shot(page, "proctored-07-submitted")


def test_an_attempt_that_expires_while_the_page_is_open(live_server, page, login, shot,
                                                        fresh_learner):
    username, password = fresh_learner()
    with live_server.app.app_context():
        exam = exams.create_exam(DEMO_COURSE_ID, f"one-minute-{username}", {
            "exam_name": "One-minute quiz", "time_limit_mins": 1,
            "content_url": "/static/sample-exam/index.html"}, None, utcnow())
        db.session.commit()
        content_id = exam.content_id
    login(page, username, password)
    page.goto(exam_url(live_server, content_id))
    page.get_by_role("button", name="Start my timed exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")

    # Move the start back so that about 15 seconds remain, then reload once. The 1-minute
    # exam turns "low" at 12 s (20 %) and "critical" at 3 s (5 %).
    with live_server.app.app_context():
        user = courses.get_user(username)
        attempt = attempts.current_attempt(exams.find_exam(DEMO_COURSE_ID, content_id), user)
        attempt.started_at = utcnow() - timedelta(seconds=45)
        db.session.commit()
    page.reload()
    announcer = page.locator("#timer-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_text("")  # nothing is announced every second
    expect(page.locator("#timer")).to_have_attribute("data-state", "low", timeout=15_000)
    expect(announcer).to_have_text(re.compile(r"^\d+ seconds left\. Time is getting short\.$"))
    shot(page, "expiry-01-low")
    expect(page.locator("#timer")).to_have_attribute("data-state", "critical", timeout=15_000)
    expect(announcer).to_contain_text("will be submitted automatically")
    shot(page, "expiry-02-critical")
    expect(page.locator("article.exam-page")).to_have_attribute(
        "data-situation", "submitted", timeout=20_000)
    expect(page.get_by_text("Time ran out, so your answers were submitted automatically.")
           ).to_be_visible()
    shot(page, "expiry-03-submitted")
    with live_server.app.app_context():
        user = courses.get_user(username)
        attempt = attempts.current_attempt(exams.find_exam(DEMO_COURSE_ID, content_id), user)
        assert attempt.status == "submitted"
        assert attempt.completed_at == attempt.started_at + timedelta(minutes=1)


def test_pages_in_spanish(live_server, browser, shot, fresh_learner):
    username, password = fresh_learner()
    context = browser.new_context(locale="es-ES", extra_http_headers={"Accept-Language": "es"})
    page = context.new_page()
    try:
        page.goto(live_server.path("/login"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
        shot(page, "spanish-01-login")
        page.get_by_label("Nombre de usuario").fill(username)
        page.get_by_label("Contraseña").fill(password)
        page.get_by_role("button", name="Iniciar sesión").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Tus cursos")
        shot(page, "spanish-02-courses")

        page.goto(exam_url(live_server, "timed-exam"))
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Timed Midterm es un examen con tiempo límite")
        expect(page.get_by_text("Tendrás 30 minutos para terminar")).to_be_visible()
        shot(page, "spanish-03-timed-entrance")
        page.get_by_role("button", name="Empezar mi examen con tiempo límite").click()
        expect(page.get_by_role("heading", name="Tiempo restante")).to_be_visible()
        expect(page.get_by_text(re.compile(r"Tu examen termina el \d+ de [a-z]+ de 2026"))
               ).to_be_visible()
        toggle = page.get_by_role("button", name="Ocultar reloj")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")  # one label, pressed
        shot(page, "spanish-04-started-timer-hidden")
        page.get_by_role("button", name="Terminar mi examen").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "¿Seguro que quieres terminar tu examen?")
        shot(page, "spanish-05-ready-to-submit")
        page.get_by_role("button", name="Sí, entregar mi examen").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Tu examen se entregó")
        shot(page, "spanish-06-submitted")

        page.goto(exam_url(live_server, "proctored-exam"))
        page.get_by_role("button", name="Continuar con el examen supervisado").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Prepara tu sesión supervisada")
        shot(page, "spanish-07-instructions")
    finally:
        context.close()


def act(page, action: str):
    """Press the button of the page's form for ``action``, whatever the language."""
    page.locator(f"form.action-form[data-action='{action}'] button").first.click()


def wait_for(page, wanted: str, timeout: int = 5_000):
    expect(page.locator("article.exam-page")).to_have_attribute(
        "data-situation", wanted, timeout=timeout)


@pytest.mark.parametrize("content_id", ["practice-exam", "onboarding-exam"])
def test_practice_and_onboarding_exams_in_spanish(live_server, page, login, shot,
                                                  fresh_learner, content_id):
    """The demo's other two exam types, end to end, in Spanish."""
    username, password = fresh_learner()
    login(page, username, password)
    page.goto(exam_url(live_server, content_id) + "?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    wait_for(page, "entrance")
    shot(page, f"{content_id}-es-01-entrance")

    act(page, "enter")
    wait_for(page, "instructions")
    with page.context.expect_page() as software:
        start_system_check(page)
    software.value.close()
    wait_for(page, "ready_to_start", timeout=20_000)
    shot(page, f"{content_id}-es-02-ready-to-start")

    act(page, "start")
    wait_for(page, "started")
    expect(page.locator("#timer-value")).to_be_visible()
    shot(page, f"{content_id}-es-03-started")
    act(page, "stop")
    wait_for(page, "ready_to_submit")
    act(page, "submit")
    wait_for(page, "submitted")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading and "submitted" not in heading.lower()  # the Spanish page, not English
    assert page.locator("html").get_attribute("lang") == "es"
    shot(page, f"{content_id}-es-04-submitted")
