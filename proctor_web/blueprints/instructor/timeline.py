"""An attempt's history in people's words: "teacher (staff) verified the attempt".

One table maps what a history row records (action, who acted, the status it led to) to a
sentence; ``sentence`` looks it up from the most to the least specific key. Every sentence
is a lazy translation, so the history stays in codes and each reader gets their language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from proctor_web.blueprints.instructor.labels import STATUS, label
from proctor_web.models import AttemptHistory

#: Matches any actor kind or any status in a key of ``SENTENCES``.
ANY = "*"
ONBOARDING_REFUSALS = ("onboarding_missing", "onboarding_pending", "onboarding_failed",
                       "onboarding_expired")

#: (action, actor kind, status reached) -> sentence. Placeholders: ``name`` (the person who
#: acted; the learner for automatic changes made on their behalf), ``provider`` (the
#: proctoring provider's name), ``from`` and ``to`` (statuses in words).
SENTENCES: dict[tuple[str, str, str], LazyString] = {
    ("create", "learner", ANY): _l("Attempt created when %(name)s opened the exam"),
    ("create", "staff", ANY): _l("%(name)s (staff) created the attempt"),
    ("create", "system", ANY): _l("The attempt was created automatically"),
    **{("create", ANY, status): _l("%(provider)s did not accept the attempt: %(to)s")
       for status in ONBOARDING_REFUSALS},
    ("decline", "learner", ANY): _l("%(name)s chose to take the exam without proctoring"),
    ("decline", "system", ANY): _l(
        "Proctoring was declined automatically, because %(name)s declined it on another exam"),
    ("click_download_software", ANY, ANY): _l("%(name)s started the system check"),
    ("ready", "provider", ANY): _l("%(provider)s reported the system check passed"),
    ("ready", ANY, ANY): _l("The system check was marked as passed"),
    ("start", ANY, ANY): _l("%(name)s started the exam"),
    ("stop", ANY, ANY): _l("%(name)s reached the submit page"),
    ("submit", ANY, ANY): _l("%(name)s submitted the exam"),
    ("error", "learner", ANY): _l("The proctoring software of %(name)s reported an error"),
    ("error", "staff", ANY): _l("%(name)s (staff) marked the attempt as an error"),
    ("error", "provider", ANY): _l("%(provider)s reported an error"),
    ("error", ANY, ANY): _l("The attempt was marked as an error automatically"),
    ("expire", ANY, "timed_out"): _l("Time ran out; the attempt timed out"),
    ("expire", ANY, ANY): _l("Time ran out; the exam was submitted automatically"),
    ("verify", "staff", ANY): _l("%(name)s (staff) verified the attempt"),
    ("verify", ANY, ANY): _l("%(provider)s reviewed the attempt and verified it"),
    ("reject", "staff", ANY): _l("%(name)s (staff) rejected the attempt"),
    ("reject", ANY, ANY): _l("%(provider)s reviewed the attempt and rejected it"),
    ("require_second_review", ANY, ANY): _l(
        "%(provider)s asked course staff for a second review"),
    ("review_error", ANY, ANY): _l(
        "%(provider)s sent a review that could not be applied; the attempt is in error"),
    ("mark_ready_to_resume", "staff", ANY): _l(
        "%(name)s (staff) allowed the learner to resume"),
    ("mark_ready_to_resume", ANY, ANY): _l(
        "The learner can resume again: the new attempt could not be set up"),
    ("resume", ANY, ANY): _l("%(name)s resumed the exam in a new attempt"),
    ("reset_practice", ANY, ANY): _l("%(name)s started the practice exam again"),
    ("remove", "staff", ANY): _l("%(name)s (staff) reset the attempt"),
    ("remove", ANY, ANY): _l("The attempt was removed automatically"),
    ("set_status", "staff", ANY): _l("%(name)s (staff) changed the status from %(from)s to %(to)s"),
    ("set_status", ANY, ANY): _l(
        "An administrator changed the status from %(from)s to %(to)s"),
    ("terminate", ANY, ANY): _l(
        "%(provider)s ended the session; the exam was submitted as it stood"),
    ("pause", ANY, ANY): _l("%(provider)s paused the exam clock"),
    ("unpause", ANY, ANY): _l("%(provider)s restarted the exam clock"),
    ("add_time", "staff", ANY): _l("%(name)s (staff) gave the learner extra time"),
    ("add_time", ANY, ANY): _l("%(provider)s gave the learner extra time"),
    ("flag", ANY, ANY): _l("%(provider)s flagged the attempt"),
}
#: An action this table does not know yet still reads as a change of status.
FALLBACK = _l("The status changed from %(from)s to %(to)s")


def sentence(action: str, from_status: str | None, to_status: str | None, actor_kind: str,
             actor_name: str, provider: str) -> str:
    """The history row's change as a sentence in the reader's language: the sentence of
    this action, actor kind and status reached, else of any actor reaching that status,
    else of this actor, else of anyone."""
    to_key = to_status or ANY
    for key in ((action, actor_kind, to_key), (action, ANY, to_key),
                (action, actor_kind, ANY), (action, ANY, ANY)):
        template = SENTENCES.get(key)
        if template is not None:
            break
    else:
        template = FALLBACK
    values = {
        "name": actor_name,
        "provider": provider,
        "from": label(STATUS, from_status) if from_status else gettext("new"),
        "to": label(STATUS, to_status or "removed"),
    }
    return str(template) % values


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    sentence: str
    #: What a person typed when they made the change (staff reasons), in their words.
    reason: str
    #: What a machine recorded about the change, kept in English.
    note: str
    ignored: bool


def timeline(rows: Iterable[AttemptHistory], learner_name: str,
             provider: str) -> list[TimelineEntry]:
    """History rows as entries of the attempt page; rows must have ``actor`` loaded."""
    entries = []
    for row in rows:
        if row.actor is not None:
            name = row.actor.username
        elif row.actor_kind == "staff":
            name = gettext("a former staff member")
        else:
            name = learner_name
        by_person = row.actor_kind == "staff"
        entries.append(TimelineEntry(
            row.created_at,
            sentence(row.action, row.from_status, row.to_status, row.actor_kind, name, provider),
            row.reason if by_person else "",
            "" if by_person else row.reason,
            row.ignored,
        ))
    return entries
