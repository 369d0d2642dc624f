"""Invitations from the roster (on add, on import, sent again) and the confirmation page in
front of deactivating a learner; course staff only, CSRF on every form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import EmailMessage, User, utcnow
from proctor_web.services import courses, notifications
from tests.conftest import SAME_SITE_FORM
from tests.instructor.conftest import page_url
from tests.instructor.test_roster import membership
from tests.smtp_sink import set_password_link, subject


def invitations() -> list[EmailMessage]:
    return list(db.session.execute(select(EmailMessage).where(
        EmailMessage.template == "account_invitation").order_by(EmailMessage.id)).scalars())


def test_adding_a_learner_mails_an_invitation(dash, login_as, client, mail_inbox):  # noqa: F811
    login_as(dash.staff)
    answer = client.post(page_url(dash.course_id, "roster/add"), data={
        "username": "carol", "email": "carol@example.com", "full_name": "Carol C"},
        follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert ("carol is enrolled in this course. An invitation to choose a password was sent "
            "to carol@example.com.") in html
    assert "Send carol's invitation again" in html and "No password yet" in html

    notifications.send_pending(utcnow())
    (message,) = mail_inbox.messages
    assert message["To"] == "carol@example.com"
    assert subject(message) == "Choose your password for Exam proctoring"
    link = set_password_link(message).removeprefix("http://proctor.test")
    login_as(None)
    page = client.get(link)
    assert page.status_code == 200 and "Your username is carol." in page.get_data(as_text=True)


def test_no_invitation_without_an_address_or_with_a_password(dash, login_as, client):
    dash.learner.set_password("learner1-password")
    db.session.commit()
    login_as(dash.staff)
    answer = client.post(page_url(dash.course_id, "roster/add"), data={"username": "dora"},
                         follow_redirects=True)
    assert "They have no email address, so no invitation was sent" in answer.get_data(
        as_text=True)
    again = client.post(page_url(dash.course_id, "roster/add"),
                        data={"username": "learner1"}, follow_redirects=True)
    assert "learner1 is enrolled in this course." in again.get_data(as_text=True)
    assert invitations() == []


def test_an_import_invites_every_new_account(dash, login_as, client):
    login_as(dash.staff)
    csv = "ivy,ivy@example.com,Ivy\njon,,Jon\nkim,kim@example.com,Kim\n"
    answer = client.post(page_url(dash.course_id, "roster/import"),
                         data={"step": "import", "csv_text": csv}, follow_redirects=True)
    assert ("3 learner(s) imported and enrolled. 2 invitation(s) to choose a password were "
            "sent.") in answer.get_data(as_text=True)
    assert [m.recipient for m in invitations()] == ["ivy@example.com", "kim@example.com"]


def test_staff_send_an_invitation_again(dash, login_as, client):
    login_as(dash.staff)
    url = page_url(dash.course_id, f"roster/{dash.learner.id}/invite")
    answer = client.post(url, follow_redirects=True)
    assert answer.status_code == 200
    assert ("A new invitation to choose a password was sent to learner1@example.com."
            in answer.get_data(as_text=True))
    assert client.post(url).status_code == 302
    assert len(invitations()) == 2


@pytest.mark.parametrize("change, words", [
    (lambda u: u.set_password("chosen already"), "has already chosen a password"),
    (lambda u: setattr(u, "email", ""), "has no email address"),
])
def test_sending_again_is_refused_in_plain_words(dash, login_as, client, change, words):
    change(dash.learner)
    db.session.commit()
    login_as(dash.staff)
    answer = client.post(page_url(dash.course_id, f"roster/{dash.learner.id}/invite"))
    assert answer.status_code == 400 and words in answer.get_data(as_text=True)
    assert invitations() == []


def test_sending_again_is_for_this_courses_staff_only(dash, login_as, client, app,
                                                      monkeypatch):
    url = page_url(dash.course_id, f"roster/{dash.learner.id}/invite")
    for user in (dash.other_staff, dash.learner):
        login_as(user)
        assert client.post(url).status_code == 403
    login_as(dash.staff)
    assert client.post(page_url(dash.course_id, f"roster/{dash.staff.id}/invite")
                       ).status_code == 404
    assert client.post(page_url(dash.course_id, f"roster/{dash.outsider.id}/invite")
                       ).status_code == 404
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(url, headers=SAME_SITE_FORM).status_code == 400
    assert invitations() == []


# Deactivation, confirmed first ------------------------------------------------------------


def test_the_roster_links_to_a_confirmation_page(dash, login_as, client):
    login_as(dash.staff)
    html = client.get(page_url(dash.course_id, "roster")).get_data(as_text=True)
    confirm = page_url(dash.course_id, f"roster/{dash.learner.id}/deactivate")
    assert f'href="{confirm}">Deactivate learner1</a>' in html.replace(
        "course-v1%3ATestX", "course-v1:TestX")


def test_the_confirmation_says_what_deactivating_does_and_changes_nothing(dash, login_as,
                                                                        client):
    login_as(dash.staff)
    url = page_url(dash.course_id, f"roster/{dash.learner.id}/deactivate")
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ">Deactivate Learner1 (learner1@example.com)?</h1>" in html
    assert "is signed out at once, on every computer" in html
    assert "cannot sign in until they are enrolled again" in html
    assert "attempts, allowances, reviews and history are kept" in html
    assert '<button class="button primary danger" type="submit">Deactivate learner1</button>' \
        in html
    assert membership("learner1", dash.course_id).is_active
    assert db.session.get(User, dash.learner.id, populate_existing=True).is_active_account

    assert client.post(url).status_code == 302
    assert not membership("learner1", dash.course_id).is_active
    gone = client.get(url)
    assert gone.status_code == 400 and "is not enrolled any more" in gone.get_data(as_text=True)


def test_the_confirmation_says_when_the_account_stays(dash, login_as, client, now):
    courses.enroll(dash.learner, "course-v1:OtherX+O201+2026", now)
    db.session.commit()
    login_as(dash.staff)
    html = client.get(page_url(dash.course_id, f"roster/{dash.learner.id}/deactivate")
                      ).get_data(as_text=True)
    assert "Their account stays active for their other courses." in html
    assert "cannot sign in" not in html


def test_the_confirmation_is_for_this_courses_staff_only(dash, login_as, client):
    url = page_url(dash.course_id, f"roster/{dash.learner.id}/deactivate")
    for user in (dash.other_staff, dash.learner):
        login_as(user)
        assert client.get(url).status_code == 403
    login_as(dash.staff)
    for other in (dash.staff, dash.outsider):
        assert client.get(page_url(dash.course_id, f"roster/{other.id}/deactivate")
                          ).status_code == 404
    from proctor_web.services.courses import get_course
    get_course(dash.course_id).lti_context_id = "ctx-1"
    db.session.commit()
    assert client.get(url).status_code == 403
