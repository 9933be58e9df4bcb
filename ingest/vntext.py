"""Vietnamese text from legacy encodings to NFC Unicode: Windows-1258, TCVN3 (ABC) and VNI-Windows.

Provincial spreadsheets still hold text typed in the 8-bit "font encodings": the bytes mean
Vietnamese letters only in fonts such as ``.VnTime`` (TCVN3, TCVN 5712:1993 VN3) or
``VNI-Times``; read as Latin-1 (a CSV) or shown as what Excel stores (an XLSX) they look like
"Hµ Néi" or "Haø Noäi". The tables below are written from the published code charts:

* **TCVN3** gives each lowercase vowel with each tone one byte (0xB5 = à …), and only the
  seven uppercase letters Ă Â Ê Ô Ơ Ư Đ; uppercase toned letters were typed with the
  lowercase bytes in an all-capitals font (``.VnTimeH``), so they come back lowercase.
* **VNI-Windows** writes a base letter followed by one accent byte (a + 0xF9 = á, a + 0xE1 = ấ),
  except ơ, ư, đ, the i's and ỵ, which are single bytes.
* **Windows-1258** places tone marks as combining characters after the letter: decoded by
  Python's codec and composed to NFC.

Nothing is guessed silently: :func:`detect_column` scores each candidate by how many of the
column's words become valid Vietnamese syllables, converts only when one does clearly better
than the text as it is, and the import report names the converted columns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

#: tones in the order of the tables below: none, huyền, hỏi, ngã, sắc, nặng
TONES = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
VOWELS = ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y")

# ----------------------------------------------------------------------------- TCVN3 (VN3)
#: vowel -> its byte for each tone (no tone, huyền, hỏi, ngã, sắc, nặng); an ASCII letter is itself
_TCVN3_VOWELS: dict[str, tuple[int, ...]] = {
    "a": (0x61, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xA8, 0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xA9, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0x65, 0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xAA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0x69, 0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0x6F, 0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xAB, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xAC, 0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0x75, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xAD, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0x79, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_TCVN3_OTHERS = {"đ": 0xAE, "Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7, "\u00a0": 0xA0}


def _compose(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + tone)


TCVN3_DECODE: dict[int, str] = {}
for _v, _codes in _TCVN3_VOWELS.items():
    for _tone, _code in zip(TONES, _codes, strict=True):
        if _code >= 0x80:
            TCVN3_DECODE[_code] = _compose(_v, _tone)
for _ch, _code in _TCVN3_OTHERS.items():
    TCVN3_DECODE[_code] = _ch
TCVN3_ENCODE: dict[str, int] = {ch: code for code, ch in TCVN3_DECODE.items()}

# ----------------------------------------------------------------------------- VNI-Windows
#: accent bytes after a lowercase base (uppercase base: the second value)
_VNI_TONE = {
    "\u0300": (0xF8, 0xD8),
    "\u0309": (0xFB, 0xDB),
    "\u0303": (0xF5, 0xD5),
    "\u0301": (0xF9, 0xD9),
    "\u0323": (0xEF, 0xCF),
}
_VNI_CIRCUMFLEX = {
    "": (0xE2, 0xC2),
    "\u0300": (0xE0, 0xC0),
    "\u0309": (0xE5, 0xC5),
    "\u0303": (0xE3, 0xC3),
    "\u0301": (0xE1, 0xC1),
    "\u0323": (0xE4, 0xC4),
}
_VNI_BREVE = {
    "": (0xEA, 0xCA),
    "\u0300": (0xE8, 0xC8),
    "\u0309": (0xFA, 0xDA),
    "\u0303": (0xFC, 0xDC),
    "\u0301": (0xE9, 0xC9),
    "\u0323": (0xEB, 0xCB),
}
#: letters that are one byte of their own: (lowercase, uppercase)
_VNI_SINGLE = {
    "ơ": (0xF4, 0xD4),
    "ư": (0xF6, 0xD6),
    "đ": (0xF1, 0xD1),
    "ì": (0xEC, 0xCC),
    "ỉ": (0xE6, 0xC6),
    "ĩ": (0xF3, 0xD3),
    "í": (0xED, 0xCD),
    "ị": (0xF2, 0xD2),
    "ỵ": (0xEE, 0xCE),
}


def _vni_encode_char(ch: str) -> list[int] | None:
    """The VNI bytes of one NFC letter, or None for a character VNI leaves as it is (ASCII)."""
    lower = ch.lower()
    upper = ch != lower
    col = 1 if upper else 0
    if lower in _VNI_SINGLE:
        return [_VNI_SINGLE[lower][col]]
    decomposed = unicodedata.normalize("NFD", lower)
    tone = next((t for t in TONES[1:] if t in decomposed), "")
    rest = decomposed.replace(tone, "") if tone else decomposed
    base, marks = rest[0], rest[1:]
    base_byte = ord(base.upper() if upper else base)
    if marks == "":
        return [base_byte, _VNI_TONE[tone][col]] if tone else None
    if marks == "\u031b":  # horn: ơ ư with a tone
        head = _VNI_SINGLE[unicodedata.normalize("NFC", base + marks)][col]
        return [head, _VNI_TONE[tone][col]] if tone else [head]
    if marks == "\u0302":
        return [base_byte, _VNI_CIRCUMFLEX[tone][col]]
    if marks == "\u0306":
        return [base_byte, _VNI_BREVE[tone][col]]
    return None


VNI_DECODE_PAIRS: dict[tuple[int, int], str] = {}
VNI_DECODE_SINGLE: dict[int, str] = {}
for _letter, (_lo, _up) in _VNI_SINGLE.items():
    VNI_DECODE_SINGLE[_lo], VNI_DECODE_SINGLE[_up] = _letter, _letter.upper()


def _add_vni_pairs() -> None:
    bases = {"a": ("\u0302", "\u0306"), "e": ("\u0302",), "o": ("\u0302",), "u": (), "y": (), "ơ": (), "ư": ()}
    for base, marks in bases.items():
        for mark in ("", *marks):
            for tone in TONES:
                if not mark and not tone:
                    continue
                for upper in (False, True):
                    letter = _compose(base + mark, tone)
                    letter = letter.upper() if upper else letter
                    if letter.lower() in _VNI_SINGLE:
                        continue
                    encoded = _vni_encode_char(letter)
                    if encoded and len(encoded) == 2:
                        VNI_DECODE_PAIRS[(encoded[0], encoded[1])] = letter
    # an accent byte of either case after a base of either case: the base decides the case
    for (b, acc), letter in list(VNI_DECODE_PAIRS.items()):
        VNI_DECODE_PAIRS.setdefault((b, acc ^ 0x20), letter)  # 0xF9 ù <-> 0xD9 Ù


_add_vni_pairs()


# ----------------------------------------------------------------------------- the codecs
def _to_bytes(text: str) -> bytes | None:
    """Text as it shows a legacy font's bytes (each character U+0000–U+00FF, or Windows-1252's
    0x80–0x9F letters) back to those bytes; None when it holds anything else."""
    try:
        return text.encode("cp1252")
    except UnicodeEncodeError:
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            return None


def decode_tcvn3(data: bytes) -> str:
    return unicodedata.normalize("NFC", "".join(TCVN3_DECODE.get(b, chr(b)) for b in data))


def encode_tcvn3(text: str) -> bytes:
    """NFC text in TCVN3; an uppercase toned letter is written as its lowercase byte (as the
    all-capitals fonts expect). Raises ValueError for a character TCVN3 cannot hold."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) < 0x80:
            out.append(ord(ch))
        elif ch in TCVN3_ENCODE:
            out.append(TCVN3_ENCODE[ch])
        elif ch.lower() in TCVN3_ENCODE:
            out.append(TCVN3_ENCODE[ch.lower()])
        else:
            raise ValueError(f"TCVN3 has no byte for {ch!r}")
    return bytes(out)


def decode_vni(data: bytes) -> str:
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if i + 1 < n and (b, data[i + 1]) in VNI_DECODE_PAIRS:
            out.append(VNI_DECODE_PAIRS[(b, data[i + 1])])
            i += 2
            continue
        out.append(VNI_DECODE_SINGLE.get(b, chr(b) if b < 0x80 else bytes([b]).decode("cp1252", "replace")))
        i += 1
    return unicodedata.normalize("NFC", "".join(out))


def encode_vni(text: str) -> bytes:
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        encoded = _vni_encode_char(ch) if ord(ch) >= 0x80 else None
        if encoded is not None:
            out.extend(encoded)
        elif ord(ch) < 0x80:
            out.append(ord(ch))
        else:
            raise ValueError(f"VNI has no bytes for {ch!r}")
    return bytes(out)


def decode_cp1258(data: bytes) -> str:
    return unicodedata.normalize("NFC", data.decode("cp1258", "replace"))


def encode_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese software writes it: the letter (with its vowel marks, precomposed
    where the code page has it) followed by a combining tone byte."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", ch)
        tone = next((t for t in TONES[1:] if t in decomposed), "")
        base = unicodedata.normalize("NFC", decomposed.replace(tone, "")) if tone else ch
        try:
            out.extend(base.encode("cp1258"))
        except UnicodeEncodeError:
            out.extend(unicodedata.normalize("NFD", base).encode("cp1258"))
        if tone:
            out.extend(tone.encode("cp1258"))
    return bytes(out)


ENCODINGS = {"cp1258": "Windows-1258", "tcvn3": "TCVN3 (ABC, .VnTime)", "vni": "VNI-Windows"}
ALIASES = {
    "cp1258": "cp1258",
    "windows1258": "cp1258",
    "1258": "cp1258",
    "tcvn3": "tcvn3",
    "tcvn": "tcvn3",
    "abc": "tcvn3",
    "vn3": "tcvn3",
    "vntime": "tcvn3",
    "vni": "vni",
    "vniwindows": "vni",
    "vnitimes": "vni",
    "utf8": "utf-8",
    "utf8sig": "utf-8",
    "unicode": "utf-8",
}
_DECODERS = {"cp1258": decode_cp1258, "tcvn3": decode_tcvn3, "vni": decode_vni}


def encoding_name(name: str) -> str:
    """``--encoding`` as one of utf-8, cp1258, tcvn3, vni (ValueError for anything else)."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    if key not in ALIASES:
        raise ValueError(f"unknown encoding {name!r} (utf-8, cp1258, tcvn3, vni)")
    return ALIASES[key]


def convert(value: str, encoding: str) -> str:
    """``value`` (legacy bytes shown as Latin-1/Windows-1252 characters) decoded from ``encoding``."""
    if encoding == "utf-8":
        return unicodedata.normalize("NFC", value)
    data = _to_bytes(value)
    if data is None:
        return unicodedata.normalize("NFC", value)
    return _DECODERS[encoding](data)


# ----------------------------------------------------------------------------- detection
_ONSETS = "b c ch d đ g gh gi h k kh l m n ng ngh nh p ph q qu r s t th tr v x".split()
_CODAS = ("", "c", "ch", "m", "n", "ng", "nh", "p", "t")
_NUCLEI = set(
    "a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi ua uâ uê ui uô uơ uy ưa ưi ươ ưu yê "
    "iêu yêu oai oao oay oeo uây uôi uya uyê uyu ươi ươu".split()
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_TONE_SET = set(TONES[1:])


def is_vietnamese_syllable(word: str) -> bool:
    """A lowercase NFC word that spells a Vietnamese syllable: onset, nucleus, coda, at most one tone."""
    d = unicodedata.normalize("NFD", word.lower())
    tones = [c for c in d if c in _TONE_SET]
    if len(tones) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONE_SET))
    for onset in sorted(_ONSETS, key=len, reverse=True) + [""]:
        if not bare.startswith(onset):
            continue
        rest = bare[len(onset) :]
        for coda in sorted(_CODAS, key=len, reverse=True):
            if coda and not rest.endswith(coda):
                continue
            nucleus = rest[: len(rest) - len(coda)] if coda else rest
            if nucleus in _NUCLEI or (onset in ("gi", "qu") and nucleus == "" and coda):
                return True
    return False


def _score(values: Iterable[str]) -> int:
    score = 0
    for value in values:
        for word in _WORD.findall(value):
            if word.isascii():
                continue
            score += 1 if is_vietnamese_syllable(word) else -1
    return score


def detect_column(values: Sequence[str], candidates: Sequence[str] = ("tcvn3", "vni", "cp1258")) -> str | None:
    """The legacy encoding a column's text is in, or None when it reads best as it is."""
    sample = [v for v in values if v and not v.isascii()][:500]
    if not sample:
        return None
    best, best_score = None, _score(unicodedata.normalize("NFC", v) for v in sample)
    for enc in candidates:
        s = _score(convert(v, enc) for v in sample)
        if s > best_score:
            best, best_score = enc, s
    return best


def all_letters() -> list[str]:
    """Every Vietnamese letter with each tone, lowercase and uppercase (134 vowels, đ, Đ): what the
    round-trip tests run through."""
    letters = [_compose(v, t) for v in VOWELS for t in TONES]
    return letters + [c.upper() for c in letters] + ["đ", "Đ"]
