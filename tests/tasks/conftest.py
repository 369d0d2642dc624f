"""Fixtures of the background-work tests."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_SECRET = "fake-client-secret-0123456789-0123456789"
LMS_SECRET = "fake-provider-secret-0123456789-0123"


@pytest.fixture(scope="module")
def provider_port() -> Iterator[int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "proctor_web.testing.fake_provider", "--port", "0",
               "--client-secret", PROVIDER_SECRET, "--lms-client-secret", LMS_SECRET]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, env=env) as process:
        try:
            lines: queue.Queue[str] = queue.Queue()
            assert process.stdout is not None
            threading.Thread(target=lambda: lines.put(process.stdout.readline()),
                             daemon=True).start()
            banner = lines.get(timeout=15)
            assert banner.startswith("Fake proctoring provider listening on"), banner
            yield int(banner.rsplit(":", 1)[1].strip().rstrip("/"))
        finally:
            process.terminate()
            process.wait(timeout=10)
