"""Mapping the provider's onboarding statuses (single HTTP exchanges, ``responses``); the
whole path runs against the fake provider in tests/integration/test_edx_onboarding.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses

from proctor_web.backends.rest import RestBackend
from proctor_web.services import onboarding_profiles as profiles
from proctor_web.services.onboarding import OnboardingStatus as OS

BASE = "https://provider.example"
COURSE = "course-v1:A+B+C"
URL = f"{BASE}/api/v1/courses/{COURSE}/onboarding_statuses"


def make(**settings) -> RestBackend:
    return RestBackend("rest", {"base_url": BASE, "client_id": "cid",
                                "client_secret": "s" * 32, **settings})


def token(rsps) -> None:
    rsps.post(f"{BASE}/oauth2/access_token", json={"access_token": "tok", "expires_in": 3600})


@pytest.mark.parametrize(("provider", "ours"), [
    ("no-profile", None),
    ("approved-in-course", "verified"),
    ("approved-in-different-course", "other_course_approved"),
    ("rejected", "rejected"),
    ("expired", "expired"),
    ("pending", "submitted"),
])
@responses.activate
def test_one_learner_status_is_mapped(provider, ours):
    token(responses)
    responses.get(URL, json={"user_id": "abc", "status": provider,
                             "expiration_date": "2027-01-02T03:04:05+00:00"})
    answer = make().get_onboarding_profile_info(COURSE, user_id="abc")
    assert responses.calls[1].request.params == {"user_id": "abc"}
    status, expires = profiles.learner_status_from_answer(answer)
    assert status == ours
    assert expires == datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("answer", [{"status": "great"}, {"results": []}, ["x"], None])
def test_an_unknown_answer_is_not_a_status(answer):
    with pytest.raises(ValueError):
        profiles.learner_status_from_answer(answer)


@responses.activate
def test_course_statuses_follow_every_page_and_map_to_dashboard_words(app):
    token(responses)
    responses.get(URL, json={"results": [
        {"user_id": "u1", "status": "approved-in-course", "expiration_date": None},
        {"user_id": "u2", "status": "pending", "expiration_date": None},
    ], "count": 3, "num_pages": 2, "next": f"{URL}?page=2", "previous": None})
    responses.get(URL, json={"results": [
        {"user_id": "u3", "status": "approved-in-different-course", "expiration_date": None},
    ], "count": 3, "num_pages": 2, "next": None, "previous": f"{URL}?page=1"})
    found = profiles.course_statuses(make(), COURSE, ["approved-in-course", "pending"])
    assert found == {"u1": OS.VERIFIED, "u2": OS.SUBMITTED, "u3": OS.OTHER_COURSE_APPROVED}
    pages = [c.request.params for c in responses.calls if "onboarding" in c.request.url]
    assert pages == [
        {"page": "1", "page_size": "100", "status": "approved-in-course,pending"},
        {"page": "2", "page_size": "100", "status": "approved-in-course,pending"},
    ]


@pytest.mark.parametrize("reply", [
    {"status": 500, "json": {"detail": "down"}},
    {"status": 200, "json": {"unexpected": True}},
])
@responses.activate
def test_course_statuses_unavailable_is_503(app, reply):
    token(responses)
    responses.get(URL, **reply)
    with pytest.raises(profiles.ProviderOnboardingUnavailable) as raised:
        profiles.course_statuses(make(), COURSE)
    assert raised.value.status == 503


def test_provider_words_for_dashboard_filters():
    assert profiles.provider_words_for([]) == []
    assert profiles.provider_words_for(["verified", "submitted"]) == [
        "approved-in-course", "pending"]
    assert profiles.provider_words_for(["verified", "not_started"]) == []  # unknown learners


def test_a_provider_can_opt_out_of_the_profile_api():
    assert make().keeps_onboarding_profiles is True
    assert make(onboarding_profile_api=False).keeps_onboarding_profiles is False
