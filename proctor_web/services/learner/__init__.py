"""The learner's side of an exam: which page fits, what the timer says, what a click does.

Each part is used by both the HTML pages and the JSON API, so the two never disagree:

- ``situations``: ``situation_for(facts)`` (pure) and ``TEMPLATES``, (exam type, situation)
  to the interstitial template; no if-chains in templates;
- ``loading``: one query loads an ``AttemptView``; ``refresh`` is what every read does first;
- ``payloads``: the timer/attempt JSON in edx-proctoring's field names, and the paths;
- ``pages``: the learner's exam page;
- ``actions``: the page's form posts and the API's writes;
- ``reads``: the API's other reads (running exam, exam and attempt, settings, onboarding).

Callers import the module that does the job; this package re-exports nothing.
"""
