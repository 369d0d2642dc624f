"""Benchmarks serve with the settings given on gunicorn's command line (bench/_harness.py), not
the project's gunicorn.conf.py, which needs a configured app and recycles workers."""
