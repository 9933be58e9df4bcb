"""Settings, database, PostGIS models and pure geometry helpers of sinhke.

This package imports none of ``ingest``, ``jobs`` or ``webapp``.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any


def N_(message: str) -> str:
    """Marks ``message`` for the translation catalogue (Babel's ``N_``); the web layer translates it
    when it shows it, so this package stays free of Flask-Babel."""
    return message


class Message(str):
    """A text for people made from a catalogue message and its values: the English text itself (a
    ``str``, for the CLI, logs and tests), keeping ``msgid`` and ``args`` so a page can show it in
    the reader's language (``webapp.labels.message_text``). Mark the message for the catalogue:
    ``Message(N_("less than {minimum}"), minimum="1")``; a message without values can stay a
    plain ``N_()`` string, its text being its msgid."""

    msgid: str
    args: dict[str, str]
    #: the message's own wording by language ({"vi": …, "en": …}), which a page prefers to the
    #: catalogue's: a text the data words itself, such as a form's constraint message
    texts: dict[str, str]

    def __new__(cls, msgid: str, **args: object) -> "Message":
        values = {k: str(v) for k, v in args.items()}
        self = super().__new__(cls, msgid.format(**values) if values else msgid)
        self.msgid, self.args, self.texts = msgid, values, {}
        return self

    @classmethod
    def worded(cls, texts: dict[str, str] | None, default: "Message | str") -> "Message":
        """A message its source words in each language itself (an XLSForm's ``{"vi", "en"}``): its
        English text is ``texts["en"]``, else ``default`` (a catalogued message), which also says it
        in a language ``texts`` lacks."""
        own = {str(k): str(v) for k, v in (texts or {}).items() if v}
        if "en" in own:
            self = cls(own["en"])
        elif isinstance(default, Message):
            self = cls(default.msgid, **default.args)
        else:
            self = cls(default)
        self.texts = own
        return self

    def stored(self) -> dict[str, object]:
        """As kept in a JSON column: the text, and what translates it."""
        out: dict[str, object] = {"text": str(self), "msgid": self.msgid, "args": self.args}
        if self.texts:
            out["texts"] = self.texts
        return out


#: an English decimal among a message's values, perhaps with its unit ("0.5", "7.5 %")
_DECIMAL = re.compile(r"^(-?\d+)\.(\d+)(\D*)$")


def word_message(
    stored: Mapping[str, Any], translate: Callable[[str], str], decimal: Callable[[float, int], str]
) -> str:
    """A stored message (:meth:`Message.stored`) in a language: ``translate`` gives its msgid's
    wording, ``decimal(value, digits)`` writes a decimal value the language's way (its unit kept).
    Without a msgid, or when the wording does not take the values, its English text."""
    english, msgid = str(stored.get("text") or ""), str(stored.get("msgid") or "")
    if not msgid:
        return english
    values = {}
    for key, value in (stored.get("args") or {}).items():
        found = _DECIMAL.match(value) if isinstance(value, str) else None
        values[key] = decimal(float(f"{found[1]}.{found[2]}"), len(found[2])) + found[3] if found else value
    wording = translate(msgid)
    try:
        return wording.format(**values) if values else wording
    except (KeyError, IndexError, ValueError):
        return english or msgid


def stored_text(text: str) -> str | dict[str, object]:
    """A text as kept in a JSON column: a :class:`Message` with its msgid and values, else as is."""
    return text.stored() if isinstance(text, Message) else text


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
