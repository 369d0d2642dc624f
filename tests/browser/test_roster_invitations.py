"""In Chromium: staff add a learner, the invitation reaches a real SMTP server, the learner
opens its link, is refused a short password, chooses one and lands signed in on their home
page; the link then says it was used. "Forgot your password?" answers neutrally. Staff
deactivate a learner through the confirmation page. axe-core finds no WCAG 2.2 AA
violation on any of these pages, in English and Spanish."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from proctor_web.testing.loopback import Inbox, smtp_server, wait_for
from tests.browser.conftest import DEMO_COURSE_ID
from tests.browser.test_instructor_dashboard import AXE_OPTIONS
from tests.smtp_sink import set_password_link

DASH = f"/courses/{DEMO_COURSE_ID}/instructor"
_numbers = count(1)


def no_axe_violations(page) -> None:
    page.wait_for_load_state("load")
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


@pytest.fixture
def live_inbox(live_server) -> Iterator[Inbox]:
    """The live server's emails go to a real SMTP server on loopback for this test."""
    config = live_server.app.config
    saved = {key: config[key] for key in ("MAIL_SERVER", "MAIL_PORT", "MAIL_TIMEOUT_SECONDS")}
    inbox = Inbox()
    with smtp_server(inbox) as port:
        config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT_SECONDS=5)
        try:
            yield inbox
        finally:
            config.update(saved)


def test_invitation_to_password_to_signed_in(live_server, browser, page, login, shot,
                                             live_inbox):
    username = f"invitee{next(_numbers)}"
    login(page, "instructor")
    page.goto(live_server.path(f"{DASH}/roster"))
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Email", exact=True).fill(f"{username}@example.org")
    page.get_by_label("Full name", exact=True).fill("Ivy Invitee")
    page.get_by_role("button", name="Add and enroll").click()
    expect(page.locator(".notice-success")).to_contain_text(
        f"An invitation to choose a password was sent to {username}@example.org.")
    expect(page.get_by_role("button", name=f"Send {username}'s invitation again")).to_be_visible()
    no_axe_violations(page)
    shot(page, "invite-roster-after-add")

    message = wait_for(lambda: next((m for m in live_inbox.messages
                                     if m["To"] == f"{username}@example.org"), None))
    link = set_password_link(message).replace("http://127.0.0.1", live_server.url, 1)

    learner = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    try:
        invited = learner.new_page()
        invited.goto(link)
        expect(invited.get_by_role("heading", level=1)).to_have_text(
            "Welcome: choose your password")
        no_axe_violations(invited)
        shot(invited, "invite-set-password")
        invited.get_by_label("New password").fill("short")
        invited.get_by_label("The same password again").fill("short")
        invited.get_by_role("button", name="Save my password and sign in").click()
        field = invited.get_by_label("New password")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(
            "At least 8 characters; not your username or email address. A few words in a row "
            "are easy to remember and hard to guess. "
            "Your password is too short: use at least 8 characters.")
        no_axe_violations(invited)
        shot(invited, "invite-set-password-refused")
        invited.get_by_label("New password").fill("blue kettle morning")
        invited.get_by_label("The same password again").fill("blue kettle morning")
        invited.get_by_role("button", name="Save my password and sign in").click()
        expect(invited.get_by_role("heading", level=1)).to_have_text("Your courses")
        expect(invited.locator(".who")).to_have_text(f"Signed in as {username}")
        expect(invited.locator(".notice-success")).to_have_text(
            "Your password is saved and you are signed in.")
        assert invited.url == live_server.path("/")
        no_axe_violations(invited)

        invited.goto(link)
        expect(invited.get_by_role("heading", level=1)).to_have_text(
            "This link was already used")
        no_axe_violations(invited)
        shot(invited, "invite-link-used")
    finally:
        learner.close()
    # The roster no longer offers to invite them.
    page.reload()
    expect(page.get_by_role("button", name=f"Send {username}'s invitation again")).to_have_count(0)


@pytest.mark.parametrize("lang, heading, button, answer", [
    ("en", "Forgot your password?", "Email me a link", "If an account has this username"),
    ("es", "¿Olvidaste tu contraseña?", "Envíame un enlace", "Si alguna cuenta tiene"),
])
def test_forgot_password_page(live_server, page, shot, lang, heading, button, answer):
    page.goto(live_server.path(f"/login?lang={lang}"))
    no_axe_violations(page)  # the sign-in page, with its new link
    page.get_by_role("link", name=heading).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    no_axe_violations(page)
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("alert")).to_be_visible()  # nothing typed
    no_axe_violations(page)
    page.locator("#identifier").fill("somebody-unknown")
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("status")).to_contain_text(answer)
    no_axe_violations(page)
    shot(page, f"forgot-password-{lang}")
    page.goto(live_server.path("/login?lang=en"))


@pytest.mark.parametrize("lang, heading, action", [
    ("en", "This link does not work", "Ask for a new link"),
    ("es", "Este enlace no funciona", "Pedir un nuevo enlace"),
])
def test_a_broken_link_explains_itself(live_server, page, lang, heading, action):
    page.goto(live_server.path(f"/password/set/not-a-real-token?lang={lang}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_role("link", name=action)).to_be_visible()
    no_axe_violations(page)
    page.goto(live_server.path("/login?lang=en"))


def test_deactivation_is_confirmed_first(live_server, page, login, shot, fresh_learner):
    username, _ = fresh_learner(prefix="leaving")
    login(page, "instructor")
    page.goto(live_server.path(f"{DASH}/roster"))
    page.get_by_role("link", name=f"Deactivate {username}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Deactivate {username.title()} ({username}@example.com)?")
    expect(page.get_by_text("cannot sign in until they are enrolled again")).to_be_visible()
    no_axe_violations(page)
    shot(page, "roster-deactivate-confirm")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("link", name=f"Deactivate {username}")).to_be_visible()

    page.get_by_role("link", name=f"Deactivate {username}").click()
    page.get_by_role("button", name=f"Deactivate {username}").click()
    expect(page.locator(".notice-success")).to_contain_text(
        f"{username} is no longer enrolled and was signed out everywhere.")
    expect(page.get_by_role("button", name=f"Enroll {username} again")).to_be_visible()
    no_axe_violations(page)
