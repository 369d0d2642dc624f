"""The pages that set a password from an emailed link, and "Forgot your password?": field
errors in plain words, a page that explains every refused link (4xx, never 500), sign-in
after saving, CSRF, and one neutral answer whoever asks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import EmailMessage, User, utcnow
from proctor_web.services import accounts, notifications, password_links
from proctor_web.services.password_links import LinkKind
from tests.conftest import SAME_SITE_FORM
from tests.smtp_sink import set_password_link


@pytest.fixture
def newbie(factory):
    user = factory.learner(username="newbie", email="newbie@example.org")
    db.session.commit()
    return user


def link_for(user: User, kind: LinkKind = LinkKind.INVITATION, age: timedelta = timedelta()):
    return "/password/set/" + password_links.make_token(user, kind, utcnow() - age)


def fresh(user: User) -> User:
    return db.session.get(User, user.id, populate_existing=True)


def choose(client, url: str, password: str, confirmation: str | None = None, **headers):
    g.pop("_login_user", None)  # requests share the test's app context
    return client.post(url, data={"password": password,
                                  "confirmation": password if confirmation is None
                                  else confirmation}, headers=headers)


def test_the_sign_in_page_links_to_forgot_password(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<a href="/password/forgot">Forgot your password?</a>' in html


def test_an_invitation_sets_the_password_and_signs_in(client, newbie):
    url = link_for(newbie)
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Welcome: choose your password" in html and "Your username is newbie." in html
    assert 'autocomplete="new-password"' in html

    saved = choose(client, url, "a long passphrase")
    assert saved.status_code == 302 and saved.headers["Location"] == "/"
    g.pop("_login_user", None)
    home = client.get("/").get_data(as_text=True)
    assert "Signed in as newbie" in home
    assert "Your password is saved and you are signed in." in home
    assert accounts.authenticate("newbie", "a long passphrase").id == newbie.id

    again = client.get(url)
    assert again.status_code == 410
    assert "This link was already used" in again.get_data(as_text=True)
    assert choose(client, url, "taken over now").status_code == 410
    assert accounts.authenticate("newbie", "a long passphrase").id == newbie.id


@pytest.mark.parametrize("password, confirmation, field, words", [
    ("short", None, "password", "Your password is too short: use at least 8 characters."),
    ("newbie", None, "password", "Your password is too short"),
    ("newbie@example.org", None, "password", "must not be your username or your email"),
    ("long enough", "long enough!", "confirmation", "The two passwords are not the same"),
])
def test_refused_passwords_are_shown_next_to_their_field(client, newbie, password,
                                                         confirmation, field, words):
    url = link_for(newbie)
    answer = choose(client, url, password, confirmation)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    error = html.split(f'<p class="field-error" id="{field}-error">')[1].split("</p>")[0]
    assert words in error
    assert 'aria-invalid="true"' in html and f"{field}-error" in html.split(
        f'id="{field}"')[1].split(">")[0]
    assert 'role="alert"' in html
    assert fresh(newbie).password_hash is None
    assert client.get(url).status_code == 200  # the link still works


@pytest.mark.parametrize("make_url, status, title, advice", [
    (lambda u: "/password/set/garbage", 404, "This link does not work",
     "copy the whole address"),
    (lambda u: link_for(u)[:-4], 404, "This link does not work", "Ask for a new link"),
    (lambda u: link_for(u, age=timedelta(days=7, minutes=1)), 410, "This link has expired",
     "ask your course team to send you a new invitation"),
    (lambda u: link_for(u, LinkKind.RESET, age=timedelta(hours=3, minutes=1)), 410,
     "This link has expired", "ask for a new link"),
])
def test_refused_links_explain_what_happened(client, newbie, make_url, status, title, advice):
    url = make_url(newbie)
    for answer in (client.get(url), choose(client, url, "a long passphrase")):
        assert answer.status_code == status
        html = answer.get_data(as_text=True)
        assert f"<h1>{title}</h1>" in html and advice in html
        assert 'href="/password/forgot"' in html
    assert fresh(newbie).password_hash is None


def test_a_deactivated_account_gets_403(client, newbie, now):
    url = link_for(newbie)
    accounts.set_active(newbie, False, now)
    db.session.commit()
    answer = client.get(url)
    assert answer.status_code == 403
    assert "This account is deactivated" in answer.get_data(as_text=True)


def test_setting_a_password_needs_the_csrf_token(client, newbie, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    url = link_for(newbie)
    assert choose(client, url, "a long passphrase", **SAME_SITE_FORM).status_code == 400
    answer = client.post("/password/forgot", data={"identifier": "newbie"},
                         headers=SAME_SITE_FORM)
    assert answer.status_code == 400
    assert fresh(newbie).password_hash is None
    assert db.session.execute(select(EmailMessage)).first() is None


def test_forgot_password_answers_the_same_whoever_asks(client, newbie, mail_inbox):  # noqa: F811
    form = client.get("/password/forgot").get_data(as_text=True)
    assert 'name="identifier"' in form and 'autocomplete="username"' in form

    known = client.post("/password/forgot", data={"identifier": "newbie"})
    unknown = client.post("/password/forgot", data={"identifier": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert "If an account has this username or email address" in known.get_data(as_text=True)

    notifications.send_pending(utcnow())  # if delivery after the response has not yet
    (message,) = mail_inbox.messages
    assert message["To"] == "newbie@example.org"
    url = set_password_link(message).removeprefix("http://proctor.test")
    page = client.get(url).get_data(as_text=True)
    assert "<h1>Choose a new password</h1>" in page
    assert choose(client, url, "my new passphrase").status_code == 302
    assert accounts.authenticate("newbie", "my new passphrase").id == newbie.id


def test_forgot_password_without_an_answer_is_refused(client):
    answer = client.post("/password/forgot", data={"identifier": "  "})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "Enter your username or your email address." in html
    assert 'aria-invalid="true"' in html
