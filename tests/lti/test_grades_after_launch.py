"""From launch to gradebook and roster: what a real launch stores is what grade publishing and
roster sync use (the launch code's AGS/NRPS claims → our services), against the independent
platform."""

from __future__ import annotations

from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.lti import grades, roster
from proctor_web.models import LtiContext, LtiResourceLink, User, UserIdentity, utcnow
from proctor_web.services import attempts
from proctor_web.services.attempts import Action, Actor
from tests.lti.platform_fixtures import control
from tests.lti.tool_launch import launch, register_with


def test_a_launched_learner_is_graded_on_the_announced_line_item_and_the_roster_syncs(
    app, client, lms, factory,
) -> None:
    platform = register_with(lms)
    control(lms, "PUT", "contexts/course-1", {"title": "Physics 101", "members": [
        {"user_id": "teacher-1", "roles": ["Instructor"], "name": "Tess Teacher"},
        {"user_id": "learner-1", "roles": ["Learner"], "name": "Lena Learner"},
        {"user_id": "learner-2", "roles": ["Learner"], "name": "Leo Later"},
    ]})
    first = launch(client, lms, user_id="teacher-1", roles="Instructor",
                   resource_link_id="rl-setup")
    assert first.status_code in (200, 302, 303), first.get_data(as_text=True)
    context = db.session.execute(select(LtiContext)).scalar_one()
    assert context.nrps_memberships_url == f"{lms.url}/nrps/course-1/memberships"
    exam = factory.exam("proctored", course_id=context.course_id, exam_name="Final Exam",
                        content_id="final")
    grades.save_settings(exam, {"publish": "true", "score_verified": "9",
                                "score_maximum": "10"}, utcnow())
    db.session.commit()

    learner_launch = launch(client, lms, user_id="learner-1", roles="Learner",
                            resource_link_id="rl-final", custom_content_id="final",
                            lineitem="1")
    assert learner_launch.status_code in (200, 302, 303), learner_launch.get_data(as_text=True)
    link = db.session.execute(select(LtiResourceLink).where(
        LtiResourceLink.resource_link_id == "rl-final")).scalar_one()
    assert link.exam_id == exam.id and link.ags_lineitem_url

    # Roster sync enrolls the learner who has not launched yet.
    [result] = roster.sync_course(context.course_id, utcnow(), requested_by="teacher-1")
    assert result.ok and (result.members_seen, result.added) == (3, 1)

    identity = db.session.execute(select(UserIdentity).where(
        UserIdentity.issuer == platform.issuer, UserIdentity.subject == "learner-1")).scalar_one()
    teacher = db.session.execute(select(UserIdentity).where(
        UserIdentity.subject == "teacher-1")).scalar_one()
    learner = db.session.get(User, identity.user_id)
    attempt = factory.attempt(exam, learner, "submitted", started_minutes_ago=20)
    staff = Actor.staff(db.session.get(User, teacher.user_id))
    attempts.apply_action(attempt, Action.VERIFY, staff, utcnow(), reason="Reviewed")
    assert grades.deliver_pending(utcnow()) == 1
    [score] = control(lms, "GET", "scores")
    assert score["lineitem"] == link.ags_lineitem_url
    assert (score["userId"], score["scoreGiven"], score["scoreMaximum"]) == ("learner-1", 9, 10)
