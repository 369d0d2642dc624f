"""One allowance form per kind, each with the input its value needs; a refusal is shown next
to the input it is about, in plain words, and the input points at it; providers by name."""

from __future__ import annotations

import re

from proctor_web.extensions import db
from proctor_web.services import allowances
from tests.instructor.conftest import page_url


def form_of(html: str) -> str:
    return html.split('class="allowance-form"')[1].split("</form>")[0]


def test_each_kind_has_its_own_input(dash, login_as, client):
    login_as(dash.staff)
    minutes = form_of(client.get(page_url(dash.course_id, "allowances")).get_data(as_text=True))
    assert 'name="allowance_type" value="additional_time_granted"' in minutes
    assert re.search(r'<label for="value">Extra minutes</label>', minutes)
    assert re.search(r'<input id="value" name="value" type="number" inputmode="numeric" '
                     r'min="1" step="1"', minutes)
    multiplier = form_of(client.get(page_url(dash.course_id, "allowances?kind=time_multiplier"))
                         .get_data(as_text=True))
    assert 'value="time_multiplier"' in multiplier and "Time multiplier</label>" in multiplier
    assert 'inputmode="decimal" min="1" max="10" step="any"' in multiplier
    policy = form_of(client.get(page_url(dash.course_id,
                                         "allowances?kind=review_policy_exception"))
                     .get_data(as_text=True))
    assert '<textarea id="value" name="value" rows="3" maxlength="255"' in policy
    # Only proctored exams are offered for a review policy exception.
    assert "Final Exam" in policy and "Quiz One" not in policy


def test_exams_name_their_provider_in_words(dash, login_as, client):
    login_as(dash.staff)
    html = client.get(page_url(dash.course_id, "allowances")).get_data(as_text=True)
    assert "proctored by Mock Proctoring Service" in html
    assert "proctored by mock" not in html and ">mock<" not in html


def test_a_refused_value_is_shown_under_its_input_in_plain_words(dash, login_as, client):
    login_as(dash.staff)
    response = client.post(page_url(dash.course_id, "allowances"), data={
        "users": "learner1", "exam_ids": [str(dash.timed.id)],
        "allowance_type": "time_multiplier", "value": "0.5"})
    assert response.status_code == 400
    form = form_of(response.get_data(as_text=True))
    assert ('<p class="field-error" id="value-error">A time multiplier must be greater than 1 '
            "and at most 10.</p>") in form
    assert 'aria-describedby="value-hint value-error" aria-invalid="true"' in form
    assert "value: " not in form  # no API field names
    assert 'value="0.5"' in form and 'value="time_multiplier"' in form  # kept as typed
    assert "Nothing was saved: correct the field marked below." in form


def test_missing_learners_and_exams_are_marked_on_their_inputs(dash, login_as, client):
    login_as(dash.staff)
    no_users = form_of(client.post(page_url(dash.course_id, "allowances"), data={
        "users": "", "exam_ids": [str(dash.timed.id)],
        "allowance_type": "additional_time_granted", "value": "10"}).get_data(as_text=True))
    assert 'id="users-error">Enter at least one username or email.' in no_users
    assert 'aria-describedby="users-hint users-error" aria-invalid="true"' in no_users
    no_exams = form_of(client.post(page_url(dash.course_id, "allowances"), data={
        "users": "learner1", "allowance_type": "additional_time_granted",
        "value": "10"}).get_data(as_text=True))
    assert '<fieldset aria-describedby="exam_ids-error">' in no_exams
    assert 'id="exam_ids-error">Choose at least one exam.' in no_exams


def test_per_row_failures_read_without_field_names(dash, login_as, client):
    login_as(dash.staff)
    html = client.post(page_url(dash.course_id, "allowances"), data={
        "users": "learner1", "exam_ids": [str(dash.timed.id), str(dash.proctored.id)],
        "allowance_type": "review_policy_exception", "value": "Calculator"}).get_data(
        as_text=True)
    assert "Not saved</span> A review policy exception applies to proctored exams only." in html


def test_edit_form_takes_minutes_and_shows_its_error(dash, login_as, client, now):
    allowance = allowances.set_allowance(dash.proctored, dash.learner, "additional_time_granted",
                                         "30", dash.staff, now)
    db.session.commit()
    login_as(dash.staff)
    url = page_url(dash.course_id, f"allowances/{allowance.id}/edit")
    page = client.get(url).get_data(as_text=True)
    assert 'type="number" inputmode="numeric" min="1" step="1" class="short" required ' \
        'value="30"' in page
    refused = client.post(url, data={"value": "lots"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="value-error">Extra time is a whole number of minutes' in html
    assert 'value="lots"' in html
    assert allowances.extra_minutes(dash.learner.id, dash.proctored.id) == 30
