"""WSGI entry point: ``gunicorn wsgi:app``."""

from proctor_web import create_app

app = create_app()
