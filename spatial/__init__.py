"""Settings, database, PostGIS models and pure geometry helpers of sinhke.

This package imports none of ``ingest``, ``jobs`` or ``webapp``.
"""


def N_(message: str) -> str:
    """Marks ``message`` for the translation catalogue (Babel's ``N_``); the web layer translates it
    when it shows it, so this package stays free of Flask-Babel."""
    return message


class SinhkeError(Exception):
    """Base of every error sinhke reports to a person (CLI message, HTTP body)."""


class ParameterError(SinhkeError):
    """A request or command parameter is not acceptable; names the parameter and allowed values."""

    def __init__(self, parameter: str, message: str, allowed: list[str] | None = None):
        self.parameter = parameter
        self.allowed = allowed
        text = f"{parameter}: {message}"
        if allowed is not None:
            text += f" (allowed: {', '.join(allowed) if allowed else 'none available'})"
        super().__init__(text)


class NotFound(SinhkeError):
    """The thing asked for does not exist (or is outside the caller's scope)."""
