"""Bad input on every dashboard form and JSON endpoint: a clear 4xx message, nothing changed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from proctor_web.extensions import db
from proctor_web.models import (
    Allowance,
    AllowanceHistory,
    Attempt,
    AttemptHistory,
    Course,
    Exam,
    ReviewPolicy,
)
from proctor_web.services import allowances
from tests.instructor.conftest import page_url

API = "/api/edx_proctoring/v1"


def snapshot() -> dict[str, Any]:
    """Everything a dashboard write could touch."""
    return {
        "exams": db.session.execute(select(Exam.id, Exam.exam_name, Exam.time_limit_mins,
                                           Exam.due_date, Exam.is_active, Exam.is_proctored)
                                    .order_by(Exam.id)).all(),
        "policies": db.session.execute(select(ReviewPolicy.exam_id, ReviewPolicy.review_policy)
                                       .order_by(ReviewPolicy.id)).all(),
        "attempts": db.session.execute(select(Attempt.id, Attempt.status, Attempt.ready_to_resume)
                                       .order_by(Attempt.id)).all(),
        "attempt_history": db.session.execute(select(func.count(AttemptHistory.id))).scalar(),
        "allowances": db.session.execute(select(Allowance.user_id, Allowance.exam_id,
                                                Allowance.key, Allowance.value)
                                         .order_by(Allowance.id)).all(),
        "allowance_history": db.session.execute(
            select(func.count(AllowanceHistory.id))).scalar(),
        "courses": db.session.execute(select(Course.course_id, Course.proctoring_escalation_email,
                                             Course.allow_proctoring_opt_out)
                                      .order_by(Course.id)).all(),
    }


@pytest.fixture
def seeded(dash, now):
    allowance = allowances.set_allowance(dash.proctored, dash.learner, "additional_time_granted",
                                         "30", dash.staff, now)
    db.session.commit()
    return allowance


GOOD_EXAM = {"exam_name": "Ok", "content_id": "ok-exam", "time_limit_mins": "30",
             "exam_type": "timed", "is_active": "true"}

# (name, method, url(dash, allowance), form data, words the message must contain)
FORM_CASES = [
    ("page not a number", "GET", lambda d, a: page_url(d.course_id, "attempts?page=abc"), None,
     "page"),
    ("unknown status", "GET", lambda d, a: page_url(d.course_id, "attempts?status=lost"), None,
     "unknown status"),
    ("unknown type", "GET", lambda d, a: page_url(d.course_id, "attempts?type=oral"), None,
     "type"),
    ("unknown sort", "GET", lambda d, a: page_url(d.course_id, "attempts?sort=shoe"), None,
     "sort"),
    ("exam not an id", "GET", lambda d, a: page_url(d.course_id, "attempts?exam=x"), None,
     "exam"),
    ("onboarding status", "GET", lambda d, a: page_url(d.course_id, "onboarding?status=happy"),
     None, "unknown onboarding status"),
    ("onboarding page", "GET", lambda d, a: page_url(d.course_id, "onboarding?page=0"), None,
     "page"),
    ("verify without reason", "POST",
     lambda d, a: page_url(d.course_id, f"attempts/{d.submitted.id}/verify"), {"reason": ""},
     "say why"),
    ("reset without reason", "POST",
     lambda d, a: page_url(d.course_id, f"attempts/{d.submitted.id}/reset"), {}, "say why"),
    ("reason too long", "POST",
     lambda d, a: page_url(d.course_id, f"attempts/{d.submitted.id}/reject"),
     {"reason": "x" * 2001}, "2000"),
    ("resume a submitted attempt", "POST",
     lambda d, a: page_url(d.course_id, f"attempts/{d.submitted.id}/resume"), None,
     "cannot mark ready to resume an attempt that is submitted"),
    ("allowance without learners", "POST", lambda d, a: page_url(d.course_id, "allowances"),
     {"users": " ", "exam_ids": ["1"], "allowance_type": "additional_time_granted",
      "value": "5"}, "at least one username"),
    ("allowance without exams", "POST", lambda d, a: page_url(d.course_id, "allowances"),
     {"users": "learner1", "allowance_type": "additional_time_granted", "value": "5"},
     "at least one exam"),
    ("allowance bad type", "POST", lambda d, a: page_url(d.course_id, "allowances"),
     {"users": "learner1", "exam_ids": ["1"], "allowance_type": "bribe", "value": "5"},
     "allowance_type"),
    ("allowance minutes not a number", "POST", lambda d, a: page_url(d.course_id, "allowances"),
     {"users": "learner1", "exam_ids": ["1"], "allowance_type": "additional_time_granted",
      "value": "ten"}, "whole number of minutes"),
    ("allowance zero minutes", "POST", lambda d, a: page_url(d.course_id, "allowances"),
     {"users": "learner1", "exam_ids": ["1"], "allowance_type": "additional_time_granted",
      "value": "0"}, "whole number of minutes"),
    ("multiplier below one", "POST", lambda d, a: page_url(d.course_id, "allowances"),
     {"users": "learner1", "exam_ids": ["1"], "allowance_type": "time_multiplier",
      "value": "0.5"}, "greater than 1"),
    ("multiplier not a number", "POST", lambda d, a: page_url(d.course_id, "allowances"),
     {"users": "learner1", "exam_ids": ["1"], "allowance_type": "time_multiplier",
      "value": "lots"}, "number such as 1.5"),
    ("empty policy exception", "POST", lambda d, a: page_url(d.course_id, "allowances"),
     {"users": "learner1", "exam_ids": ["1"], "allowance_type": "review_policy_exception",
      "value": ""}, "needs some text"),
    ("only unknown learners", "POST", lambda d, a: page_url(d.course_id, "allowances"),
     {"users": "ghost", "exam_ids": ["2"], "allowance_type": "additional_time_granted",
      "value": "5"}, "No learner"),
    ("edit allowance negative", "POST",
     lambda d, a: page_url(d.course_id, f"allowances/{a.id}/edit"), {"value": "-5"},
     "whole number of minutes"),
    ("exam without name", "POST", lambda d, a: page_url(d.course_id, "exams/new"),
     {**GOOD_EXAM, "exam_name": ""}, "exam_name"),
    ("exam without content id", "POST", lambda d, a: page_url(d.course_id, "exams/new"),
     {**GOOD_EXAM, "content_id": " "}, "content_id"),
    ("exam zero minutes", "POST", lambda d, a: page_url(d.course_id, "exams/new"),
     {**GOOD_EXAM, "time_limit_mins": "0"}, "at least 1"),
    ("exam minutes not a number", "POST", lambda d, a: page_url(d.course_id, "exams/new"),
     {**GOOD_EXAM, "time_limit_mins": "an hour"}, "whole number"),
    ("exam bad due date", "POST", lambda d, a: page_url(d.course_id, "exams/new"),
     {**GOOD_EXAM, "due_date": "next friday"}, "ISO-8601"),
    ("exam bad type", "POST", lambda d, a: page_url(d.course_id, "exams/new"),
     {**GOOD_EXAM, "exam_type": "oral"}, "exam_type"),
    ("exam duplicate content id", "POST", lambda d, a: page_url(d.course_id, "exams/new"),
     {**GOOD_EXAM, "content_id": "dup"}, "already exists"),
    ("proctored exam unknown provider", "POST", lambda d, a: page_url(d.course_id, "exams/new"),
     {**GOOD_EXAM, "exam_type": "proctored", "backend": "acme"}, "not configured"),
    ("review policy on a timed exam", "POST", lambda d, a: page_url(d.course_id, "exams/new"),
     {**GOOD_EXAM, "review_policy": "Open book"}, "only proctored exams"),
    ("edit exam bad minutes", "POST",
     lambda d, a: page_url(d.course_id, f"exams/{d.proctored.id}/edit"),
     {**GOOD_EXAM, "exam_type": "proctored", "backend": "mock", "time_limit_mins": "-1"},
     "at least 1"),
    ("course settings bad email", "POST", lambda d, a: page_url(d.course_id, "settings"),
     {"proctoring_escalation_email": "not-an-email"}, "not an email address"),
]


@pytest.mark.parametrize("case", FORM_CASES, ids=[c[0] for c in FORM_CASES])
def test_bad_form_input(case, dash, seeded, factory, login_as, client):
    name, method, url, data, words = case
    if name == "exam duplicate content id":
        factory.exam("timed", content_id="dup")
        db.session.commit()
    login_as(dash.staff)
    before = snapshot()
    response = client.open(url(dash, seeded), method=method, data=data)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert 'role="alert"' in text or "We could not do that" in text
    if words:
        assert words in text.replace("&#39;", "'").replace("&#34;", '"')
    db.session.expire_all()
    assert snapshot() == before


PE = f"{API}/proctored_exam"


def api_cases(d) -> dict[str, tuple]:
    """name -> (method, url, body or None, status, words in detail, field or None)."""
    cid = d.course_id
    minutes = "additional_time_granted"
    return {
        "exam create no course": ("POST", f"{PE}/exam", {
            "content_id": "x", "exam_name": "x", "time_limit_mins": 5}, 400, "course_id",
            "course_id"),
        "exam create bad limit": ("POST", f"{PE}/exam", {
            "course_id": cid, "content_id": "x", "exam_name": "x", "time_limit_mins": "soon"},
            400, "whole number", "time_limit_mins"),
        "exam create duplicate": ("POST", f"{PE}/exam", {
            "course_id": cid, "content_id": d.timed.content_id, "exam_name": "x",
            "time_limit_mins": 5}, 400, "already exists", None),
        "exam create body not object": ("POST", f"{PE}/exam", ["x"], 400, "JSON object", None),
        "exam update no id": ("PUT", f"{PE}/exam", {"exam_name": "x"}, 400, "exam_id",
                              "exam_id"),
        "exam update unknown id": ("PUT", f"{PE}/exam", {"exam_id": 999999, "exam_name": "x"},
                                   404, "does not exist", None),
        "exam update bad flag": ("PUT", f"{PE}/exam", {"exam_id": d.timed.id,
                                                       "is_active": "perhaps"},
                                 400, "true or false", "is_active"),
        "exam get unknown": ("GET", f"{PE}/exam/exam_id/999999", None, 404, "does not exist",
                             None),
        "exam by unknown content": ("GET", f"{PE}/exam/course_id/{cid}/content_id/nope", None,
                                    404, "nope", None),
        "registration not a list": ("PATCH", f"{PE}/exam_registration/course_id/{cid}",
                                    {"content_id": "x"}, 422, "list", None),
        "registration bad item": ("PATCH", f"{PE}/exam_registration/course_id/{cid}", [
            {"content_id": "a", "exam_name": "A", "time_limit_mins": 5},
            {"exam_name": "no content id", "time_limit_mins": 5}], 422, "exam #2", None),
        "grouped bad page": ("GET", f"{PE}/attempt/grouped/course_id/{cid}?page=two", None, 400,
                             "page", "page"),
        "grouped unknown course": ("GET", f"{PE}/attempt/grouped/course_id/course-v1:No+No+No",
                                   None, 404, "No course", None),
        "delete unknown attempt": ("DELETE", f"{PE}/attempt/999999", None, 404,
                                   "does not exist", None),
        "reset with no attempts": ("DELETE", f"{PE}/exam_id/{d.timed.id}/user_id/"
                                   f"{d.learner.id}/reset_attempts", None, 404, "no attempt",
                                   None),
        "reset unknown user": ("DELETE", f"{PE}/exam_id/{d.timed.id}/user_id/999999/"
                               "reset_attempts", None, 404, "does not exist", None),
        "allowance bad key": ("PUT", f"{PE}/allowance", {
            "exam_id": d.proctored.id, "user_info": "learner1", "key": "luck", "value": "1"},
            400, "allowance_type", "allowance_type"),
        "allowance bad value": ("PUT", f"{PE}/allowance", {
            "exam_id": d.proctored.id, "user_info": "learner1", "key": minutes, "value": "-3"},
            400, "whole number of minutes", "allowance_value"),
        "allowance unknown user": ("PUT", f"{PE}/allowance", {
            "exam_id": d.proctored.id, "user_info": "ghost", "key": minutes, "value": "3"},
            400, "No learner", "user_info"),
        "allowance no exam": ("PUT", f"{PE}/allowance", {
            "user_info": "learner1", "key": minutes, "value": "3"}, 400, "exam_id", "exam_id"),
        "allowance delete missing": ("DELETE", f"{PE}/allowance", {
            "exam_id": d.timed.id, "user_id": d.learner.id, "key": minutes}, 404, "has no",
            None),
        "allowance delete bad key": ("DELETE", f"{PE}/allowance", {
            "exam_id": d.timed.id, "user_id": d.learner.id, "key": "x"}, 400, "key", "key"),
        "bulk bad value": ("PUT", f"{PE}/bulk_allowance", {
            "course_id": cid, "exam_ids": f"{d.proctored.id}", "user_ids": "learner1",
            "allowance_type": "time_multiplier", "value": "x"}, 400, "1.5", "allowance_value"),
        "bulk nobody": ("PUT", f"{PE}/bulk_allowance", {
            "course_id": cid, "exam_ids": f"{d.proctored.id}", "user_ids": "ghost,phantom",
            "allowance_type": minutes, "value": "5"}, 400, "No learner", "user_info"),
        "bulk exam ids not ids": ("PUT", f"{PE}/bulk_allowance", {
            "course_id": cid, "exam_ids": "first,second", "user_ids": "learner1",
            "allowance_type": minutes, "value": "5"}, 400, "exam ids", "exam_ids"),
        "bulk no course": ("PUT", f"{PE}/bulk_allowance", {
            "exam_ids": "1", "user_ids": "learner1", "allowance_type": minutes, "value": "5"},
            400, "course_id", "course_id"),
        "onboarding bad status": ("GET", f"{API}/user_onboarding/status/course_id/{cid}"
                                  "?statuses=verified,nice", None, 400, "nice", "statuses"),
        "onboarding without onboarding exam": (
            "GET", f"{API}/user_onboarding/status/course_id/course-v1:OtherX+O201+2026", None,
            404, "no onboarding exam", None),
    }


API_CASE_NAMES = [
    "exam create no course", "exam create bad limit", "exam create duplicate",
    "exam create body not object", "exam update no id", "exam update unknown id",
    "exam update bad flag", "exam get unknown", "exam by unknown content",
    "registration not a list", "registration bad item", "grouped bad page",
    "grouped unknown course", "delete unknown attempt", "reset with no attempts",
    "reset unknown user", "allowance bad key", "allowance bad value", "allowance unknown user",
    "allowance no exam", "allowance delete missing", "allowance delete bad key",
    "bulk bad value", "bulk nobody", "bulk exam ids not ids", "bulk no course",
    "onboarding bad status", "onboarding without onboarding exam",
]


def test_every_api_case_is_listed(dash):
    assert sorted(api_cases(dash)) == sorted(API_CASE_NAMES)


@pytest.mark.parametrize("name", API_CASE_NAMES)
def test_bad_api_input(name, dash, seeded, login_as, client):
    method, url, body, status, words, field = api_cases(dash)[name]
    login_as(dash.global_staff)
    before = snapshot()
    kwargs = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    response = client.open(url, method=method, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    payload = response.get_json()
    assert words in payload["detail"]
    if field:
        assert payload["field"] == field
    db.session.expire_all()
    assert snapshot() == before
