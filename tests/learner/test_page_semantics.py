"""What the learner's pages say to assistive technology: the title names the situation, the
provider's texts that stay in another language carry it, and the running exam names its
proctor."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import refresh

from proctor_web.extensions import db
from proctor_web.models import utcnow

ENCODED = "course-v1%3ATestX%2BT101%2B2026"
CONTENT = "/static/sample-exam/index.html"


@pytest.fixture
def setup(factory):
    factory.course()
    data = {
        "learner": factory.learner(),
        "timed": factory.exam("timed", content_id="timed-1", content_url=CONTENT),
        "proctored": factory.exam("proctored", content_id="proctored-1", content_url=CONTENT),
    }
    db.session.commit()
    return data


def _title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def _h1(html: str) -> str:
    found = re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert len(found) == 1, found
    return re.sub(r"<[^>]+>", "", found[0]).strip()


def test_each_step_has_its_own_title_led_by_its_heading(setup, sign_in, client):
    sign_in(setup["learner"])
    url = f"/courses/{ENCODED}/exams/timed-1"
    titles = []
    for action in (None, "enter", "stop", "submit"):
        if action:
            assert client.post(url, data={"action": action}).status_code == 303
        html = client.get(url).get_data(as_text=True)
        title = _title(html)
        heading = _h1(html)
        assert 'id="page-title" tabindex="-1"' in html  # focus-heading.js can focus it
        if action == "enter":
            assert title.startswith("Exam in progress: ")
        else:
            assert title.startswith(heading)
        titles.append(title)
    assert len(set(titles)) == 4, titles


class _EnglishOnlyProvider:
    """The mock, answering its steps and rules in English whatever it is asked."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def get_proctoring_config(self, locale="en"):
        config = self._inner.get_proctoring_config("en")
        return {**config, "language": "en"}


def test_provider_texts_in_another_language_carry_their_lang(app, setup, factory, sign_in,
                                                             client, monkeypatch):
    registry = app.extensions["proctor_backends"]
    monkeypatch.setitem(registry._backends, "mock",
                        _EnglishOnlyProvider(registry._backends["mock"]))
    factory.attempt(setup["proctored"], setup["learner"], "created")
    db.session.commit()
    sign_in(setup["learner"])
    spanish = client.get(f"/courses/{ENCODED}/exams/proctored-1?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in spanish
    assert '<ol class="steps" lang="en">' in spanish
    refresh()  # the test's app context outlives the request: forget its cached locale
    english = client.get(f"/courses/{ENCODED}/exams/proctored-1?lang=en").get_data(as_text=True)
    assert '<ol class="steps">' in english  # same language as the page: nothing to mark


def test_the_running_exam_names_its_proctor_and_ends_without_scripts(setup, factory, sign_in,
                                                                    client):
    factory.attempt(setup["proctored"], setup["learner"], "started")
    db.session.commit()
    sign_in(setup["learner"])
    html = client.get(f"/courses/{ENCODED}/exams/proctored-1").get_data(as_text=True)
    assert "Proctored by Mock Proctoring Service" in html
    assert re.search(r'id="timer-end"><span class="visually-hidden">Your exam ends at ', html)
    assert 'data-action="stop"' in html
    timed = client.get(f"/courses/{ENCODED}/exams/timed-1").get_data(as_text=True)
    assert "Proctored by" not in timed


def test_practice_exams_never_say_the_recording_is_reviewed(setup, factory, sign_in, client):
    practice = factory.exam("practice", content_id="practice-1", content_url=CONTENT,
                            backend="mock", is_proctored=False)
    factory.attempt(practice, setup["learner"], "ready_to_submit",
                    started_at=utcnow() - timedelta(minutes=5), allowed_time_limit_mins=60)
    db.session.commit()
    sign_in(setup["learner"])
    html = client.get(f"/courses/{ENCODED}/exams/practice-1").get_data(as_text=True)
    assert 'data-situation="ready_to_submit"' in html
    assert "nobody reviews it" in html, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))[:1500]
    assert "sent for review" not in html and "reviewed" not in html


def test_the_onboarding_exam_is_an_identity_check_not_a_quiz(setup, factory, sign_in, client):
    onboarding = factory.exam("onboarding", content_id="onboarding-1")
    factory.attempt(onboarding, setup["learner"], "started",
                    started_at=utcnow() - timedelta(minutes=1), allowed_time_limit_mins=60,
                    taking_as_proctored=True)
    db.session.commit()
    sign_in(setup["learner"])
    html = client.get(f"/courses/{ENCODED}/exams/onboarding-1").get_data(as_text=True)
    assert 'data-situation="started"' in html
    assert "Identity check in progress" in html and "identity document" in html
    assert "<iframe" not in html  # no questions
    assert "Finish the identity check" in html


def test_flow_steps_follow_the_situation():
    from proctor_web.models import ExamType
    from proctor_web.services.learner.situations import Situation, flow_for

    def states(kind, situation):
        return [(item.step.value, item.state) for item in flow_for(kind, situation)]

    assert states(ExamType.PROCTORED, Situation.READY_TO_START) == [
        ("set_up", "done"), ("system_check", "done"), ("rules", "current"),
        ("exam", "todo"), ("submitted", "todo"), ("review", "todo")]
    assert states(ExamType.PROCTORED, Situation.VERIFIED)[-1] == ("review", "current")
    # Nobody reviews practice: its flow ends at "submitted", reached by every end state.
    assert [s for s, _ in states(ExamType.PRACTICE, Situation.SUBMITTED)][-1] == "submitted"
    assert states(ExamType.PRACTICE, Situation.VERIFIED)[-1] == ("submitted", "current")
    assert flow_for(ExamType.TIMED, Situation.ENTRANCE) == []
    assert flow_for(ExamType.PROCTORED, Situation.STAFF_PREVIEW) == []
    assert flow_for(ExamType.PROCTORED, Situation.STARTED) == []  # the timer bar says it


def test_the_system_check_shows_one_state_at_a_time(setup, factory, sign_in, client):
    attempt = factory.attempt(setup["proctored"], setup["learner"], "created")
    db.session.commit()
    sign_in(setup["learner"])
    url = f"/courses/{ENCODED}/exams/proctored-1"
    before = client.get(url).get_data(as_text=True)
    assert re.search(r'<li class="flow-step flow-current" aria-current="step">\s*'
                     r'<span class="flow-number" aria-hidden="true">2</span>\s*'
                     r'<span class="flow-label">System check</span>', before)
    assert "Steps from Mock Proctoring Service" in before
    assert 'data-action="click_download_software"' in before
    assert "<progress" not in before and "Waiting for" not in before
    attempt.status = "download_software_clicked"
    db.session.commit()
    # (the test provider is ready at once on a read: render the waiting state directly)
    from flask import render_template

    from proctor_web.services.learner import pages

    with client.application.test_request_context(url):
        page = pages.exam_page(setup["proctored"], setup["learner"], attempt.created,
                               locale="en")
        page.context["provider"]["download_url"] = "https://provider.example/check"
        page.attempt.status = "download_software_clicked"
        waiting = render_template(page.template, page=page, exam=page.exam,
                                  attempt=page.attempt, payload=page.payload, page_url=url,
                                  **page.context)
    assert "Waiting for Mock Proctoring Service…" in waiting
    assert '<progress class="check-bar" aria-label="System check in progress">' in waiting
    assert 'id="software-link"' in waiting and 'id="check-again"' in waiting
    assert 'data-action="click_download_software"' not in waiting  # no second button
