"""The README's demo: a learner takes a proctored exam on the REST backend in a browser,
against the fake provider running as its own process; readiness and the review arrive
through the authenticated webhooks."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import ProviderEvent
from tests.browser.conftest import start_system_check
from tests.integration.test_rest_provider_e2e import (  # noqa: F401  (fixtures)
    Live,
    end_read,
    live,
    provider_state,
    provider_url,
    wait_for,
)

COURSE_PATH = "/courses/course-v1%3AFakeX%2BE2E%2B2026/exams/final"


def act(page, action: str) -> None:
    page.locator(f"form.action-form[data-action='{action}'] button").first.click()


def situation_is(page, wanted: str, timeout: int = 10_000) -> None:
    expect(page.locator("article.exam-page")).to_have_attribute(
        "data-situation", wanted, timeout=timeout)


def test_learner_takes_a_proctored_exam_against_the_fake_provider(
    live: Live, page, shot  # noqa: F811  (the fixture imported above)
):
    page.goto(f"{live.url}/login")
    page.fill("#username", "lena")
    page.fill("#password", "lena-password-1")
    page.click("button[type=submit]")
    page.goto(live.url + COURSE_PATH)
    situation_is(page, "entrance")
    act(page, "enter")
    situation_is(page, "instructions")
    shot(page, "fake-provider-01-instructions")

    # The system check is the provider's own page for this very attempt; opening it makes
    # the provider call our ready webhook.
    with page.context.expect_page() as software:
        start_system_check(page)
    check = software.value
    check.wait_for_load_state()
    assert check.url.startswith(live.provider_url + "/download?")
    assert "attempt=" in check.url
    shot(check, "fake-provider-02-provider-system-check")
    check.close()
    situation_is(page, "ready_to_start", timeout=20_000)

    act(page, "start")
    situation_is(page, "started")
    act(page, "stop")
    situation_is(page, "ready_to_submit")
    act(page, "submit")
    situation_is(page, "submitted")
    shot(page, "fake-provider-03-submitted")

    # The provider reviews the session once told "stop" (delivered after the submit's
    # response, however Chromium closes the connection) and posts the outcome to our
    # reviewed webhook.
    def verified() -> bool:
        page.reload()
        return page.locator("article.exam-page").get_attribute("data-situation") == "verified"

    wait_for(verified, timeout=20)
    shot(page, "fake-provider-04-verified")
    callbacks = provider_state(live.provider_url)["callback_log"]
    assert [(c["kind"], c["status_code"]) for c in callbacks] == [("ready", 200),
                                                                  ("reviewed", 200)]
    end_read()
    events = db.session.scalars(select(ProviderEvent).order_by(ProviderEvent.id)).all()
    assert [(e.kind, e.status) for e in events] == [("start", "delivered"),
                                                    ("stop", "delivered")]
