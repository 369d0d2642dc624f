"""Who may open which instructor page and endpoint, and that nothing of another course leaks.

Every page and JSON endpoint of the dashboard is listed once in ``ROUTES``; each is tried by
an anonymous visitor, a learner of the course, staff of another course, staff of this course
and global staff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from proctor_web.extensions import db
from proctor_web.models import Allowance, Attempt
from proctor_web.services import allowances
from tests.instructor.conftest import Dash, page_url

API = "/api/edx_proctoring/v1"
ROLES = ("anonymous", "learner", "other_staff", "staff", "global_staff")


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    url: Callable[[Dash, Any], str]
    ok: int
    body: Callable[[Dash, Any], Any] | None = None
    json: bool = False
    #: Readable by the course's learners too (exam metadata, as edx-proctoring allows).
    learner_ok: bool = False


def _allowance(dash: Dash, ctx: Any) -> Allowance:
    return ctx["allowance"]


ROUTES = [
    # Pages
    Route("overview", "GET", lambda d, c: page_url(d.course_id), 200),
    Route("attempts", "GET", lambda d, c: page_url(d.course_id, "attempts?q=learner"), 200),
    Route("attempt detail", "GET",
          lambda d, c: page_url(d.course_id, f"attempts/{d.submitted.id}"), 200),
    Route("confirm verify", "GET",
          lambda d, c: page_url(d.course_id, f"attempts/{d.submitted.id}/verify"), 200),
    Route("verify", "POST", lambda d, c: page_url(d.course_id, f"attempts/{d.submitted.id}/verify"),
          302, lambda d, c: {"reason": "video reviewed"}),
    Route("reject", "POST", lambda d, c: page_url(d.course_id, f"attempts/{d.submitted.id}/reject"),
          302, lambda d, c: {"reason": "notes in view"}),
    Route("reset", "POST", lambda d, c: page_url(d.course_id, f"attempts/{d.submitted.id}/reset"),
          302, lambda d, c: {"reason": "fire alarm"}),
    Route("resume", "POST", lambda d, c: page_url(d.course_id, f"attempts/{d.errored.id}/resume"),
          302, lambda d, c: {"reason": ""}),
    Route("allowances", "GET", lambda d, c: page_url(d.course_id, "allowances"), 200),
    Route("allowance add", "POST", lambda d, c: page_url(d.course_id, "allowances"), 302,
          lambda d, c: {"users": "learner1, learner2", "exam_ids": [str(d.proctored.id)],
                        "allowance_type": "additional_time_granted", "value": "15"}),
    Route("allowance edit form", "GET",
          lambda d, c: page_url(d.course_id, f"allowances/{c['allowance'].id}/edit"), 200),
    Route("allowance edit", "POST",
          lambda d, c: page_url(d.course_id, f"allowances/{c['allowance'].id}/edit"), 302,
          lambda d, c: {"value": "45"}),
    Route("allowance delete confirm", "GET",
          lambda d, c: page_url(d.course_id, f"allowances/{c['allowance'].id}/delete"), 200),
    Route("allowance delete", "POST",
          lambda d, c: page_url(d.course_id, f"allowances/{c['allowance'].id}/delete"), 302,
          lambda d, c: {}),
    Route("onboarding", "GET", lambda d, c: page_url(d.course_id, "onboarding"), 200),
    Route("exams", "GET", lambda d, c: page_url(d.course_id, "exams"), 200),
    Route("exam new form", "GET", lambda d, c: page_url(d.course_id, "exams/new"), 200),
    Route("exam create", "POST", lambda d, c: page_url(d.course_id, "exams/new"), 302,
          lambda d, c: {"exam_name": "Made here", "content_id": "made-here",
                        "time_limit_mins": "30", "exam_type": "timed", "is_active": "true"}),
    Route("exam edit form", "GET",
          lambda d, c: page_url(d.course_id, f"exams/{d.timed.id}/edit"), 200),
    Route("exam edit", "POST", lambda d, c: page_url(d.course_id, f"exams/{d.timed.id}/edit"),
          302, lambda d, c: {"exam_name": "Quiz Renamed", "time_limit_mins": "25",
                             "exam_type": "timed", "is_active": "true"}),
    Route("course settings", "POST", lambda d, c: page_url(d.course_id, "settings"), 302,
          lambda d, c: {"proctoring_escalation_email": "help@example.com"}),
    Route("attempts csv", "GET", lambda d, c: page_url(d.course_id, "export/attempts.csv"), 200),
    Route("violations csv", "GET",
          lambda d, c: page_url(d.course_id, "export/violations.csv"), 200),
    # JSON endpoints
    Route("api exam create", "POST", lambda d, c: f"{API}/proctored_exam/exam", 200,
          lambda d, c: {"course_id": d.course_id, "content_id": "api-made", "exam_name": "API",
                        "time_limit_mins": 20}, json=True),
    Route("api exam update", "PUT", lambda d, c: f"{API}/proctored_exam/exam", 200,
          lambda d, c: {"exam_id": d.timed.id, "time_limit_mins": 35}, json=True),
    Route("api exam get", "GET",
          lambda d, c: f"{API}/proctored_exam/exam/exam_id/{d.proctored.id}", 200,
          json=True, learner_ok=True),
    Route("api exam by content", "GET",
          lambda d, c: f"{API}/proctored_exam/exam/course_id/{d.course_id}/content_id/"
          f"{d.proctored.content_id}", 200, json=True, learner_ok=True),
    Route("api exams of course", "GET",
          lambda d, c: f"{API}/proctored_exam/exam/course_id/{d.course_id}", 200, json=True,
          learner_ok=True),
    Route("api exam registration", "PATCH",
          lambda d, c: f"{API}/proctored_exam/exam_registration/course_id/{d.course_id}", 200,
          lambda d, c: [{"content_id": d.timed.content_id, "exam_name": "Quiz One",
                         "time_limit_mins": 30}], json=True),
    Route("api grouped attempts", "GET",
          lambda d, c: f"{API}/proctored_exam/attempt/grouped/course_id/{d.course_id}", 200,
          json=True),
    Route("api grouped attempts search", "GET",
          lambda d, c: f"{API}/proctored_exam/attempt/grouped/course_id/{d.course_id}"
          "/search/learner1", 200, json=True),
    Route("api delete attempt", "DELETE",
          lambda d, c: f"{API}/proctored_exam/attempt/{d.submitted.id}", 200, json=True),
    Route("api reset attempts", "DELETE",
          lambda d, c: f"{API}/proctored_exam/exam_id/{d.proctored.id}/user_id/"
          f"{d.learner.id}/reset_attempts", 200, json=True),
    Route("api allowances", "GET", lambda d, c: f"{API}/proctored_exam/{d.course_id}/allowance",
          200, json=True),
    Route("api grouped allowances", "GET",
          lambda d, c: f"{API}/proctored_exam/{d.course_id}/grouped/allowance", 200, json=True),
    Route("api allowance put", "PUT", lambda d, c: f"{API}/proctored_exam/allowance", 200,
          lambda d, c: {"exam_id": d.proctored.id, "user_info": "learner2",
                        "key": "additional_time_granted", "value": "10"}, json=True),
    Route("api allowance delete", "DELETE", lambda d, c: f"{API}/proctored_exam/allowance", 200,
          lambda d, c: {"exam_id": d.proctored.id, "user_id": d.learner.id,
                        "key": "additional_time_granted"}, json=True),
    Route("api bulk allowance", "PUT", lambda d, c: f"{API}/proctored_exam/bulk_allowance", 200,
          lambda d, c: {"course_id": d.course_id, "exam_ids": f"{d.proctored.id}",
                        "user_ids": "learner1,learner2", "allowance_type": "time_multiplier",
                        "value": "1.5"}, json=True),
    Route("api bulk allowance in course", "PUT",
          lambda d, c: f"{API}/proctored_exam/{d.course_id}/bulk_allowance", 200,
          lambda d, c: {"exam_ids": f"{d.proctored.id}", "user_ids": "learner2",
                        "allowance_type": "additional_time_granted", "value": "5"}, json=True),
    Route("api onboarding status", "GET",
          lambda d, c: f"{API}/user_onboarding/status/course_id/{d.course_id}", 200, json=True),
]


@pytest.fixture
def ctx(dash, factory, now) -> dict[str, Any]:
    allowance = allowances.set_allowance(dash.proctored, dash.learner, "additional_time_granted",
                                         "30", dash.staff, now)
    db.session.commit()
    return {"allowance": allowance}


def _user(dash: Dash, role: str):
    return {
        "anonymous": None,
        "learner": dash.learner,
        "other_staff": dash.other_staff,
        "staff": dash.staff,
        "global_staff": dash.global_staff,
    }[role]


def _call(client, route: Route, dash: Dash, ctx: Any):
    url = route.url(dash, ctx)
    body = route.body(dash, ctx) if route.body else None
    kwargs: dict[str, Any] = {}
    if body is not None:
        if route.json:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        else:
            kwargs = {"data": body}
    return client.open(url, method=route.method, **kwargs)


def _expected(route: Route, role: str) -> int:
    if role == "anonymous":
        return 401 if route.json else 302
    if role in ("staff", "global_staff"):
        return route.ok
    if role == "learner" and route.learner_ok:
        return route.ok
    return 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_permission_matrix(route: Route, role: str, dash, ctx, login_as, client, session):
    login_as(_user(dash, role))
    attempts_before = session.query(Attempt).count()
    response = _call(client, route, dash, ctx)
    expected = _expected(route, role)
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    if role == "anonymous" and not route.json:
        assert "/login?next=" in response.headers["Location"]
    if expected in (401, 403):
        # Refused callers learn nothing of the course and change nothing.
        text = response.get_data(as_text=True)
        assert "learner2" not in text and "Final Exam" not in text
        assert session.query(Attempt).count() == attempts_before
        if route.json:
            assert "detail" in response.get_json()


@pytest.mark.parametrize("rest", ["", "attempts", "allowances", "onboarding", "exams",
                                  "export/attempts.csv"])
def test_staff_of_one_course_cannot_open_another(rest, dash, login_as, client):
    login_as(dash.staff)
    response = client.get(page_url(dash.other_exam.course_id, rest))
    assert response.status_code == 403
    assert "Secret Exam" not in response.get_data(as_text=True)


def test_unknown_course_is_404(dash, login_as, client):
    login_as(dash.global_staff)
    assert client.get(page_url("course-v1:Nope+N+1")).status_code == 404


def test_other_course_rows_never_appear_through_this_course(dash, ctx, login_as, client, now):
    other_allowance = allowances.set_allowance(dash.other_exam, dash.outsider,
                                               "additional_time_granted", "5", None, now)
    db.session.commit()
    login_as(dash.staff)
    cid = dash.course_id
    # Another course's attempt or allowance addressed through this course's URLs: 404.
    assert client.get(page_url(cid, f"attempts/{dash.other_attempt.id}")).status_code == 404
    assert client.post(page_url(cid, f"attempts/{dash.other_attempt.id}/reset"),
                       data={"reason": "x"}).status_code == 404
    assert client.get(page_url(cid, f"allowances/{other_allowance.id}/edit")).status_code == 404
    assert client.post(page_url(cid, f"allowances/{other_allowance.id}/delete")).status_code == 404
    assert client.get(page_url(cid, f"exams/{dash.other_exam.id}/edit")).status_code == 404
    # Lists and exports of this course hold none of the other course's rows.
    for rest in ("", "attempts", "allowances", "onboarding", "exams", "export/attempts.csv",
                 "export/violations.csv"):
        text = client.get(page_url(cid, rest)).get_data(as_text=True)
        assert "outsider" not in text and "Secret Exam" not in text, rest
    # JSON: another course's attempt, exam and allowance refuse this course's staff.
    assert client.delete(f"{API}/proctored_exam/attempt/{dash.other_attempt.id}").status_code == 403
    assert client.delete(f"{API}/proctored_exam/exam_id/{dash.other_exam.id}/user_id/"
                         f"{dash.outsider.id}/reset_attempts").status_code == 403
    assert client.put(f"{API}/proctored_exam/exam", json={"exam_id": dash.other_exam.id,
                                                           "exam_name": "x"}).status_code == 403
    assert client.get(f"{API}/proctored_exam/exam/exam_id/{dash.other_exam.id}").status_code == 403
    assert client.put(f"{API}/proctored_exam/allowance", json={
        "exam_id": dash.other_exam.id, "user_info": "outsider",
        "key": "additional_time_granted", "value": "9"}).status_code == 403
    # A learner of the other course cannot be given an allowance through this course.
    response = client.put(f"{API}/proctored_exam/allowance", json={
        "exam_id": dash.proctored.id, "user_info": "outsider",
        "key": "additional_time_granted", "value": "9"})
    assert response.status_code == 400 and "outsider" in response.get_json()["detail"]
    # Bulk with the other course's exam id: that row fails, nothing is written there.
    response = client.put(f"{API}/proctored_exam/bulk_allowance", json={
        "course_id": cid, "exam_ids": f"{dash.proctored.id},{dash.other_exam.id}",
        "user_ids": "learner2", "allowance_type": "additional_time_granted", "value": "7"})
    assert response.status_code == 207
    assert response.get_json() == [{"exam_id": dash.other_exam.id, "user_id": "learner2",
                                    "detail": f"Exam {dash.other_exam.id} is not in this course."}]
    assert allowances.extra_minutes(dash.learner2.id, dash.other_exam.id) == 0
    grouped = client.get(f"{API}/proctored_exam/attempt/grouped/course_id/{cid}").get_json()
    assert {a["proctored_exam"]["course_id"] for a in grouped["proctored_exam_attempts"]} == {cid}
