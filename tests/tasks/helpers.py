"""Servers for the background-work tests: they live in ``proctor_web.testing.loopback``, which
the benchmarks (``bench/``) share; imported here under the names the tests use."""

from proctor_web.testing.loopback import Gate, Inbox, free_port, wait_for

__all__ = ["Gate", "Inbox", "free_port", "wait_for"]
