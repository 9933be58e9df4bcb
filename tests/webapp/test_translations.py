"""The Vietnamese catalogue holds every message the sources mark, translated and not fuzzy.

The messages are extracted with Babel's own API from the files ``webapp/babel.cfg`` names (what
``pybabel extract`` reads), so a new ``_()`` without its Vietnamese translation fails here.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "webapp/translations/vi/LC_MESSAGES/messages.po"


def _extracted() -> dict[str, str]:
    """msgid → first place it occurs, for every message of the sources."""
    with (ROOT / "webapp/babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_every_message_has_a_vietnamese_translation() -> None:
    with PO.open("rb") as f:
        catalogue = read_po(f, locale="vi")
    extracted = _extracted()
    assert len(extracted) > 500  # the extraction read the sources (not an empty mapping)
    missing, empty, fuzzy = [], [], []
    for msgid, where in sorted(extracted.items()):
        entry = catalogue.get(msgid)
        if entry is None:
            missing.append(f"{where}: {msgid!r}")
        elif entry.fuzzy:
            fuzzy.append(f"{where}: {msgid!r}")
        elif not all(entry.string if isinstance(entry.string, tuple) else (entry.string,)):
            empty.append(f"{where}: {msgid!r}")
    assert not missing, "not in messages.po:\n" + "\n".join(missing)
    assert not empty, "no Vietnamese translation:\n" + "\n".join(empty)
    assert not fuzzy, "fuzzy (unchecked) translation:\n" + "\n".join(fuzzy)


def test_no_translation_is_fuzzy() -> None:
    """Also the messages no source uses any more: a fuzzy entry is a guess nobody checked."""
    with PO.open("rb") as f:
        catalogue = read_po(f, locale="vi")
    assert [m.id for m in catalogue if m.id and m.fuzzy] == []


def test_the_catalogue_itself_is_not_fuzzy() -> None:
    """A fuzzy header makes ``pybabel compile`` skip the whole catalogue: every page in English."""
    with PO.open("rb") as f:
        catalogue = read_po(f, locale="vi")
    assert not catalogue.fuzzy
