"""Launches from the independent LTI platform: who the user is, which course, which role,
where the launch lands, and what is stored from its claims."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import func, select

from proctor_web.extensions import db
from proctor_web.models import (
    CourseMembership,
    LtiContext,
    LtiResourceLink,
    User,
    UserIdentity,
)
from proctor_web.services import exams
from tests.lti import tool_launch
from tests.lti.tool_launch import SITE, control, launch

lms, lms_platform = tool_launch.lms, tool_launch.lms_platform  # fixtures


def _course_of(platform, context_id: str = "course-1") -> LtiContext:
    return db.session.execute(select(LtiContext).where(
        LtiContext.platform_id == platform.id, LtiContext.context_id == context_id)).scalar_one()


def _exam_for(context: LtiContext, content_id: str = "final"):
    return exams.create_exam(context.course_id, content_id,
                             {"exam_name": "Final", "time_limit_mins": 30}, None,
                             context.created)


def test_a_learner_launch_creates_the_user_course_and_link_and_opens_the_exam(
    app, client, lms, lms_platform
) -> None:
    # First launch, as an instructor, so the course exists to hold the exam.
    launch(client, lms, user_id="teacher-1", roles="Instructor", context_title="Biology 101")
    context = _course_of(lms_platform)
    exam = _exam_for(context)
    db.session.flush()

    response = launch(client, lms, user_id="learner-7", name="Ada Lovelace",
                      email="ada@example.com", context_title="Biology 101",
                      custom_content_id="final", lineitem="1")
    assert response.status_code == 303
    location = urlsplit(unquote(response.headers["Location"]))
    assert location.path == f"/courses/{context.course_id}/exams/final"

    identity = db.session.execute(select(UserIdentity).where(
        UserIdentity.issuer == lms.url, UserIdentity.subject == "learner-7")).scalar_one()
    user = db.session.get(User, identity.user_id)
    assert user.full_name == "Ada Lovelace" and user.email == "ada@example.com"
    assert user.username.startswith("lti-") and user.password_hash is None
    membership = db.session.execute(select(CourseMembership).where(
        CourseMembership.user_id == user.id)).scalar_one()
    assert (membership.course_id, membership.role) == (context.course_id, "learner")
    assert context.title == "Biology 101"
    link = db.session.execute(select(LtiResourceLink)).scalar_one()
    assert link.exam_id == exam.id
    assert link.ags_lineitem_url and link.ags_lineitems_url.startswith(lms.url)
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in link.ags_scopes.split()
    assert context.nrps_memberships_url.startswith(lms.url)

    # Signed in by the launch: the exam page opens without any local sign-in.
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Final" in page.get_data(as_text=True)


def test_an_instructor_lands_on_the_dashboard_and_roles_follow_every_launch(
    app, client, lms, lms_platform
) -> None:
    launch(client, lms, user_id="t-1", roles="Learner")
    context = _course_of(lms_platform)
    exam = _exam_for(context)
    db.session.flush()
    response = launch(client, lms, user_id="t-1", roles="Instructor",
                      custom_content_id="final")
    location = urlsplit(unquote(response.headers["Location"]))
    assert location.path == f"/courses/{context.course_id}/instructor/attempts"
    assert parse_qs(location.query)["exam"] == [str(exam.id)]
    assert client.get(response.headers["Location"]).status_code == 200
    role = db.session.scalar(select(CourseMembership.role))
    assert role == "staff"
    # The same person later launches as a learner: no longer staff.
    launch(client, lms, user_id="t-1", roles="Learner", custom_content_id="final")
    assert db.session.scalar(select(CourseMembership.role)) == "learner"
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_teaching_assistants_and_content_developers_are_staff(
    app, client, lms, lms_platform
) -> None:
    for number, roles in enumerate((
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
        "ContentDeveloper",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    )):
        launch(client, lms, user_id=f"staff-{number}", roles=roles)
    roles = set(db.session.scalars(select(CourseMembership.role)))
    assert roles == {"staff"}


def test_a_platform_sharing_no_name_or_email_leaves_them_empty(
    app, client, lms, lms_platform
) -> None:
    launch(client, lms, user_id="anon-ish")
    user = db.session.execute(select(User)).scalar_one()
    assert (user.full_name, user.email) == ("", "")


def test_a_link_without_an_exam_asks_the_instructor_and_tells_the_learner(
    app, client, lms, lms_platform
) -> None:
    response = launch(client, lms, user_id="learner-1")
    assert "/not-ready" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "not set up yet" in page.get_data(as_text=True)

    response = launch(client, lms, user_id="teacher-1", roles="Instructor")
    setup_url = response.headers["Location"]
    assert "/setup" in setup_url
    assert client.get(setup_url).status_code == 200
    refused = client.post(setup_url, data={"action": "create", "exam_name": "",
                                           "time_limit_mins": "45", "kind": "timed"})
    assert refused.status_code == 400 and 'aria-invalid="true"' in refused.get_data(
        as_text=True)
    created = client.post(setup_url, data={"action": "create", "exam_name": "Midterm",
                                           "time_limit_mins": "45", "kind": "timed"})
    assert created.status_code == 303
    link = db.session.execute(select(LtiResourceLink)).scalar_one()
    exam = exams.get_exam(link.exam_id)
    assert exam.exam_name == "Midterm" and exam.time_limit_mins == 45

    # The learner's next launch of the same link opens that exam.
    response = launch(client, lms, user_id="learner-1")
    assert urlsplit(response.headers["Location"]).path.endswith(f"/exams/{exam.content_id}")


def test_a_learner_cannot_choose_the_exam_of_a_link(app, client, lms, lms_platform) -> None:
    response = launch(client, lms, user_id="learner-1")
    link = db.session.execute(select(LtiResourceLink)).scalar_one()
    assert client.get(f"/lti/links/{link.id}/setup").status_code == 403
    assert "/not-ready" in response.headers["Location"]


def test_pages_opened_by_a_launch_may_be_framed_by_the_platform(
    app, client, lms, lms_platform
) -> None:
    response = launch(client, lms, user_id="learner-1")
    page = client.get(response.headers["Location"])
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors" in policy and lms.url in policy
    assert "X-Frame-Options" not in page.headers
    body = page.get_data(as_text=True)
    assert 'id="lti-frame"' in body and "site-header" not in body
    # The way back to the course carries lti_msg, as the return URL expects.
    assert f"{lms.url}/return?lti_msg=" in body


def test_login_names_the_unknown_issuer_and_creates_nothing(app, client, lms) -> None:
    control(lms, "POST", "tools", {"client_id": "nobody-here",
                                   "login_url": f"{SITE}/lti/login",
                                   "launch_url": f"{SITE}/lti/launch", "jwks": {"keys": []}})
    from tests.lti.tool_launch import login

    response = login(client, lms)
    assert response.status_code == 400
    assert "unknown_issuer" in response.get_data(as_text=True)
