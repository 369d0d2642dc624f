"""LTI role vocabulary: what makes course staff."""

from __future__ import annotations

import pytest

from proctor_web.lti.tool.claims import is_staff_role

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"


@pytest.mark.parametrize("roles", [
    [MEMBERSHIP + "Instructor"],
    [MEMBERSHIP + "ContentDeveloper"],
    [MEMBERSHIP + "Administrator"],
    ["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"],
    [INSTITUTION + "Administrator"],
    [INSTITUTION + "Instructor"],
    ["Instructor"], ["TeachingAssistant"], ["ContentDeveloper"], ["Administrator"],
    [MEMBERSHIP + "Learner", MEMBERSHIP + "Instructor"],
])
def test_staff_roles(roles: list[str]) -> None:
    assert is_staff_role(roles)


@pytest.mark.parametrize("roles", [
    [MEMBERSHIP + "Learner"], ["Learner"], [], [MEMBERSHIP + "Mentor"],
    [INSTITUTION + "Student"], ["http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#Learner"],
    ["https://evil.example/Instructor"], [42],
])
def test_learner_roles(roles: list) -> None:
    assert not is_staff_role(roles)
