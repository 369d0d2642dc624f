"""Deep linking: an instructor picks or creates an exam and the platform receives a signed
LtiResourceLink whose custom content_id opens that exam."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote, urlsplit

import requests
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import Exam, LtiContext
from tests.lti import tool_launch
from tests.lti.tool_launch import control, launch

lms, lms_platform = tool_launch.lms, tool_launch.lms_platform  # fixtures

DEEP_LINKING = "LtiDeepLinkingRequest"


def _autopost(page: str) -> tuple[str, str]:
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page).group(1))
    token = html.unescape(re.search(r'name="JWT" value="([^"]+)"', page).group(1))
    return action, token


def test_an_instructor_creates_an_exam_and_the_platform_gets_a_signed_link(
    app, client, lms, lms_platform
) -> None:
    response = launch(client, lms, user_id="teacher-1", roles="Instructor",
                      message_type=DEEP_LINKING, dl_data="opaque-123")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/lti/deep-link"
    assert client.get(response.headers["Location"]).status_code == 200
    answer = client.post("/lti/deep-link", data={"action": "create", "exam_name": "Quiz 3",
                                                 "time_limit_mins": "20", "kind": "timed"})
    assert answer.status_code == 200
    action, token = _autopost(answer.get_data(as_text=True))
    assert action == f"{lms.url}/deep_link_return"
    # The platform verifies our signature against our key set, the nonce and the data echo.
    posted = requests.post(action, data={"JWT": token}, timeout=10)
    assert posted.status_code == 200, posted.text
    recorded = control(lms, "GET", "state")["deep_link_responses"][-1]
    assert recorded["error"] is None and recorded["data"] == "opaque-123"
    (item,) = recorded["content_items"]
    exam = db.session.execute(select(Exam).where(Exam.exam_name == "Quiz 3")).scalar_one()
    assert item["type"] == "ltiResourceLink"
    assert item["custom"] == {"content_id": exam.content_id}
    assert item["url"].endswith("/lti/launch")

    # A learner following the new link lands in that exam.
    learner = app.test_client()
    response = launch(learner, lms, user_id="learner-1",
                      resource_link_id=item["resource_link_id"],
                      custom_content_id=exam.content_id)
    assert unquote(urlsplit(response.headers["Location"]).path).endswith(
        f"/exams/{exam.content_id}")

    # The request is answered once: a second post would add a second item.
    assert client.post("/lti/deep-link", data={"action": "pick",
                                               "exam_id": str(exam.id)}).status_code == 400


def test_an_instructor_picks_an_existing_exam(app, client, lms, lms_platform) -> None:
    launch(client, lms, user_id="teacher-1", roles="Instructor")
    context = db.session.execute(select(LtiContext)).scalar_one()
    from proctor_web.services import exams

    exam = exams.create_exam(context.course_id, "existing", {
        "exam_name": "Existing", "time_limit_mins": 10}, None, context.created)
    db.session.flush()
    launch(client, lms, user_id="teacher-1", roles="Instructor", message_type=DEEP_LINKING)
    page = client.get("/lti/deep-link").get_data(as_text=True)
    assert "Existing" in page
    answer = client.post("/lti/deep-link", data={"action": "pick", "exam_id": str(exam.id)})
    _, token = _autopost(answer.get_data(as_text=True))
    assert requests.post(f"{lms.url}/deep_link_return", data={"JWT": token},
                         timeout=10).status_code == 200


def test_a_learner_cannot_deep_link(app, client, lms, lms_platform) -> None:
    response = launch(client, lms, user_id="learner-1", roles="Learner",
                      message_type=DEEP_LINKING)
    assert response.status_code == 403
    assert 'data-refusal="not_instructor"' in response.get_data(as_text=True)
