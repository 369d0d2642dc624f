"""Roster sync over NRPS, against the independent platform on 127.0.0.1 (real HTTP)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.lti import roster
from proctor_web.lti.tool.provisioning import user_for_identity
from proctor_web.models import (
    CourseMembership,
    LtiContext,
    LtiPlatform,
    LtiRosterSync,
    User,
    UserIdentity,
    utcnow,
)
from proctor_web.services import courses
from tests.conftest import make_sign_in
from tests.lti.platform_fixtures import control

COURSE_ID = "course-v1:lti+p1+c-1"


def _member(user_id: str, *roles: str, status: str = "Active", **person: str) -> dict:
    return {"user_id": user_id, "roles": list(roles) or ["Learner"], "status": status, **person}


ROSTER = [
    _member("u-ada", "Learner", name="Ada Lovelace", email="ada@example.org"),
    _member("u-bob", "Learner", given_name="Bob", family_name="Byte"),
    _member("u-cy", "Instructor", name="Cy Teacher", email="cy@example.org"),
    _member("u-dee", "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"),
    _member("u-eve", "Learner", status="Inactive"),
]


@pytest.fixture
def context(app, lms, lms_platform: LtiPlatform) -> LtiContext:
    now = utcnow()
    course = courses.ensure_course(COURSE_ID, now, display_name="Physics 101")
    course.lti_context_id = "c-1"
    context = LtiContext(platform_id=lms_platform.id, context_id="c-1", course_id=COURSE_ID,
                         title="Physics 101",
                         nrps_memberships_url=f"{lms.url}/nrps/c-1/memberships")
    db.session.add(context)
    db.session.flush()
    control(lms, "POST", "config", {"NRPS_PAGE_SIZE": 2})
    control(lms, "PUT", "contexts/c-1", {"title": "Physics 101", "members": ROSTER})
    return context


def _enrolled(issuer: str) -> dict[str, tuple[str, bool, str, str]]:
    """LTI subject -> (role, active, full name, email) in the course."""
    rows = db.session.execute(
        select(UserIdentity.subject, CourseMembership.role, CourseMembership.is_active,
               User.full_name, User.email)
        .join(User, User.id == UserIdentity.user_id)
        .join(CourseMembership, CourseMembership.user_id == User.id)
        .where(UserIdentity.issuer == issuer, CourseMembership.course_id == COURSE_ID)
    ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_sync_enrolls_every_active_member_with_the_launch_role_mapping(
    lms, context: LtiContext,
) -> None:
    now = utcnow()
    result = roster.sync_context(context, now, requested_by="teacher")
    assert result.ok, result.error
    assert (result.members_seen, result.added, result.updated, result.deactivated) == (5, 4, 0, 0)
    issuer = context.platform.issuer
    assert _enrolled(issuer) == {
        "u-ada": ("learner", True, "Ada Lovelace", "ada@example.org"),
        "u-bob": ("learner", True, "Bob Byte", ""),
        "u-cy": ("staff", True, "Cy Teacher", "cy@example.org"),
        "u-dee": ("staff", True, "", ""),
    }
    assert context.roster_synced_at == now
    record = db.session.execute(select(LtiRosterSync)).scalar_one()
    assert (record.requested_by, record.added, record.error) == ("teacher", 4, "")
    # Three pages of two were read with one token.
    state = control(lms, "GET", "state")
    assert [r["path"] for r in state["service_requests"]].count("/nrps/c-1/memberships") == 3
    assert len(state["tokens_issued"]) == 1


def test_a_learner_who_launched_before_is_the_same_user(lms, context: LtiContext) -> None:
    now = utcnow()
    launched = user_for_identity(context.platform.issuer, "u-ada", {"name": "Ada L."}, now)
    roster.sync_context(context, now)
    identity = db.session.execute(select(UserIdentity).where(
        UserIdentity.subject == "u-ada")).scalar_one()
    assert identity.user_id == launched.id
    assert launched.full_name == "Ada Lovelace"  # the roster's name is the newer one


def test_resync_deactivates_who_left_and_updates_changed_roles(
    lms, context: LtiContext, factory,
) -> None:
    roster.sync_context(context, utcnow())
    local = factory.learner(COURSE_ID, "local-learner")  # enrolled by hand, not from the LMS
    control(lms, "PUT", "contexts/c-1", {"members": [
        _member("u-ada", "Learner", status="Deleted"),
        _member("u-bob", "Instructor"),
        _member("u-cy", "Instructor", name="Cy Teacher", email="cy@example.org"),
        _member("u-eve", "Learner"),
    ]})
    result = roster.sync_context(context, utcnow())
    assert (result.added, result.updated, result.deactivated) == (1, 1, 2)  # dee left
    enrolled = _enrolled(context.platform.issuer)
    assert {k: v[:2] for k, v in enrolled.items()} == {
        "u-ada": ("learner", False), "u-bob": ("staff", True), "u-cy": ("staff", True),
        "u-dee": ("staff", False), "u-eve": ("learner", True)}
    assert courses.membership_of(local, COURSE_ID).is_active  # untouched
    # Back in the roster: active again.
    control(lms, "PUT", "contexts/c-1", {"members": [_member("u-ada")]})
    again = roster.sync_context(context, utcnow())
    assert again.updated == 1
    assert _enrolled(context.platform.issuer)["u-ada"][:2] == ("learner", True)


def test_platform_outage_is_reported_and_changes_nothing(lms, context: LtiContext) -> None:
    control(lms, "POST", "fail", {"count": 1, "status": 503})
    result = roster.sync_context(context, utcnow())
    assert not result.ok and "503" in result.error
    assert _enrolled(context.platform.issuer) == {}
    assert context.roster_synced_at is None
    record = db.session.execute(select(LtiRosterSync)).scalar_one()
    assert "503" in record.error


def test_a_context_without_roster_service_says_what_to_do(lms, context: LtiContext) -> None:
    context.nrps_memberships_url = None
    result = roster.sync_context(context, utcnow())
    assert "launch the tool from the course once" in result.error


def test_dashboard_button_syncs_and_reports(app, client, lms, context: LtiContext,
                                            factory) -> None:
    teacher = factory.course_staff(COURSE_ID, "teacher")
    factory.exam("onboarding", course_id=COURSE_ID, exam_name="Onboarding")
    db.session.commit()
    make_sign_in(app, client)(teacher)
    overview = client.get(f"/courses/{COURSE_ID}/instructor/").get_data(as_text=True)
    assert "Sync roster from the LMS" in overview
    response = client.post(f"/courses/{COURSE_ID}/instructor/lms/roster",
                           data={"next": f"/courses/{COURSE_ID}/instructor/allowances"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == f"/courses/{COURSE_ID}/instructor/allowances"
    page = response.get_data(as_text=True)
    assert "Roster synced from the LMS: 5 member(s); 4 enrolled" in page
    # The onboarding panel lists learners who never launched.
    panel = client.get(f"/courses/{COURSE_ID}/instructor/onboarding").get_data(as_text=True)
    usernames = db.session.execute(select(User.username).join(
        UserIdentity, UserIdentity.user_id == User.id).where(
        UserIdentity.subject.in_(["u-ada", "u-bob"]))).scalars().all()
    assert len(usernames) == 2 and all(name in panel for name in usernames)

    control(lms, "POST", "fail", {"count": 1, "status": 503})
    failed = client.post(f"/courses/{COURSE_ID}/instructor/lms/roster",
                         data={"next": "https://evil.example/"}, follow_redirects=True)
    assert failed.status_code == 200
    assert failed.request.path == f"/courses/{COURSE_ID}/instructor/"
    assert "The roster could not be synced" in failed.get_data(as_text=True)


def test_dashboard_button_needs_staff_and_the_csrf_token(
    app, client, lms, context: LtiContext, factory, monkeypatch,
) -> None:
    learner = factory.learner(COURSE_ID, "learner-x")
    teacher = factory.course_staff(COURSE_ID, "teacher-x")
    db.session.commit()
    sign_in = make_sign_in(app, client)
    sign_in(learner)
    assert client.post(f"/courses/{COURSE_ID}/instructor/lms/roster").status_code == 403
    sign_in(teacher)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    g.pop("csrf_token", None)  # requests share the test's app context: no stale token in g
    page = client.get(f"/courses/{COURSE_ID}/instructor/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    assert client.post(f"/courses/{COURSE_ID}/instructor/lms/roster").status_code == 400
    response = client.post(f"/courses/{COURSE_ID}/instructor/lms/roster",
                           data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    assert db.session.execute(select(LtiRosterSync)).scalars().all()


def test_course_pages_of_local_courses_have_no_sync_button(app, client, factory) -> None:
    teacher = factory.course_staff("course-v1:Local+L1+2026", "local-teacher")
    db.session.commit()
    make_sign_in(app, client)(teacher)
    page = client.get("/courses/course-v1:Local+L1+2026/instructor/").get_data(as_text=True)
    assert "Sync roster from the LMS" not in page
    response = client.post("/courses/course-v1:Local+L1+2026/instructor/lms/roster",
                           follow_redirects=True)
    assert "not linked to an LMS course" in response.get_data(as_text=True)


def test_sweep_syncs_each_context_at_most_every_configured_minutes(
    app, lms, context: LtiContext, monkeypatch,
) -> None:
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["proctor", "sweep"])
    assert first.exit_code == 0, first.output
    assert "LMS roster of context" in first.output and "4 added" in first.output
    second = runner.invoke(args=["proctor", "sweep"])
    assert "LMS roster of context" not in second.output  # synced minutes ago
    # Due again once the interval has passed.
    assert roster.due_context_ids(utcnow() + timedelta(minutes=61), timedelta(minutes=60)) == [
        context.id]
    monkeypatch.setitem(app.config, "LTI_ROSTER_SYNC_MINUTES", 0)
    db.session.execute(LtiRosterSync.__table__.delete())
    db.session.commit()
    assert "LMS roster" not in runner.invoke(args=["proctor", "sweep"]).output


def test_members_the_lms_describes_badly_are_skipped_or_read_safely(
    lms, context: LtiContext,
) -> None:
    result = roster.RosterResult()
    roster.apply_members(context, [
        {"roles": ["Learner"]},  # no user_id
        {"user_id": 42},
        {"user_id": "u-odd", "roles": "Instructor", "name": ["not", "a", "name"]},
    ], utcnow(), result)
    assert result.members_seen == 1 and len(result.warnings) == 2
    assert _enrolled(context.platform.issuer) == {"u-odd": ("learner", True, "", "")}


def test_a_resync_reads_in_bulk(lms, context: LtiContext, count_queries) -> None:
    """One lookup per member at most (the shared identity lookup), never per-member
    membership, user or course queries: a thousand learners resync in about a second."""
    members = [_member(f"u-{i}", name=f"Learner {i}") for i in range(40)]
    control(lms, "PUT", "contexts/c-1", {"members": members})
    roster.sync_context(context, utcnow())
    db.session.expunge_all()
    context = db.session.get(LtiContext, context.id)
    with count_queries() as counter:
        result = roster.sync_context(context, utcnow())
    assert result.ok and result.members_seen == 40 and result.updated == 0
    assert counter.count <= 40 + 12, counter.statements
