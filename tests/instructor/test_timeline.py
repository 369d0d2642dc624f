"""An attempt's history reads as sentences in the reader's language, never as codes."""

from __future__ import annotations

import re

import pytest
from flask import g
from flask_babel import force_locale, refresh

from proctor_web.blueprints.instructor import timeline
from proctor_web.extensions import db
from proctor_web.services import attempts
from proctor_web.services.attempts import TRANSITIONS, Action, Actor, ActorKind
from tests.instructor.conftest import page_url

CODE_LIKE = re.compile(r"\b[a-z]+_[a-z_]+\b|->|→")


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("action,from_status,to_status,kind,expected", [
    ("start", "ready_to_start", "started", "learner", "alice started the exam"),
    ("ready", "download_software_clicked", "ready_to_start", "provider",
     "Mock Proctoring Service reported the system check passed"),
    ("verify", "second_review_required", "verified", "staff", "sam (staff) verified the attempt"),
    ("click_download_software", "created", "download_software_clicked", "learner",
     "alice started the system check"),
    ("create", None, "created", "learner", "Attempt created when alice opened the exam"),
    ("create", "created", "onboarding_missing", "learner",
     "Mock Proctoring Service did not accept the attempt: Onboarding missing"),
    ("expire", "started", "timed_out", "system", "Time ran out; the attempt timed out"),
    ("set_status", "error", "submitted", "system",
     "An administrator changed the status from Error to Submitted"),
    ("someday_new_action", "started", "submitted", "learner",
     "The status changed from Started to Submitted"),
])
def test_sentences(app, action, from_status, to_status, kind, expected):
    name = "sam" if kind == "staff" else "alice"
    with app.test_request_context():
        assert timeline.sentence(action, from_status, to_status, kind, name,
                                 "Mock Proctoring Service") == expected


def test_every_action_of_every_actor_the_table_allows_has_a_sentence_in_english_and_spanish(
        app):
    """Whatever the lifecycle lets happen reads as words: no code, no arrow, no English left
    in the Spanish (each sentence differs from the English one)."""
    with app.test_request_context():
        for action, rule in TRANSITIONS.items():
            kinds = rule.actors | {ActorKind.SYSTEM}  # the lifecycle records system helpers too
            for kind in kinds:
                args = (action.value, "started", (rule.target or "started"), kind.value,
                        "alice", "Mock Proctoring Service")
                english = timeline.sentence(*args)
                assert not CODE_LIKE.search(english), (action, kind, english)
                with force_locale("es"):
                    spanish = timeline.sentence(*args)
                assert spanish != english, (action, kind, english)
                assert not CODE_LIKE.search(spanish), (action, kind, spanish)


def test_attempt_page_tells_the_history_in_words_with_staff_reasons(dash, login_as, client,
                                                                     now):
    attempt = dash.submitted
    attempts.apply_action(attempt, Action.VERIFY, Actor.staff(dash.staff), now,
                          "watched the whole recording")
    attempts.apply_action(attempt, Action.VERIFY, Actor.provider("mock"), now,
                          "mock review: passed")  # a late repeat: ignored
    db.session.commit()
    login_as(dash.staff)
    html = client.get(page_url(dash.course_id, f"attempts/{attempt.id}")).get_data(as_text=True)
    timeline_html = html.split('id="timeline-h"')[1].split("</section>")[0]
    text = plain(timeline_html)
    assert "teacher (staff) verified the attempt: watched the whole recording" in text
    assert "Mock Proctoring Service reviewed the attempt and verified it" in text
    assert "ignored" in text and "changed nothing" in text
    # Machine notes stay in English and say so.
    assert '<span lang="en">cannot verify an attempt that is verified</span>' in timeline_html
    assert "verify:" not in text and " by staff" not in text

    refresh()  # requests share the test's app context, where the locale and labels are kept
    g.pop("_dashboard_labels", None)
    spanish = client.get(page_url(dash.course_id, f"attempts/{attempt.id}?lang=es")).get_data(
        as_text=True)
    text = plain(spanish.split('id="timeline-h"')[1].split("</section>")[0])
    assert "teacher (equipo del curso) verificó el intento: watched the whole recording" in text
    assert "Servicio de supervisión simulado revisó el intento y lo verificó" in text
