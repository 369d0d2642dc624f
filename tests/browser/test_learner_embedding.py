"""Inside an LMS iframe, the exam page tells its parent about every status change, and only
parents whose origin is configured in FRAME_ANCESTORS hear it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_learner_flows import ENCODED_COURSE

PARENT = """
<!doctype html><html lang="en"><head><title>LMS</title></head><body>
<h1>Pretend LMS</h1>
<iframe id="exam" title="Exam" src="{src}" style="width:100%;height:700px"></iframe>
<script>
  window.received = [];
  window.addEventListener("message", (event) => {{
    window.received.push({{origin: event.origin, data: event.data}});
  }});
</script>
</body></html>
"""


def _open_in_parent(page, live_server, content_id: str) -> None:
    page.goto(live_server.path("/healthz"))  # the parent document lives on this origin
    page.set_content(PARENT.format(src=f"/courses/{ENCODED_COURSE}/exams/{content_id}"))


def test_status_changes_are_posted_to_the_configured_parent(live_server, page, login, shot,
                                                            fresh_learner):
    username, password = fresh_learner()
    login(page, username, password)
    config = live_server.app.config
    config["FRAME_ANCESTORS"] = [live_server.url, "https://lms.example.org"]
    try:
        _open_in_parent(page, live_server, "timed-exam")
        frame = page.frame_locator("#exam")
        expect(frame.get_by_role("button", name="Start my timed exam")).to_be_visible()
        page.wait_for_function("window.received.length >= 1")
        first = page.evaluate("window.received[0]")
        assert first["origin"] == live_server.url
        assert first["data"]["type"] == "proctor_web.exam_status"
        assert first["data"]["situation"] == "entrance"
        assert first["data"]["course_id"] == "course-v1:DemoX+PROC101+2026"

        frame.get_by_role("button", name="Start my timed exam").click()
        page.wait_for_function("window.received.some(m => m.data.status === 'started')")
        started = page.evaluate(
            "window.received.find(m => m.data.status === 'started').data")
        assert started["timer_ends"] and started["attempt_id"]
        shot(page, "embedded-01-started-in-lms-iframe")
    finally:
        config["FRAME_ANCESTORS"] = []


def test_a_parent_from_another_origin_hears_nothing(live_server, page, login, fresh_learner):
    username, password = fresh_learner()
    login(page, username, password)
    config = live_server.app.config
    config["FRAME_ANCESTORS"] = ["https://lms.example.org"]
    try:
        _open_in_parent(page, live_server, "timed-exam")
        frame = page.frame_locator("#exam")
        expect(frame.get_by_role("button", name="Start my timed exam")).to_be_visible()
        # The page did post (to lms.example.org only), so the browser dropped it here.
        posted = page.frames[1].evaluate(
            "window.proctorWeb && window.proctorWeb.state.frame_ancestors")
        assert posted == ["https://lms.example.org"]
        # Messages between two windows arrive in order: once a later sentinel is here, the
        # page's own message would have been too, had its target origin matched.
        page.frames[1].evaluate("window.parent.postMessage({type: 'sentinel'}, '*')")
        page.wait_for_function("window.received.length >= 1")
        assert [m["data"]["type"] for m in page.evaluate("window.received")] == ["sentinel"]
    finally:
        config["FRAME_ANCESTORS"] = []
