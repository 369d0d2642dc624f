"""The learner's pages as a stressed learner meets them: focus follows each action to the new
page's heading, the timer toggle keeps its label and the end time, the running exam has one
scroll, the page's, with the timer pinned (in LTI frames: test_exam_one_scroll.py), its
timer bar is one line at 320 px, a proctored exam says who proctors it, and the exam can be
ended without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from proctor_web.extensions import db
from proctor_web.models import Attempt, utcnow
from proctor_web.services import attempts, courses, exams
from tests.browser.conftest import (
    DEMO_COURSE_ID,
    end_exam,
    start_system_check,
    watch_csp_violations,
)
from tests.browser.test_exam_one_scroll import AXE_OPTIONS, SCROLL_SURFACES
from tests.browser.test_learner_flows import ENCODED_COURSE, exam_url

PHONE = {"width": 360, "height": 740}
NARROWEST = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 900}


def _started(live_server, username: str, content_id: str) -> None:
    """The learner's attempt at a demo exam, started a minute ago (no provider round trip)."""
    with live_server.app.app_context():
        exam = exams.find_exam(DEMO_COURSE_ID, content_id)
        user = courses.get_user(username)
        now = utcnow()
        db.session.add(Attempt(
            user=user, exam=exam, attempt_code=attempts.new_attempt_code(), status="started",
            started_at=now - timedelta(minutes=1), allowed_time_limit_mins=exam.time_limit_mins,
            taking_as_proctored=exam.is_proctored, is_sample_attempt=exam.is_practice_exam,
            created=now, modified=now))
        db.session.commit()


def _new_page(browser, viewport, *, locale="en-US", javascript=True):
    context = browser.new_context(viewport=viewport, locale=locale,
                                  java_script_enabled=javascript)
    context.set_default_timeout(15_000)
    page = context.new_page()
    return context, page, watch_csp_violations(page)


def _focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_focus_moves_to_the_new_pages_heading_after_each_action(live_server, page, login,
                                                                fresh_learner):
    username, password = fresh_learner()
    login(page, username, password)
    page.goto(exam_url(live_server, "timed-exam"))
    assert _focused_id(page) != "page-title"  # a plain visit leaves focus alone
    page.get_by_role("button", name="Start my timed exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    expect(page.locator("#page-title")).to_be_focused()
    end_exam(page)
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation",
                                                               "ready_to_submit")
    expect(page.locator("#page-title")).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Are you sure you want to end your exam\?"))
    page.get_by_role("button", name="Yes, submit my exam").click()
    expect(page.locator("#page-title")).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Your exam has been submitted"))


def test_hide_timer_is_one_fixed_toggle_and_keeps_the_end_time(live_server, page, login,
                                                               fresh_learner):
    username, password = fresh_learner()
    _started(live_server, username, "timed-exam")
    login(page, username, password)
    page.goto(exam_url(live_server, "timed-exam"))
    toggle = page.get_by_role("button", name="Hide timer")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    timer = page.get_by_role("region", name=re.compile(r"^Time remaining Your exam ends at "))
    expect(timer).to_be_visible()
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_have_text("Hide timer")  # one label; the state is aria-pressed
    expect(page.locator("#timer-value")).to_be_hidden()
    expect(page.locator("#timer-end")).to_be_visible()  # hidden clock, visible end time
    expect(timer).to_be_visible()  # the region keeps its name with the end time
    assert toggle.get_attribute("aria-describedby") == "timer-end"
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#timer-value")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_running_exam_has_one_scroll_the_pages_with_the_timer_pinned(
        live_server, browser, login, shot, fresh_learner, viewport):
    """No nested scroll box under the timer: the content frame is as tall as its content,
    only the page scrolls, and the timer bar stays at the top of the window."""
    username, password = fresh_learner()
    _started(live_server, username, "proctored-exam")
    context, page, violations = _new_page(browser, viewport)
    try:
        login(page, username, password)
        page.goto(exam_url(live_server, "proctored-exam"))
        expect(page.locator("article.exam-page")).to_have_attribute("data-situation",
                                                                   "started")
        expect(page.locator("#proctored-by")).to_have_text(
            "Proctored by Mock Proctoring Service")
        expect(page.locator("#proctored-by")).to_be_in_viewport()
        frame = page.locator("iframe.exam-content")
        expect(frame).to_have_attribute("data-fitted", re.compile(r"^\d+$"))
        sizes = page.evaluate(SCROLL_SURFACES)
        assert sizes["nested"] == [], sizes
        [content] = sizes["frames"]
        assert content["scroll"] <= content["client"] + 1, content  # nothing scrolls inside
        assert abs(content["client"] - content["content"]) <= 2, content
        assert sizes["wide"] <= sizes["width"], sizes
        assert sizes["scroll"] > sizes["window"], sizes  # the page is the one that scrolls
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_function("() => scrollY > 0")
        bar = page.evaluate("document.getElementById('timer').getBoundingClientRect().top")
        assert 0 <= bar <= 2, bar  # pinned
        expect(page.get_by_role("button", name="End my exam")).to_be_in_viewport()
        expect(page.locator("#timer-echo")).to_be_hidden()  # the bar is in view: no copy
        results = Axe().run(page, options=AXE_OPTIONS)
        assert results.violations_count == 0, results.generate_report()
        shot(page, f"running-exam-{viewport['width']}")
        assert violations == []
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_timer_bar_is_one_line_at_320_px(live_server, browser, login, shot, fresh_learner,
                                             lang):
    username, password = fresh_learner()
    _started(live_server, username, "timed-exam")
    context, page, violations = _new_page(browser, NARROWEST)
    try:
        login(page, username, password)
        page.goto(exam_url(live_server, "timed-exam") + f"?lang={lang}")
        expect(page.locator("#timer-toggle")).to_be_visible()
        # The widest end time whatever the hour the test runs at: "12:58" (a one-digit hour
        # fitted while a two-digit one overflowed by 4 px).
        line = page.evaluate("""() => {
            const bar = document.getElementById('timer');
            const end = bar.querySelector('#timer-end [aria-hidden="true"]');
            end.textContent = end.textContent.replace(/\\d{1,2}:\\d{2}/, '12:58');
            const endBox = document.getElementById('timer-end');
            const parts = [...bar.children].filter((el) => {
                const box = el.getBoundingClientRect();
                return !el.hidden && box.width > 1 && box.height > 1;
            }).map((el) => el.getBoundingClientRect());
            const outer = bar.getBoundingClientRect();
            return {
                tops: parts.map((box) => Math.round(box.top + box.height / 2)),
                right: Math.max(...parts.map((box) => box.right)), barRight: outer.right,
                overflow: bar.scrollWidth - bar.clientWidth, count: parts.length,
                endCut: endBox.scrollWidth - endBox.clientWidth, endText: end.textContent,
            };
        }""")
        assert line["count"] == 3, line  # clock, end time, toggle
        assert max(line["tops"]) - min(line["tops"]) <= 6, line  # one line
        assert line["overflow"] <= 0 and line["right"] <= line["barRight"], line
        assert "12:58" in line["endText"] and line["endCut"] <= 0, line  # shown whole
        shot(page, f"timer-bar-320-{lang}")
        assert violations == []
    finally:
        context.close()


def test_inside_an_lms_frame_of_fixed_height_the_frames_page_is_the_one_scroll(
        live_server, page, login, fresh_learner):
    """Framed by a FRAME_ANCESTORS origin that keeps its frame's height: the frame's document
    scrolls, nothing inside it does, and the page still tells the parent its height."""
    username, password = fresh_learner()
    _started(live_server, username, "timed-exam")
    login(page, username, password)
    config = live_server.app.config
    config["FRAME_ANCESTORS"] = [live_server.url]
    try:
        page.goto(live_server.path("/healthz"))
        page.set_content(
            '<!doctype html><html lang="en"><head><title>LMS</title></head><body>'
            f'<iframe id="exam" title="Exam" src="/courses/{ENCODED_COURSE}/exams/timed-exam"'
            ' style="width:100%;height:600px;border:0"></iframe><script>window.received = [];'
            'addEventListener("message", (e) => window.received.push(e.data));</script>'
            '</body></html>')
        frame = page.frame_locator("#exam")
        expect(frame.locator("article.exam-page")).to_have_attribute("data-situation",
                                                                    "started")
        expect(frame.locator("iframe.exam-content")).to_have_attribute(
            "data-fitted", re.compile(r"^\d+$"))
        inner = page.frames[1]
        sizes = inner.evaluate(SCROLL_SURFACES)
        assert sizes["nested"] == [], sizes
        [content] = sizes["frames"]
        assert content["scroll"] <= content["client"] + 1, content
        assert sizes["scroll"] > sizes["window"], sizes  # the frame's page scrolls
        page.wait_for_function(
            "() => window.received.some((m) => m.subject === 'lti.frameResize')")
        resize = page.evaluate(
            "window.received.filter((m) => m.subject === 'lti.frameResize').pop()")
        assert resize["height"] >= sizes["page"], (resize, sizes)
        assert set(resize) == {"subject", "height"}
    finally:
        config["FRAME_ANCESTORS"] = []


def test_without_javascript_the_exam_shows_its_end_and_can_be_submitted(live_server, browser,
                                                                       login, shot,
                                                                       fresh_learner):
    username, password = fresh_learner()
    context, page, _ = _new_page(browser, PHONE, javascript=False)
    try:
        login(page, username, password)
        page.goto(exam_url(live_server, "timed-exam"))
        page.get_by_role("button", name="Start my timed exam").click()
        expect(page.locator("article.exam-page")).to_have_attribute("data-situation",
                                                                   "started")
        expect(page.locator("#timer-value")).to_have_text(re.compile(r"^0:[23]\d:\d\d$"))
        expect(page.locator("#timer-end")).to_contain_text(re.compile(r"Ends \d"))
        expect(page.get_by_role("region", name=re.compile("Your exam ends at"))).to_be_visible()
        expect(page.locator("#timer-toggle")).to_be_hidden()  # a script's job, absent here
        shot(page, "no-javascript-running")
        page.get_by_role("button", name="End my exam").click()
        page.get_by_role("button", name="Yes, submit my exam").click()
        expect(page.locator("article.exam-page")).to_have_attribute("data-situation",
                                                                   "submitted")
    finally:
        context.close()


def _current_step(page) -> str:
    nav = page.get_by_role("navigation", name="Exam steps")
    return nav.locator('[aria-current="step"] .flow-label').inner_text()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_proctored_flow_shows_its_steps_and_one_system_check_state(
        live_server, browser, login, shot, fresh_learner, viewport):
    username, password = fresh_learner()
    context, page, violations = _new_page(browser, viewport)
    try:
        login(page, username, password)
        page.goto(exam_url(live_server, "proctored-exam"))
        assert _current_step(page) == "Set up"
        page.get_by_role("button", name="Continue to the proctored exam").click()
        expect(page.locator("article.exam-page")).to_have_attribute("data-situation",
                                                                   "instructions")
        assert _current_step(page) == "System check"
        expect(page.get_by_role("heading", name="Steps from Mock Proctoring Service")
               ).to_be_visible()
        expect(page.get_by_role("progressbar")).to_have_count(0)
        with context.expect_page() as software:
            start_system_check(page)
        software.value.close()
        # The mock is ready a second after the click: catch the waiting state, or its end.
        waiting = page.get_by_text("Waiting for Mock Proctoring Service…")
        ready = page.locator('article.exam-page[data-situation="ready_to_start"]')
        expect(waiting.or_(ready)).to_be_visible()
        if waiting.is_visible():
            expect(page.get_by_role("progressbar", name="System check in progress")
                   ).to_be_visible()
            expect(page.get_by_role("link", name="Check again", exact=True)).to_be_visible()
            expect(page.get_by_role("link", name="Open the system check again (new tab)")
                   ).to_be_visible()
            expect(page.get_by_role("button", name="Start the system check")).to_have_count(0)
            shot(page, f"system-check-waiting-{viewport['width']}")
        expect(ready).to_be_visible(timeout=20_000)
        assert _current_step(page) == "Rules"
        wide = page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
        assert wide, "the step indicator scrolls sideways"
        shot(page, f"flow-steps-rules-{viewport['width']}")
        assert violations == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_home_shows_each_exams_state_with_no_axe_violation(live_server, browser, login, shot,
                                                           fresh_learner, viewport):
    from axe_playwright_python.sync_playwright import Axe

    from tests.browser.test_learner_a11y import AXE_OPTIONS

    username, password = fresh_learner()
    _started(live_server, username, "timed-exam")
    context, page, violations = _new_page(browser, viewport)
    try:
        login(page, username, password)
        page.goto(live_server.path("/"))
        timed = page.locator(".exam-item").filter(has_text="Timed Midterm")
        expect(timed.locator(".exam-badge")).to_have_text("In progress")
        expect(timed).to_contain_text(re.compile(r"2\d minutes left"))
        expect(timed.get_by_role("link", name="Continue the exam: Timed Midterm")).to_be_visible()
        final = page.locator(".exam-item").filter(has_text="Proctored Final Exam")
        expect(final.locator(".exam-badge")).to_have_text("Not started")
        assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
        results = Axe().run(page, options=AXE_OPTIONS)
        shot(page, f"home-states-{viewport['width']}")
        assert results.violations_count == 0, results.generate_report()
        assert violations == []
    finally:
        context.close()


def _stored_zone(live_server, username: str) -> str | None:
    with live_server.app.app_context():
        return courses.get_user(username).time_zone


def test_the_browsers_zone_is_kept_on_the_account_over_another_devices(live_server, browser,
                                                                      login, fresh_learner):
    username, password = fresh_learner()
    context = browser.new_context(viewport=DESKTOP, timezone_id="America/Bogota")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        with page.expect_response(lambda r: r.url.endswith("/timezone")) as first:
            login(page, username, password)
        assert first.value.status == 204
        # The home page shows times, so it loads once more in the new zone: wait for that
        # load, or it would interrupt the navigation below.
        expect(page.locator("#timezone-script")).to_have_attribute("data-timezone",
                                                                  "America/Bogota")
        page.wait_for_load_state("load")
        assert _stored_zone(live_server, username) == "America/Bogota"

        # Another device reports Madrid; this browser's session still says Bogota. Its next
        # page sends its zone again (for the emails), without loading the page once more.
        with live_server.app.app_context():
            courses.get_user(username).time_zone = "Europe/Madrid"
            db.session.commit()
        loads = []
        page.on("load", lambda _: loads.append(page.url))
        with page.expect_response(lambda r: r.url.endswith("/timezone")) as again:
            page.goto(live_server.path("/"))
        assert again.value.status == 204
        assert _stored_zone(live_server, username) == "America/Bogota"
        expect(page.locator("#timezone-script")).to_have_attribute("data-stored-timezone",
                                                                  "Europe/Madrid")
        page.wait_for_timeout(500)
        assert len(loads) == 1, loads
        # Both agree now: the next page posts nothing.
        posts = []
        page.on("request", lambda r: posts.append(r.url) if r.url.endswith("/timezone") else None)
        page.goto(live_server.path("/"))
        page.wait_for_timeout(500)
        assert posts == []
    finally:
        context.close()


def test_times_follow_the_browsers_time_zone_with_utc_beside(live_server, browser, login,
                                                             fresh_learner):
    username, password = fresh_learner()
    _started(live_server, username, "timed-exam")
    context = browser.new_context(viewport=DESKTOP, locale="es-ES", timezone_id="America/Bogota")
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp_violations(page)
    try:
        login(page, username, password)
        # The home page posts the zone, then loads once more with the times in it.
        expect(page.locator("#timezone-script")).to_have_attribute("data-timezone",
                                                                  "America/Bogota")
        page.goto(exam_url(live_server, "timed-exam") + "?lang=es")
        expect(page.locator("#timezone-script")).to_have_attribute("data-timezone",
                                                                  "America/Bogota")
        expect(page.locator("#timer-end")).to_contain_text(
            re.compile(r"hora de Colombia \((\d+ \w+\.?, )?\d\d:\d\d UTC\)"))
        page.wait_for_function("window.proctorWeb !== undefined")  # its module has run
        utc_end = page.evaluate("window.proctorWeb.state.timer_ends")
        local = page.evaluate("""(end) => new Date(end).toLocaleTimeString('es-ES',
            {hour: 'numeric', minute: '2-digit', timeZone: 'America/Bogota'})""", utc_end)
        expect(page.locator("#timer-end [aria-hidden=true]")).to_have_text(f"Fin: {local}")
        assert violations == []
    finally:
        context.close()
