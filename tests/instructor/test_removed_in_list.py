"""After a reset the attempts list still shows the removed attempt, struck through, with who
removed it and when; buttons say what they do and to whom."""

from __future__ import annotations

import re

from flask_babel import refresh

from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import attempts
from proctor_web.services.attempts import Actor
from tests.instructor.conftest import page_url


def removed_table(html: str) -> str:
    assert 'class="attempts removed-attempts stack"' in html, "no removed attempts shown"
    return html.split('class="attempts removed-attempts stack"')[1].split("</table>")[0]


def test_a_reset_attempt_stays_in_the_list_struck_through_with_who_and_when(
        dash, login_as, client):
    login_as(dash.staff)
    attempt_id = dash.submitted.id
    done = client.post(page_url(dash.course_id, f"attempts/{attempt_id}/reset"),
                       data={"reason": "fire alarm"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    table = removed_table(html)
    assert re.search(rf'<del><a href="[^"]*/attempts/{attempt_id}">learner1</a></del>', table)
    assert "<del>Final Exam</del>" in table and "<del>Submitted</del>" in table
    assert "by teacher" in table and "fire alarm" in table and "<time datetime=" in table
    # The archived attempt it links to opens (read-only).
    assert client.get(page_url(dash.course_id, f"attempts/{attempt_id}")).status_code == 200


def test_removed_attempts_follow_the_search_and_hide_under_a_status_filter(
        dash, login_as, client, now):
    for attempt in (dash.submitted, dash.errored):
        attempts.remove_attempt(attempt, Actor.staff(dash.staff), now, "tidy up")
    attempts.remove_attempt(dash.other_attempt, Actor.staff(dash.other_staff), now, "other")
    db.session.commit()
    login_as(dash.staff)
    table = removed_table(client.get(page_url(dash.course_id, "attempts")).get_data(as_text=True))
    assert "learner1" in table and "learner2" in table
    assert "outsider" not in table  # another course's removal
    searched = removed_table(client.get(page_url(dash.course_id, "attempts?q=learner2"))
                             .get_data(as_text=True))
    assert "learner2" in searched and "learner1" not in searched
    by_status = client.get(page_url(dash.course_id, "attempts?status=submitted")).get_data(
        as_text=True)
    assert "removed-attempts" not in by_status


def test_an_automatic_removal_says_so(dash, login_as, client):
    attempts.remove_attempt(dash.errored, Actor.system("registration"), utcnow(),
                            "the provider refused the registration")
    db.session.commit()
    login_as(dash.staff)
    table = removed_table(client.get(page_url(dash.course_id, "attempts")).get_data(as_text=True))
    assert "automatically" in table and "by " not in table


def test_buttons_name_the_action_and_the_learner(dash, login_as, client):
    login_as(dash.staff)
    detail = client.get(page_url(dash.course_id, f"attempts/{dash.submitted.id}")).get_data(
        as_text=True)
    for words in ("Reset learner1&#39;s attempt", "Verify learner1&#39;s attempt",
                  "Reject learner1&#39;s attempt"):
        assert words in detail
    confirm = client.get(page_url(dash.course_id, f"attempts/{dash.submitted.id}/reset"))
    assert re.search(r'<button class="button primary" type="submit">Reset learner1&#39;s attempt'
                     r"</button>", confirm.get_data(as_text=True))
    refresh()  # requests share the test's app context, where the locale is kept
    spanish = client.get(page_url(dash.course_id, f"attempts/{dash.errored.id}/resume?lang=es"))
    assert "Permitir que learner2 reanude" in spanish.get_data(as_text=True)
