"""Keeps bench/drain.py honest at a tiny size: 30 outbox rows, one Celery worker over Redis,
the fake provider and the SMTP sink; every row is delivered once and the script cleans up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from proctor_web.testing.loopback import app_environment, reachable

ROOT = Path(__file__).resolve().parents[2]


def test_drain_bench_delivers_every_row_once(postgres_available):
    if not postgres_available:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    if not reachable("127.0.0.1", 6379):
        if os.environ.get("CI") == "true":
            pytest.fail("Redis at 127.0.0.1:6379 is required under CI=true but unreachable")
        pytest.skip("Redis at 127.0.0.1:6379 is not reachable")
    done = subprocess.run([sys.executable, "bench/drain.py", "--rows", "30", "--workers", "1",
                           "--timeout", "120"], cwd=ROOT, env=app_environment(),
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "outbox statuses: {'provider': {'delivered': 20}, 'email': {'delivered': 10}}" \
        in done.stdout, done.stdout
    assert ("checks: 10 emails at the sink for 10 sent (0 duplicates); 10 of 10 attempts "
            "with a stop event 'submitted' at the provider") in done.stdout, done.stdout
