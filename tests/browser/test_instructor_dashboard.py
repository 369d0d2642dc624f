"""Course staff run the dashboard in a real browser: allowances reach the learner's timer,
an errored attempt is resumed and finished, an attempt is reset, a second review is verified;
every page is screenshotted and checked by axe-core (WCAG 2.2 AA)."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from proctor_web.extensions import db
from proctor_web.models import Attempt, utcnow
from proctor_web.services import attempts, courses, exams
from proctor_web.services.attempts import Action, Actor
from tests.browser.conftest import DEMO_COURSE_ID, end_exam
from tests.browser.test_learner_flows import exam_url, situation

DASH = f"/courses/{DEMO_COURSE_ID}/instructor"
AXE_OPTIONS = {"runOnly": {"type": "tag",
                           "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}


def dash_url(live_server, rest: str = "") -> str:
    return live_server.path(f"{DASH}/{rest}")


def attempt_in(live_server, username: str, content_id: str, status: str) -> int:
    """Give ``username`` an attempt on the demo exam, moved to ``status`` by the services."""
    with live_server.app.app_context():
        now = utcnow()
        user = courses.get_user(username)
        exam = exams.get_exam_by_content_id(DEMO_COURSE_ID, content_id)
        learner = Actor.learner(user)
        attempt = attempts.create_attempt(exam, user, learner, now,
                                          start_clock=not exam.has_backend)
        if exam.has_backend:
            attempts.apply_action(attempt, Action.READY, Actor.system("test"), now)
            attempts.apply_action(attempt, Action.START, learner, now)
        if status == "error":
            attempts.apply_action(attempt, Action.ERROR, Actor.system("test"), now,
                                  "the proctoring software crashed")
        elif status in ("submitted", "second_review_required"):
            attempts.apply_action(attempt, Action.SUBMIT, learner, now)
            if status == "second_review_required":
                attempts.apply_action(attempt, Action.REQUIRE_SECOND_REVIEW,
                                      Actor.provider("mock"), now, "reviewer unsure")
        db.session.commit()
        return attempt.id


def open_attempt(page, live_server, username: str) -> None:
    page.goto(dash_url(live_server, "attempts"))
    page.get_by_label("Username or email").fill(username)
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("link", name=username, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(username)


def confirm(page, button: str, reason: str) -> None:
    """Follow the action's link and confirm with the button of the same words."""
    page.get_by_role("link", name=button).click()
    page.get_by_label(re.compile("^Reason")).fill(reason)
    page.get_by_role("button", name=button).click()


def test_extra_time_for_two_learners_reaches_their_timers(live_server, browser, page, login,
                                                          shot, fresh_learner):
    first, first_password = fresh_learner()
    second, second_password = fresh_learner()
    login(page, "instructor")
    page.goto(dash_url(live_server, "allowances"))
    page.get_by_label("Learners").fill(f"{first}, {second}@example.com")
    page.get_by_label(re.compile("^Timed Midterm")).check()
    page.get_by_label("Extra minutes", exact=True).fill("15")
    page.get_by_role("button", name="Give extra minutes").click()
    expect(page.locator(".notice-success")).to_have_text(
        "Allowance saved for 2 learner and exam pairs.")
    expect(page.get_by_role("heading", name=first)).to_be_visible()
    shot(page, "instructor-allowances-granted")

    for username, password in ((first, first_password), (second, second_password)):
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
        learner_page = context.new_page()
        try:
            login(learner_page, username, password)
            learner_page.goto(exam_url(live_server, "timed-exam"))
            learner_page.get_by_role("button", name="Start my timed exam").click()
            # 30 minutes + 15 extra.
            expect(learner_page.locator("#timer-value")).to_have_text(
                re.compile(r"^0:(44|45):\d\d$"))
        finally:
            context.close()


def test_resume_an_errored_attempt_and_finish_it_as_the_learner(live_server, browser, page,
                                                               login, shot, fresh_learner):
    username, password = fresh_learner()
    attempt_id = attempt_in(live_server, username, "timed-exam", "error")
    login(page, "instructor")
    open_attempt(page, live_server, username)
    expect(page.get_by_text("the proctoring software crashed")).to_be_visible()
    page.get_by_role("link", name=f"Let {username} resume").click()
    shot(page, "instructor-confirm-resume")
    page.get_by_role("button", name=f"Let {username} resume").click()
    expect(page.locator(".notice-success")).to_contain_text("can now resume")
    expect(page.locator(".facts .tag")).to_have_text("ready to resume")

    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    learner_page = context.new_page()
    try:
        login(learner_page, username, password)
        learner_page.goto(exam_url(live_server, "timed-exam"))
        learner_page.get_by_role("button", name="Resume my exam").click()
        # Resuming makes a new attempt with the saved time; a timed exam then starts as usual.
        expect(learner_page.locator("article.exam-page")).to_have_attribute(
            "data-situation", "entrance")
        learner_page.get_by_role("button", name="Start my timed exam").click()
        expect(learner_page.locator("article.exam-page")).to_have_attribute(
            "data-situation", "started")
        expect(learner_page.locator("#timer-value")).to_have_text(re.compile(r"^0:(29|30):\d\d$"))
        end_exam(learner_page)
        learner_page.get_by_role("button", name="Yes, submit my exam").click()
        expect(learner_page.locator("article.exam-page")).to_have_attribute(
            "data-situation", "submitted")
    finally:
        context.close()
    page.goto(dash_url(live_server, f"attempts/{attempt_id}"))
    expect(page.get_by_role("link", name=re.compile(r"^Attempt \d+$"))).to_be_visible()
    with live_server.app.app_context():
        newest = attempts.current_attempt(
            exams.get_exam_by_content_id(DEMO_COURSE_ID, "timed-exam"),
            courses.get_user(username))
        assert newest.id != attempt_id and newest.status == "submitted"


def test_reset_an_attempt(live_server, browser, page, login, shot, fresh_learner):
    username, password = fresh_learner()
    attempt_id = attempt_in(live_server, username, "timed-exam", "submitted")
    login(page, "staff")
    open_attempt(page, live_server, username)
    page.get_by_role("link", name=f"Reset {username}'s attempt").click()
    # The reason is required: the browser will not send the form without it.
    expect(page.get_by_label(re.compile("^Reason"))).to_have_attribute("required", "")
    shot(page, "instructor-confirm-reset")
    page.get_by_label(re.compile("^Reason")).fill("fire alarm in the exam room")
    page.get_by_role("button", name=f"Reset {username}'s attempt").click()
    expect(page.locator(".notice-success")).to_contain_text("The attempt was reset")
    # The list still shows it, struck through, with who reset it.
    removed = page.locator("table.removed-attempts tbody tr", has_text=username)
    expect(removed).to_contain_text("by staff")
    expect(removed.locator("del a")).to_have_text(username)
    assert removed.locator("del").first.evaluate(
        "e => getComputedStyle(e).textDecorationLine") == "line-through"
    shot(page, "instructor-attempts-after-reset")
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()
    with live_server.app.app_context():
        assert db.session.get(Attempt, attempt_id) is None
    page.goto(dash_url(live_server, f"attempts/{attempt_id}"))
    expect(page.get_by_text("This attempt was reset")).to_be_visible()
    expect(page.get_by_text("fire alarm in the exam room")).to_be_visible()
    shot(page, "instructor-attempt-archived")

    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    learner_page = context.new_page()
    try:
        login(learner_page, username, password)
        learner_page.goto(exam_url(live_server, "timed-exam"))
        assert situation(learner_page) == "entrance"
    finally:
        context.close()


def test_verify_a_second_review_attempt(live_server, page, login, shot, fresh_learner):
    username, _password = fresh_learner()
    attempt_id = attempt_in(live_server, username, "proctored-exam", "second_review_required")
    login(page, "instructor")
    page.goto(dash_url(live_server, "attempts?status=second_review_required"))
    page.get_by_role("link", name=username, exact=True).click()
    expect(page.locator(".facts")).to_contain_text("Second review required")
    confirm(page, f"Verify {username}'s attempt", "watched the recording: nothing wrong")
    expect(page.locator(".notice-success")).to_have_text("The attempt is now verified.")
    expect(page.locator(".facts")).to_contain_text("Verified")
    expect(page.locator(".timeline")).to_contain_text("watched the recording: nothing wrong")
    with live_server.app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "verified"


DASHBOARD_PAGES = [
    ("overview", ""),
    ("attempts", "attempts"),
    ("attempt-detail", "attempts/{attempt}"),
    ("confirm-verify", "attempts/{attempt}/verify"),
    ("review", "attempts/{attempt}/review"),
    ("allowances", "allowances"),
    ("allowance-edit", "allowances/{allowance}/edit"),
    ("allowance-delete", "allowances/{allowance}/delete"),
    ("onboarding", "onboarding"),
    ("exam-settings", "exams"),
    ("exam-create", "exams/new"),
    ("exam-edit", "exams/{exam}/edit"),
]


@pytest.fixture
def populated(live_server, fresh_learner):
    """A few learners in several situations so every page has rows to show."""
    names = [fresh_learner(prefix="axe")[0] for _ in range(3)]
    review_id = attempt_in(live_server, names[0], "proctored-exam", "second_review_required")
    attempt_in(live_server, names[1], "timed-exam", "error")
    attempt_in(live_server, names[2], "onboarding-exam", "submitted")
    from proctor_web.services import allowances

    with live_server.app.app_context():
        exam = exams.get_exam_by_content_id(DEMO_COURSE_ID, "proctored-exam")
        allowance = allowances.set_allowance(exam, courses.get_user(names[0]),
                                             "additional_time_granted", "20", None, utcnow())
        db.session.commit()
        return {"attempt": review_id, "allowance": allowance.id, "exam": exam.id}


@pytest.mark.parametrize("name,rest", DASHBOARD_PAGES, ids=[p[0] for p in DASHBOARD_PAGES])
def test_dashboard_page_is_accessible(name, rest, live_server, page, login, shot, populated):
    login(page, "instructor")
    page.goto(dash_url(live_server, rest.format(**populated)))
    expect(page.locator(".dash-nav")).to_be_visible()
    shot(page, f"instructor-{name}")
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def test_refused_allowance_form_is_accessible(live_server, page, login, shot, populated):
    login(page, "instructor")
    page.goto(dash_url(live_server, "allowances"))
    page.get_by_role("link", name="Time multiplier").click()
    page.get_by_label("Learners").fill("nobody-here")
    page.get_by_label(re.compile("^Proctored Final Exam")).check()
    page.get_by_label("Time multiplier", exact=True).fill("1.5")
    page.get_by_role("button", name="Multiply the time").click()
    expect(page.get_by_role("alert")).to_contain_text("0 saved, 1 not saved.")
    shot(page, "instructor-allowances-results")
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def test_review_page_verify_and_bulk_reject_from_the_list(live_server, page, login, shot,
                                                           fresh_learner):
    first, _password = fresh_learner(prefix="bulk")
    second, _password = fresh_learner(prefix="bulk")
    reviewed = attempt_in(live_server, first, "proctored-exam", "second_review_required")
    batch = [attempt_in(live_server, second, "proctored-exam", "submitted")]
    login(page, "instructor")

    # One attempt from its review page, in the words of the timeline afterwards.
    page.goto(dash_url(live_server, f"attempts/{reviewed}"))
    page.get_by_role("link", name=re.compile("^Open the review page")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(f"^Review of {first}'s attempt"))
    page.get_by_role("button", name=f"Verify {first}'s attempt").click()
    # The browser keeps a form without its required reason.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(f"^Review of {first}'s attempt"))
    page.get_by_label(re.compile("^Reason")).fill("the second person was the proctor")
    page.get_by_role("button", name=f"Verify {first}'s attempt").click()
    expect(page.locator(".notice-success")).to_have_text("The attempt is now verified.")
    shot(page, "instructor-review-decided")
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()
    page.get_by_role("link", name="Back to the attempt").click()
    expect(page.locator(".timeline")).to_contain_text(
        "instructor (staff) verified the attempt: the second person was the proctor")
    expect(page.locator(".timeline")).to_contain_text(
        "Mock Proctoring Service asked course staff for a second review")

    # Several from the list with one reason.
    page.goto(dash_url(live_server, "attempts?q=bulk"))
    for attempt_id in batch + [reviewed]:
        page.locator(f'input[name="attempt_ids"][value="{attempt_id}"]').check()
    page.get_by_label(re.compile("^Reason \\(required, kept in each")).fill("notes on the desk")
    shot(page, "instructor-bulk-chosen")
    page.get_by_role("button", name="Reject the chosen attempts").click()
    expect(page.locator(".notice-success")).to_have_text("2 attempts rejected.")
    with live_server.app.app_context():
        for attempt_id in batch + [reviewed]:
            assert db.session.get(Attempt, attempt_id).status == "rejected"
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def test_bulk_results_name_each_attempt_it_could_not_change(live_server, page, login, shot,
                                                             fresh_learner):
    username, _password = fresh_learner(prefix="bulkfail")
    attempt_id = attempt_in(live_server, username, "proctored-exam", "submitted")
    login(page, "instructor")
    page.goto(dash_url(live_server, f"attempts?q={username}"))
    page.locator(f'input[name="attempt_ids"][value="{attempt_id}"]').check()
    # Someone else verifies it meanwhile.
    with live_server.app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempts.apply_action(attempt, Action.VERIFY, Actor.provider("mock"), utcnow(), "clean")
        db.session.commit()
    page.get_by_label(re.compile("^Reason \\(required, kept in each")).fill("double check")
    page.get_by_role("button", name="Verify the chosen attempts").click()
    alert = page.locator("#bulk-results")
    expect(alert).to_contain_text("0 of 1 chosen attempts changed")
    expect(alert).to_contain_text(f"Not verified: {username}'s attempt on")
    expect(alert).to_contain_text("is Verified")
    shot(page, "instructor-bulk-results")
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()
