"""Links that set a password (invitations and resets): signed, expiring, working once, and
their emails delivered to a real SMTP server on loopback, in the recipient's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select, text

from proctor_web.errors import BadRequest
from proctor_web.extensions import db
from proctor_web.models import EmailMessage
from proctor_web.services import accounts, notifications, password_links
from proctor_web.services.password_links import LinkKind, LinkProblem, LinkRefused
from tests.smtp_sink import part, set_password_link, subject

INVITE, RESET = LinkKind.INVITATION, LinkKind.RESET


def refused(token: str, now) -> LinkRefused:
    with pytest.raises(LinkRefused) as caught:
        password_links.check_token(token, now)
    return caught.value


def queued() -> list[EmailMessage]:
    return list(db.session.execute(select(EmailMessage).order_by(EmailMessage.id)).scalars())


def test_a_link_sets_the_password_once_and_ends_every_session(factory, now):
    user = factory.user("newbie")
    token = password_links.make_token(user, INVITE, now)
    link = password_links.check_token(token, now)
    assert link.user is user and link.kind == INVITE
    session_token = user.session_token

    password_links.set_password_from_link(token, "correct horse", "correct horse", now)

    assert accounts.authenticate("newbie", "correct horse") is user
    assert user.session_token != session_token
    used = refused(token, now)
    assert used.problem == LinkProblem.USED and used.status == 410
    with pytest.raises(LinkRefused):
        password_links.set_password_from_link(token, "another one", "another one", now)
    assert accounts.authenticate("newbie", "correct horse") is user


@pytest.mark.parametrize("kind, lifetime", [(INVITE, timedelta(days=7)),
                                            (RESET, timedelta(hours=3))])
def test_a_link_expires_after_its_lifetime(factory, now, kind, lifetime):
    user = factory.user()
    token = password_links.make_token(user, kind, now)
    second = timedelta(seconds=1)
    assert password_links.check_token(token, now + lifetime - second).user is user
    expired = refused(token, now + lifetime + second)
    assert expired.problem == LinkProblem.EXPIRED and expired.status == 410
    assert expired.kind == kind


def test_lifetimes_come_from_the_config(factory, now, app, monkeypatch):
    monkeypatch.setitem(app.config, "INVITATION_VALID_DAYS", 1)
    user = factory.user()
    token = password_links.make_token(user, INVITE, now)
    assert refused(token, now + timedelta(days=1, seconds=1)).problem == LinkProblem.EXPIRED


def test_tampered_and_foreign_tokens_are_refused(factory, now, app):
    user = factory.user()
    token = password_links.make_token(user, INVITE, now)
    payload, signature = token.rsplit(".", 1)
    # A character in the middle: the last one of unpadded base64 carries spare bits, and
    # changing only those leaves the signature's bytes (and so the token) valid.
    middle = len(signature) // 2
    flipped = (signature[:middle] + ("A" if signature[middle] != "A" else "B")
               + signature[middle + 1:])
    other_key = URLSafeSerializer("another-secret", salt=password_links.TOKEN_SALT)
    other_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else")
    data = other_key.loads_unsafe(token)[1]
    ours = URLSafeSerializer(app.config["SECRET_KEY"], salt=password_links.TOKEN_SALT)
    for bad in (f"{payload}.{flipped}", token[:-3], "not-a-token", "", other_key.dumps(data),
                other_salt.dumps(data), ours.dumps({**data, "u": 999999}),
                ours.dumps({**data, "k": "admin"}), ours.dumps(["a", "list"]),
                ours.dumps({**data, "t": "yesterday"})):
        problem = refused(bad, now)
        assert problem.problem == LinkProblem.INVALID and problem.status == 404, bad


def test_a_new_email_address_or_password_retires_earlier_links(factory, now):
    user = factory.user()
    by_address = password_links.make_token(user, RESET, now)
    user.email = "elsewhere@example.com"
    assert refused(by_address, now).problem == LinkProblem.USED
    by_password = password_links.make_token(user, RESET, now)
    accounts.change_password(user, "changed by the CLI", now)
    assert refused(by_password, now).problem == LinkProblem.USED


def test_a_deactivated_account_cannot_use_its_link(factory, now):
    user = factory.user()
    token = password_links.make_token(user, INVITE, now)
    accounts.set_active(user, False, now)
    inactive = refused(token, now)
    assert inactive.problem == LinkProblem.INACTIVE and inactive.status == 403


@pytest.mark.parametrize("password, confirmation, field, words", [
    ("", "", "password", "Enter a password."),
    ("short", "short", "password", "Your password is too short: use at least 8 characters."),
    ("x" * 257, "x" * 257, "password", "Your password is too long: use at most 256 characters."),
    ("Lea.Learner", "Lea.Learner", "password", "must not be your username"),
    ("lea@example.org", "lea@example.org", "password", "must not be your username or your email"),
    ("long enough", "long enuogh", "confirmation", "The two passwords are not the same"),
])
def test_password_rules_in_plain_words(factory, now, password, confirmation, field, words):
    user = factory.user("lea.learner", email="lea@example.org")
    token = password_links.make_token(user, INVITE, now)
    with pytest.raises(BadRequest) as caught:
        password_links.set_password_from_link(token, password, confirmation, now)
    assert caught.value.extra["field"] == field and words in caught.value.message
    assert user.password_hash is None
    assert password_links.check_token(token, now).user is user  # still usable


def test_reset_requests_mail_only_active_accounts_with_an_address(factory, now):
    factory.user("ann", email="Ann@Example.org")
    factory.user("twin", email="ann@example.org")
    factory.user("mute", email="")
    gone = factory.user("gone")
    accounts.set_active(gone, False, now)
    assert password_links.request_reset("nobody", now) == 0
    assert password_links.request_reset("mute", now) == 0
    assert password_links.request_reset("gone", now) == 0
    assert password_links.request_reset("  ", now) == 0
    assert queued() == []
    assert password_links.request_reset("ann", now) == 1
    assert password_links.request_reset("ANN@example.ORG", now) == 2  # both accounts
    assert [m.template for m in queued()] == ["password_reset"] * 3
    assert [m.recipient for m in queued()] == ["Ann@Example.org", "Ann@Example.org",
                                               "ann@example.org"]


def test_invitations_go_only_to_accounts_without_a_password(factory, now):
    staff = factory.user("teacher")
    assert password_links.send_invitation(factory.user("fresh"), staff, now) is not None
    assert password_links.send_invitation(factory.user("keyed", password="a password"),
                                          staff, now) is None
    assert password_links.send_invitation(factory.user("mute", email=""), staff, now) is None
    with pytest.raises(BadRequest, match="already chosen a password"):
        password_links.resend_invitation(courses_user("keyed"), staff, now)
    with pytest.raises(BadRequest, match="no email address"):
        password_links.resend_invitation(courses_user("mute"), staff, now)
    assert len(queued()) == 1


def courses_user(username: str):
    from proctor_web.services import courses

    return courses.find_user(username)


def test_the_invitation_reaches_the_learner_with_a_working_link(factory, now, mail_inbox,  # noqa: F811
                                                                app):
    staff = factory.user("teacher", full_name="Tess Teacher")
    user = factory.user("newbie", email="newbie@example.org", full_name="Nina Newbie")
    password_links.send_invitation(user, staff, now, "Chemistry 101")
    assert notifications.send_pending(now) == 1

    (message,) = mail_inbox.messages
    assert message["To"] == "newbie@example.org"
    assert subject(message) == "Choose your password for Exam proctoring"
    html = part(message, "text/html")
    assert "Hello Nina Newbie," in html
    assert "Tess Teacher enrolled you in Chemistry 101 on Exam proctoring." in html
    assert "Your username is newbie." in html
    assert "The link works once, for 7 days." in html
    link = set_password_link(message)
    assert link.startswith("http://proctor.test/password/set/")
    assert link in part(message, "text/plain")
    token = link.rsplit("/", 1)[1]
    assert password_links.check_token(token, now).user is user


def test_emails_are_in_the_recipients_language_else_the_sites(factory, now, mail_inbox,  # noqa: F811
                                                              app, monkeypatch):
    staff = factory.user("teacher")
    spanish = factory.user("sol", email="sol@example.org", full_name="Sol")
    spanish.locale = "es"
    password_links.send_invitation(spanish, staff, now, "Química")
    factory.user("ann", email="ann@example.org", full_name="Ann")
    password_links.request_reset("ann", now)
    monkeypatch.setitem(app.config, "DEFAULT_LOCALE", "es")
    factory.user("sin", email="sin@example.org", full_name="Sin Idioma")
    password_links.request_reset("sin", now)
    assert notifications.send_pending(now) == 3

    invitation, english, default = mail_inbox.messages
    assert subject(invitation) == "Elige tu contraseña de Supervisión de exámenes"
    html = part(invitation, "text/html")
    assert '<html lang="es">' in html and "Hola, Sol:" in html
    assert "El enlace funciona una sola vez, durante 7 días." in html
    assert subject(english) == "Choose a new password for Exam proctoring"
    assert "The link works once, for 3 hours." in part(english, "text/html")
    assert subject(default) == "Elige una nueva contraseña de Supervisión de exámenes"
    assert "Si no lo pediste tú" in part(default, "text/html")


def test_the_address_lookup_uses_the_lower_email_index(app, factory):
    """"Forgot your password?" finds an address whatever its case without scanning the users
    table: the plan names the ``lower(email)`` index on both databases."""
    factory.user(username="finder", email="Finder@Example.org")
    db.session.flush()
    query = password_links.accounts_query("finder@example.ORG")
    assert [user.username for user in db.session.execute(query).scalars()] == ["finder"]
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table otherwise
        plan = " ".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql)))
    else:
        plan = " ".join(row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_users_email_lower" in plan, plan
