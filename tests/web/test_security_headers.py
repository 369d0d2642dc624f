"""Security headers: a strict CSP on every HTML page, nosniff, a referrer policy, and no-store
on everything personal; and templates with no inline script or style for the CSP to block."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from proctor_web.backends.mock import MockBackend
from proctor_web.extensions import db
from proctor_web.models import utcnow
from tests.conftest import make_sign_in
from tests.factories import COURSE_ID

PACKAGE = Path(__file__).resolve().parents[2] / "proctor_web"
ENCODED = COURSE_ID  # the test client quotes what it must


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    found = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        found[name] = sources
    return found


def assert_strict_csp(response) -> None:
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"][0] == "'self'"
    assert not any("unsafe" in source for sources in csp.values() for source in sources)


def assert_common_headers(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.fixture
def world(factory):
    learner = factory.learner(username="lea", password="lea-password")
    staff = factory.course_staff(username="sid")
    exam = factory.exam("timed", content_id="quiz")
    factory.attempt(exam, learner, "started", started_minutes_ago=5)
    db.session.commit()
    return {"learner": learner, "staff": staff, "exam": exam}


@pytest.fixture
def sign_in(app, client):
    return make_sign_in(app, client)


def test_anonymous_html_pages(client):
    for path in ("/login", "/nothing-here", "/static/mock-proctoring-software.html",
                 "/static/sample-exam/index.html"):
        response = client.get(path)
        assert response.mimetype == "text/html", path
        assert_strict_csp(response)
        assert_common_headers(response)
    assert client.get("/login").headers["Cache-Control"] == "no-store"  # carries a CSRF token


def test_signed_in_learner_pages_and_json(world, sign_in, client):
    sign_in(world["learner"])
    for path in ("/", f"/courses/{ENCODED}/exams/quiz"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert_strict_csp(page)
        assert_common_headers(page)
        assert page.headers["Cache-Control"] == "no-store"
    for path in ("/api/edx_proctoring/v1/proctored_exam/attempt",
                 f"/api/edx_proctoring/v1/proctored_exam/attempt/course_id/{ENCODED}",
                 "/api/edx_proctoring/v1/proctored_exam/active_attempt"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.is_json, path
        assert_common_headers(answer)
        assert answer.headers["Cache-Control"] == "no-store", path


def test_instructor_pages_and_csv_exports(world, sign_in, client):
    sign_in(world["staff"])
    base = f"/courses/{ENCODED}/instructor/"
    for rest in ("", "attempts", "allowances", "exams", "onboarding"):
        page = client.get(base + rest)
        assert page.status_code == 200, rest
        assert_strict_csp(page)
        assert page.headers["Cache-Control"] == "no-store", rest
    export = client.get(base + "export/attempts.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.headers["Cache-Control"] == "no-store"
    assert_common_headers(export)


def test_static_files_stay_cacheable(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert_common_headers(response)


def test_frame_ancestors_follow_the_configuration(world, sign_in, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "FRAME_ANCESTORS", ["https://lms.example.org"])
    sign_in(world["learner"])
    page = client.get(f"/courses/{ENCODED}/exams/quiz")
    assert directives(page)["frame-ancestors"] == ["'self'", "https://lms.example.org"]
    assert_strict_csp(page)


def test_exam_content_on_another_site_may_be_framed(world, factory, sign_in, client):
    exam = factory.exam("timed", content_id="lms-quiz",
                        content_url="https://lms.example.org/courses/x/jump_to/block")
    factory.attempt(exam, world["learner"], "started", started_at=utcnow() - timedelta(minutes=5),
                    allowed_time_limit_mins=60)
    db.session.commit()
    sign_in(world["learner"])
    page = client.get(f"/courses/{ENCODED}/exams/lms-quiz")
    assert 'src="https://lms.example.org/courses/x/jump_to/block"' in page.get_data(as_text=True)
    assert directives(page)["frame-src"] == ["'self'", "https://lms.example.org"]
    assert_strict_csp(page)
    assert "frame-src" not in directives(client.get(f"/courses/{ENCODED}/exams/quiz"))


class _WorkerBackend(MockBackend):
    def get_javascript(self) -> str | None:
        return "https://worker.provider.example/v1/worker.js"


@pytest.fixture
def worker_backend(app):
    registry = app.extensions["proctor_backends"]
    registry._backends["mock_js"] = _WorkerBackend("mock_js", {"ready_after_seconds": 0})
    yield
    registry._backends.pop("mock_js", None)


def test_only_the_page_running_a_provider_worker_may_load_it(world, factory, sign_in, client,
                                                             worker_backend):
    exam = factory.exam("proctored", content_id="final", backend="mock_js")
    factory.attempt(exam, world["learner"], "started", started_minutes_ago=5,
                    external_id="w-1")
    db.session.commit()
    sign_in(world["learner"])
    page = client.get(f"/courses/{ENCODED}/exams/final")
    assert page.status_code == 200
    csp = directives(page)
    assert csp["worker-src"] == ["'self'", "blob:"]
    assert csp["script-src"] == ["'self'", "https://worker.provider.example"]
    assert "https://worker.provider.example" in csp["connect-src"]
    assert csp["style-src"] == ["'self'"] and csp["default-src"] == ["'self'"]
    # The next page, without a worker, is strict again.
    assert_strict_csp(client.get(f"/courses/{ENCODED}/exams/quiz"))


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>",
                           re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.I)


@pytest.mark.parametrize("path", sorted(
    p for p in [*PACKAGE.glob("templates/**/*.html"), *PACKAGE.glob("static/**/*.html")]
    if "emails" not in p.parts  # emails are not web pages; mail clients need inline style
), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_inline_script_or_style(path):
    html = path.read_text()
    assert not INLINE_SCRIPT.findall(html)
    assert not INLINE_STYLE.findall(html)
