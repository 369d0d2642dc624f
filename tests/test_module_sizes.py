"""One job per module (house rule 18): no module of ``proctor_web`` over about 400 lines.

"About": a module may run a little over while it still holds one job (the backend contract,
the outbox's claim-call-record steps); past ``LIMIT`` it is holding two and must be split
into a package whose file names say what each part does.
"""

from __future__ import annotations

from pathlib import Path

import proctor_web

LIMIT = 450
PACKAGE = Path(proctor_web.__file__).parent


def test_no_module_is_over_the_limit() -> None:
    sizes = {path.relative_to(PACKAGE.parent).as_posix(): len(path.read_text().splitlines())
             for path in PACKAGE.rglob("*.py")}
    assert len(sizes) > 100
    too_long = {name: lines for name, lines in sizes.items() if lines > LIMIT}
    assert not too_long, f"modules over {LIMIT} lines: {too_long}"
