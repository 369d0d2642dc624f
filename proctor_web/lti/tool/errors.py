"""Why a launch was refused: one exception, a stable code and a message for people."""

from __future__ import annotations


class LaunchRefused(Exception):
    """The launch (or login) cannot go on. Nothing was created; ``code`` names the check."""

    def __init__(self, code: str, message: str, status: int = 400,
                 return_url: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.return_url = return_url
