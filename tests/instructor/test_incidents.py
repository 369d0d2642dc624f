"""Incidents a proctoring tool reported (LTI ACS) in the attempt detail page and the
violations report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from proctor_web.extensions import db
from proctor_web.models import AttemptIncident
from proctor_web.services import attempts
from proctor_web.services.attempts import Action, Actor
from tests.instructor.conftest import page_url


def _incident(attempt, now, **fields):
    """An incident as the ACS leaves it: with the history row that announces it."""
    attempts.apply_action(attempt, Action.FLAG, Actor.provider("lti"), now,
                          f"ACS {fields.get('action', 'flag')}")
    values = {"attempt_id": attempt.id, "attempt_code": attempt.attempt_code,
              "exam_id": attempt.exam_id, "user_id": attempt.user_id, "source": "lti",
              "action": "flag", "incident_time": now, "severity": None, "reason_code": "",
              "reason_msg": "", "created_at": now}
    values.update(fields)
    db.session.add(AttemptIncident(**values))


def test_incidents_show_in_the_detail_page_and_the_violations_report(dash, login_as, client,
                                                                     now):
    _incident(dash.submitted, now - timedelta(minutes=5), action="pause")
    _incident(dash.submitted, now, severity=0.8, reason_code="second_person",
              reason_msg="<b>Someone</b> else in the room")
    db.session.commit()
    login_as(dash.staff)
    page = client.get(page_url(dash.course_id, f"attempts/{dash.submitted.id}"))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Proctoring tool incidents" in text and "second_person" in text and "0.80" in text
    assert "&lt;b&gt;Someone&lt;/b&gt;" in text  # escaped
    errored = client.get(page_url(dash.course_id, f"attempts/{dash.errored.id}"))
    assert "Proctoring tool incidents" not in errored.get_data(as_text=True)

    report = client.get(page_url(dash.course_id, "export/violations.csv"))
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(report.get_data(as_text=True)))}
    incidents = rows["learner1"]["Proctoring Tool Incidents"]
    assert incidents.count(";") == 1
    assert "pause" in incidents and "flag severity 0.80 second_person: <b>Someone</b>" in incidents
    assert rows["learner2"]["Proctoring Tool Incidents"] == ""
