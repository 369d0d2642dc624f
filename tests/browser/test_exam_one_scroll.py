"""The running exam inside an LMS has one scroll. An LMS on http://127.0.0.1 frames
proctor_web on http://localhost (two sites, third-party cookies blocked, nobody signs in
locally), with a frame that it sizes to the page on lti.frameResize, or one that keeps its
height. Either way nothing in our page scrolls but the document itself, and nothing scrolls
inside the exam's content frame."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.lti.tool import registration
from proctor_web.models import utcnow
from tests.browser.conftest import LiveServer, live_server_config, watch_csp_violations
from tests.browser.lti_servers import registered_lms, serve_tool

CLIENT_ID = "proctor-web-scroll"
DEPLOYMENT_ID = "deployment-scroll"
AXE_OPTIONS = {"runOnly": {"type": "tag",
                           "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
LMS_FRAME_HEIGHT = 600  # the course page's frame before any lti.frameResize

#: Every element of the document that scrolls (overflow auto/scroll with more content than
#: room) other than the document itself, and how each content frame's document stands.
SCROLL_SURFACES = """() => {
    const scrolls = (style, axis) => ['auto', 'scroll'].includes(style['overflow' + axis]);
    const nested = [];
    for (const el of document.querySelectorAll('*')) {
        if (el === document.documentElement) continue;
        const style = getComputedStyle(el);
        if ((scrolls(style, 'Y') && el.scrollHeight > el.clientHeight + 1)
            || (scrolls(style, 'X') && el.scrollWidth > el.clientWidth + 1)) {
            nested.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
        }
    }
    const frames = [...document.querySelectorAll('iframe.exam-content')].map((frame) => {
        const sizes = {box: frame.getBoundingClientRect().height, inner: frame.clientHeight,
                       fitted: frame.dataset.fitted || null};
        if (!frame.contentDocument) return sizes;  // another site's page: asked below
        const root = frame.contentDocument.documentElement;
        return {...sizes, scroll: root.scrollHeight, client: root.clientHeight,
                content: Math.ceil(root.getBoundingClientRect().height)};
    });
    const root = document.documentElement;
    return {nested, frames, page: Math.ceil(root.getBoundingClientRect().height),
            scroll: root.scrollHeight, window: innerHeight,
            wide: root.scrollWidth, width: innerWidth};
}"""


@pytest.fixture(scope="module")
def tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("lti-scroll") / "proctor_scroll.sqlite3"
    app = create_app(live_server_config("sqlite:///" + str(database)))
    with app.app_context():
        db.create_all()
    with serve_tool(app, "lti-scroll-tool") as server:
        yield server


@pytest.fixture(scope="module")
def other_site() -> Iterator[str]:
    """The sample exam served as plain files by another site (http://127.0.0.1:<port>),
    which, unlike our app, lets any page frame it."""
    folder = Path(__file__).parents[2] / "proctor_web" / "static" / "sample-exam"
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="other-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def lms(tool: LiveServer):
    with registered_lms(tool, CLIENT_ID, DEPLOYMENT_ID, "Scroll test LMS", "chem-101",
                        {"title": "Chemistry 101", "label": "CHEM101"}) as platform:
        yield platform


def _exam(tool: LiveServer, content_id: str, content_url: str) -> None:
    from proctor_web.lti.tool.provisioning import _course_id_for
    from proctor_web.services import courses, exams

    with tool.app.app_context():
        platform = registration.find_platform(
            registration.all_platforms()[0].issuer, CLIENT_ID)
        course_id = _course_id_for(platform, "chem-101")
        courses.ensure_course(course_id, utcnow(), "Chemistry 101")
        if exams.find_exam(course_id, content_id) is None:
            exams.create_exam(course_id, content_id, {
                "exam_name": "Scroll quiz", "time_limit_mins": 30,
                "content_url": content_url}, None, utcnow())
        db.session.commit()


def _start_in_lms(page, lms, tool, learner: str, content_id: str, **query: str):
    """The learner launched from the LMS's course page into the exam, started; returns the
    frame locator and the tool's frame."""
    page.goto(f"{lms.url}/course/chem-101?" + urlencode({
        "user_id": learner, "roles": "Learner", "name": learner.title(),
        "resource_link_id": f"rl-{content_id}-{learner}", "custom_content_id": content_id,
        **query}))
    frame = page.frame_locator("#tool-frame")
    start = frame.get_by_role("button", name="Start my timed exam")
    expect(start).to_be_visible(timeout=20_000)
    tool_frame = next(f for f in page.frames if f.url.startswith(tool.url))
    tool_frame.wait_for_function("() => window.proctorWeb !== undefined")
    start.click()
    expect(frame.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    tool_frame = next(f for f in page.frames if f.url.startswith(tool.url))
    tool_frame.wait_for_function("() => window.proctorWeb !== undefined")
    content = frame.frame_locator("iframe.exam-content")
    expect(content.get_by_role("heading", level=1)).to_have_text("Sample exam: Proctoring 101")
    # The content frame has been fitted to its content.
    tool_frame.wait_for_function(
        "() => document.querySelector('iframe.exam-content').dataset.fitted !== undefined")
    return frame, tool_frame


def _no_axe_violations(frame) -> None:
    results = Axe().run(frame, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def _shot(page, artifacts_dir: Path, name: str) -> None:
    folder = artifacts_dir / "lti"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("where", ["same-site", "other-site"])
def test_a_frame_the_lms_sizes_to_the_page_grows_and_nothing_inside_scrolls(
    tool, lms, lms_page, artifacts_dir, other_site, where
) -> None:
    # On another site, the page tells its height with lti.frameResize (the sample does).
    content_url = other_site if where == "other-site" else "/static/sample-exam/index.html"
    content_id = f"scroll-resized-{where}"
    _exam(tool, content_id, content_url)
    violations = watch_csp_violations(lms_page)
    frame, tool_frame = _start_in_lms(lms_page, lms, tool, f"resized-{where}", content_id)

    # The LMS's frame grew to the page: our document fits it and scrolls nowhere.
    lms_page.wait_for_function(
        """(min) => document.getElementById('tool-frame').getBoundingClientRect().height > min""",
        arg=LMS_FRAME_HEIGHT + 100)
    tool_frame.wait_for_function(
        "() => document.documentElement.scrollHeight <= innerHeight + 1")
    sizes = tool_frame.evaluate(SCROLL_SURFACES)
    assert sizes["nested"] == [], sizes
    assert sizes["page"] <= sizes["window"] <= sizes["page"] + 16, sizes
    assert sizes["wide"] <= sizes["width"], sizes
    [content] = sizes["frames"]
    if where == "other-site":
        other = next(f for f in lms_page.frames if f.url == other_site)
        content.update(other.evaluate("""() => {
            const root = document.documentElement;
            return {scroll: root.scrollHeight, client: root.clientHeight,
                    content: Math.ceil(root.getBoundingClientRect().height)};
        }"""))
    # Nothing scrolls inside the exam's content: its frame is as tall as its page.
    assert content["scroll"] <= content["client"] + 1, content
    assert abs(content["client"] - content["content"]) <= 2, content
    assert int(content["fitted"]) >= 500, content  # the questions, not a fixed box
    frame_height = lms_page.evaluate(
        "document.getElementById('tool-frame').getBoundingClientRect().height")
    assert frame_height >= sizes["page"], (frame_height, sizes)
    resized = [m for m in lms_page.locator("#messages li").all_inner_texts()
               if '"lti.frameResize"' in m]
    assert resized and f'"height":{sizes["window"]}' in resized[-1].replace(" ", ""), resized

    # The LMS's page scrolls, not ours: the clock also stands beside "End my exam".
    expect(frame.locator("body")).to_have_class("exam-running timer-unpinned")
    echo = frame.locator("#timer-echo")
    expect(echo).to_be_visible()
    expect(echo).to_contain_text("Time remaining")
    expect(echo.locator(".timer-value")).to_have_text(re.compile(r"^0:(29|30):\d\d$"))
    _no_axe_violations(tool_frame)
    _shot(lms_page, artifacts_dir, f"scroll-01-resized-frame-{where}")
    assert violations == []


def test_a_frame_of_fixed_height_scrolls_the_page_once_with_the_timer_pinned(
    tool, lms, lms_page, artifacts_dir
) -> None:
    _exam(tool, "scroll-fixed", "/static/sample-exam/index.html")
    frame, tool_frame = _start_in_lms(lms_page, lms, tool, "fixed", "scroll-fixed",
                                      resize="no")
    height = lms_page.evaluate(
        "document.getElementById('tool-frame').getBoundingClientRect().height")
    assert height == LMS_FRAME_HEIGHT + 2  # its border: the LMS kept its size
    sizes = tool_frame.evaluate(SCROLL_SURFACES)
    assert sizes["nested"] == [], sizes
    [content] = sizes["frames"]
    assert content["scroll"] <= content["client"] + 1, content
    assert abs(content["client"] - content["content"]) <= 2, content
    # The one scroll: the frame's document, with the timer bar pinned to its top.
    assert sizes["scroll"] > sizes["window"], sizes
    tool_frame.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    tool_frame.wait_for_function("() => scrollY > 0")
    bar = tool_frame.evaluate("document.getElementById('timer').getBoundingClientRect().top")
    assert 0 <= bar <= 2, bar
    expect(frame.get_by_role("button", name="End my exam")).to_be_in_viewport()
    expect(frame.locator("body")).not_to_have_class("exam-running timer-unpinned")
    expect(frame.locator("#timer-echo")).to_be_hidden()
    _no_axe_violations(tool_frame)
    _shot(lms_page, artifacts_dir, "scroll-02-fixed-frame")
