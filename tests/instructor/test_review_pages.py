"""Reviews from the dashboard: a review page per attempt with the provider's comments,
incidents and recording, and verify / reject there; verify / reject of several attempts at
once from the list. Each decision is a staff change through the lifecycle."""

from __future__ import annotations

import html as html_lib
import re

from proctor_web.extensions import db
from proctor_web.models import Attempt, Review, ReviewComment
from proctor_web.services import attempts
from proctor_web.services.attempts import Actor, history_of
from tests.instructor.conftest import page_url
from tests.instructor.test_incidents import _incident

BULK = "attempts/review"


def plain(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)))


def _review(dash, now) -> None:
    review = Review(attempt_code=dash.submitted.attempt_code, review_status="Suspicious",
                    encrypted_video_url=b"https://video.example/rec/42",
                    student_id=dash.learner.id, exam_id=dash.proctored.id, created=now,
                    modified=now)
    review.comments.append(ReviewComment(comment="Second person in view", status="Suspicious",
                                         start_time=75, stop_time=92))
    db.session.add(review)


def test_review_page_shows_what_the_provider_found_and_decides_there(dash, login_as, client,
                                                                      session, now):
    _review(dash, now)
    _incident(dash.submitted, now, severity=0.8, reason_code="second_person",
              reason_msg="Someone else spoke")
    db.session.commit()
    login_as(dash.staff)
    url = page_url(dash.course_id, f"attempts/{dash.submitted.id}/review")
    html = client.get(url).get_data(as_text=True)
    text = plain(html)
    assert "Review of learner1's attempt on “Final Exam”" in text
    assert "Mock Proctoring Service" in text and "suspicious, received" in text
    assert 'href="https://video.example/rec/42"' in html
    assert "1:15" in text and "1:32" in text and "Second person in view" in text
    assert "second_person" in text and "Someone else spoke" in text and "0.80" in text
    assert 'name="decision" value="verify"' in html and 'name="decision" value="reject"' in html
    assert "Verify learner1&#39;s attempt" in html and "csrf_token" in html

    refused = client.post(url, data={"decision": "reject", "reason": " "})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in body and "say why" in body
    assert session.get(Attempt, dash.submitted.id).status == "submitted"

    done = client.post(url, data={"decision": "reject", "reason": "two people in the room"})
    assert done.status_code == 302 and done.location.endswith("/review")
    assert session.get(Attempt, dash.submitted.id).status == "rejected"
    last = history_of(dash.submitted.id)[-1]
    assert (last.action, last.actor_id, last.actor_kind, last.reason) == (
        "reject", dash.staff.id, "staff", "two people in the room")
    after = plain(client.get(url).get_data(as_text=True))
    assert "The attempt is now rejected." in after
    # Rejected already: only verify remains.
    assert "Reject learner1's attempt" not in after and "Verify learner1's attempt" in after
    # The attempt page links to it.
    detail = client.get(page_url(dash.course_id, f"attempts/{dash.submitted.id}"))
    assert f"attempts/{dash.submitted.id}/review" in detail.get_data(as_text=True)


def test_review_page_refuses_unknown_decisions_and_other_courses(dash, factory, login_as,
                                                                   client, session):
    running = factory.attempt(dash.timed, dash.learner, "started", started_minutes_ago=5)
    db.session.commit()
    login_as(dash.staff)
    url = page_url(dash.course_id, f"attempts/{dash.submitted.id}/review")
    bad = client.post(url, data={"decision": "delete", "reason": "x"})
    assert bad.status_code == 400 and "decision" in bad.get_data(as_text=True)
    assert session.get(Attempt, dash.submitted.id).status == "submitted"
    other = page_url(dash.course_id, f"attempts/{dash.other_attempt.id}/review")
    assert client.get(other).status_code == 404
    assert client.post(other, data={"decision": "verify", "reason": "x"}).status_code == 404
    # An attempt still running cannot be decided: no form, a sentence instead.
    started = client.get(page_url(dash.course_id, f"attempts/{running.id}/review"))
    text = plain(started.get_data(as_text=True))
    assert "cannot be verified or rejected while it is Started" in text
    assert 'name="decision"' not in started.get_data(as_text=True)
    for decision in ("verify", "reject"):  # (the lifecycle itself lets a reject end it)
        refused = client.post(page_url(dash.course_id, f"attempts/{running.id}/review"),
                              data={"decision": decision, "reason": "looks fine"})
        assert refused.status_code == 400
        assert "Only finished attempts" in refused.get_data(as_text=True)
        assert session.get(Attempt, running.id).status == "started"
    login_as(dash.other_staff)
    assert client.get(url).status_code == 403


def test_review_decision_needs_the_csrf_token(app, dash, login_as, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login_as(dash.staff)
        response = client.post(page_url(dash.course_id, f"attempts/{dash.submitted.id}/review"),
                               data={"decision": "verify", "reason": "ok"})
        assert response.status_code == 400
        response = client.post(page_url(dash.course_id, BULK),
                               data={"decision": "verify", "reason": "ok",
                                     "attempt_ids": [dash.submitted.id]})
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.get(Attempt, dash.submitted.id).status == "submitted"


def test_list_offers_checkboxes_for_finished_attempts_only(dash, factory, login_as, client):
    running = factory.attempt(dash.timed, dash.learner, "started", started_minutes_ago=5)
    db.session.commit()
    login_as(dash.staff)
    html = client.get(page_url(dash.course_id, "attempts")).get_data(as_text=True)
    boxes = re.findall(r'<input type="checkbox" name="attempt_ids" value="(\d+)" '
                       r'form="bulk-review" aria-label="([^"]+)"', html)
    ids = {int(value) for value, _label in boxes}
    assert ids == {dash.submitted.id, dash.errored.id} and running.id not in ids
    assert "Choose learner1 on “Final Exam”" in {label for _v, label in boxes}
    assert 'id="bulk-review"' in html and 'name="list_query"' in html


def test_bulk_verify_changes_each_attempt_through_the_lifecycle(dash, factory, login_as,
                                                                  client, session):
    third = factory.attempt(dash.timed, dash.learner2, "second_review_required",
                            started_minutes_ago=50)
    db.session.commit()
    login_as(dash.staff)
    response = client.post(page_url(dash.course_id, BULK), data={
        "decision": "verify", "reason": "checked the recordings",
        "attempt_ids": [dash.submitted.id, third.id], "list_query": "q=learner&sort=oldest"})
    assert response.status_code == 302
    assert response.location.endswith("/attempts?q=learner&sort=oldest")
    for attempt_id in (dash.submitted.id, third.id):
        assert session.get(Attempt, attempt_id).status == "verified"
        last = history_of(attempt_id)[-1]
        assert (last.action, last.actor_id, last.reason) == (
            "verify", dash.staff.id, "checked the recordings")
    listed = client.get(response.location).get_data(as_text=True)
    assert "2 attempts verified." in listed


def test_bulk_reports_each_attempt_it_could_not_change_in_plain_words(dash, factory, login_as,
                                                                       client, session, now):
    running = factory.attempt(dash.timed, dash.learner, "started", started_minutes_ago=5)
    gone = factory.attempt(dash.onboarding, dash.learner2, "submitted", started_minutes_ago=5)
    gone_id = gone.id
    attempts.remove_attempt(gone, Actor.staff(dash.staff), now, "reset")
    db.session.commit()
    login_as(dash.staff)
    response = client.post(page_url(dash.course_id, BULK), data={
        "decision": "reject", "reason": "notes on the desk",
        "attempt_ids": [dash.submitted.id, running.id, gone_id, dash.other_attempt.id]})
    assert response.status_code == 200  # one done
    text = plain(response.get_data(as_text=True))
    assert "1 of 4 chosen attempts changed" in text
    assert "Rejected learner1's attempt on “Final Exam”." in text
    assert (f"Not rejected: learner1's attempt on “{dash.timed.exam_name}” is Started. "
            "Only finished attempts that are not rejected yet can be rejected.") in text
    assert f"Attempt {gone_id} is not in this course any more" in text
    assert f"Attempt {dash.other_attempt.id} is not in this course any more" in text
    assert session.get(Attempt, dash.submitted.id).status == "rejected"
    assert session.get(Attempt, running.id).status == "started"
    assert session.get(Attempt, dash.other_attempt.id).status == "submitted"
    # The reason typed stays in the form, and the chosen boxes stay ticked.
    html = response.get_data(as_text=True)
    assert ">notes on the desk</textarea>" in html


def test_bulk_form_refused_as_a_whole_says_why(dash, login_as, client, session):
    login_as(dash.staff)
    url = page_url(dash.course_id, BULK)
    no_reason = client.post(url, data={"decision": "verify", "reason": "",
                                       "attempt_ids": [dash.submitted.id]})
    assert no_reason.status_code == 400
    html = no_reason.get_data(as_text=True)
    assert 'id="bulk-error"' in html and "say why" in html
    assert re.search(rf'value="{dash.submitted.id}" form="bulk-review" aria-label="[^"]+" checked',
                     html)
    nothing = client.post(url, data={"decision": "verify", "reason": "ok"})
    assert nothing.status_code == 400 and "Choose at least one attempt." in nothing.get_data(
        as_text=True)
    for bad in ({"attempt_ids": ["x"]}, {"attempt_ids": [dash.submitted.id], "decision": "nuke"},
                {"attempt_ids": [str(i) for i in range(1, 300)]}):
        data = {"decision": "verify", "reason": "ok", **bad}
        assert client.post(url, data=data).status_code == 400
    assert session.get(Attempt, dash.submitted.id).status == "submitted"
