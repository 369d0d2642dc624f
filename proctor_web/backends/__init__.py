"""Backend registry: built-ins first, then the ``proctor_web.backends`` entry points.

Backends are instantiated once per app from ``PROCTOR_BACKENDS``; each validates its own
settings there, so a bad configuration stops the app at start-up with a clear message.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from flask_babel import gettext as _

from proctor_web.backends.base import BackendSettingsError, ProctoringBackend
from proctor_web.backends.lti import LtiBackend
from proctor_web.backends.mock import MockBackend
from proctor_web.backends.null import NullBackend
from proctor_web.backends.rest import RestBackend
from proctor_web.backends.software_secure import SoftwareSecureBackend
from proctor_web.errors import BackendNotConfigured

BUILT_INS: dict[str, type[ProctoringBackend]] = {
    "null": NullBackend,
    "mock": MockBackend,
    "software_secure": SoftwareSecureBackend,
    "rest": RestBackend,
    "lti": LtiBackend,
}


def register_builtin(name: str, cls: type[ProctoringBackend]) -> None:
    BUILT_INS[name] = cls


def backend_class(name: str) -> type[ProctoringBackend]:
    if name in BUILT_INS:
        return BUILT_INS[name]
    for entry in entry_points(group="proctor_web.backends"):
        if entry.name == name:
            cls = entry.load()
            if not (isinstance(cls, type) and issubclass(cls, ProctoringBackend)):
                raise BackendSettingsError(
                    f"Entry point {name!r} does not name a ProctoringBackend subclass."
                )
            return cls
    raise BackendSettingsError(
        f"No backend named {name!r}: it is neither built in ({', '.join(sorted(BUILT_INS))}) "
        "nor installed under the 'proctor_web.backends' entry point group."
    )


class BackendRegistry:
    """The configured backends of one app, looked up by the name stored on an exam."""

    def __init__(self, config: Mapping[str, Any], default_locale: str = "en",
                 worker_bundle_dir: str = "") -> None:
        self.default_name: str = config["DEFAULT"]
        self._backends: dict[str, ProctoringBackend] = {}
        for name, settings in config.items():
            if name == "DEFAULT":
                continue
            settings = dict(settings or {})
            class_name = settings.pop("class", name)
            backend = backend_class(class_name)(name, settings)
            backend.default_locale = default_locale
            backend.worker_bundle_dir = worker_bundle_dir
            self._backends[name] = backend

    @property
    def names(self) -> list[str]:
        return sorted(self._backends)

    def all(self) -> list[ProctoringBackend]:
        return [self._backends[name] for name in self.names]

    def get(self, name: str | None) -> ProctoringBackend:
        name = name or self.default_name
        try:
            return self._backends[name]
        except KeyError:
            raise BackendNotConfigured(
                _("The proctoring backend %(name)s is not configured in %(setting)s.",
                  name=repr(name), setting="PROCTOR_BACKENDS")
            ) from None


def backend_registry() -> BackendRegistry:
    """The current app's registry of configured backends."""
    from flask import current_app

    return current_app.extensions["proctor_backends"]


def get_backend(name: str | None) -> ProctoringBackend:
    return backend_registry().get(name)
