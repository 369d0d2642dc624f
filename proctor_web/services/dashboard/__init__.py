"""Read models of the instructor dashboard and the home page, one module per page, and the
few writes only the dashboard makes, in modules named for what they do.

Callers import the module that does the job (``from proctor_web.services.dashboard import
attempt_list``); this package re-exports nothing.

Every page reads a fixed number of queries whatever the size of the course: counts are
grouped in SQL, lists are filtered, sorted and paginated in SQL, and the rows a page shows
are fetched with what they need in one go. Writes delegate to the owning services
(``attempts``, ``exams``, ``allowances``) so every change keeps its history.
"""
