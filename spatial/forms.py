"""Field forms as data: the expression subset they may use, and the answer validator.

A form definition is JSON made from an XLSForm (``ingest/forms.py``) and stored in
``form_definitions``. The same JSON drives two validators that must agree, this one on
the server and ``webapp/static/field/validate.js`` on the device; ``tests/field_cases.json``
holds the cases both are run over.

Expressions: XLSForm allows any XPath; sinhke accepts a small subset, parsed once at load
time into JSON conditions so neither validator parses XPath at run time::

    expression := condition ( "and" condition )*
    condition  := ref OP literal            OP: = != < <= > >=  (strings: = and != only)
                | selected(ref, 'choice')
                | regex(., 'pattern')      constraints only; ASCII pattern, no (?…) or \\1
    ref        := .                         the field's own value (constraints)
                | ${field}                  an earlier field of the form (relevant)
    literal    := number | 'text' | "text"

Comparison rule (both sides): an empty value (missing, null, "" or []) or a value of the
other kind than the literal (text against a number…) makes every comparison false except
``!=``, which is true. ``selected`` is true when a select_multiple answer lists the choice
or a select_one answer is it. Anything else is refused when the form is loaded.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from typing import Any

from spatial import N_, Message, SinhkeError

#: answer types the validators know; ``note`` shows text and takes no answer
FIELD_TYPES = ("text", "integer", "decimal", "date", "select_one", "select_multiple", "note")
#: why an answer was refused (stable codes: the device and the server give the same)
ERROR_CODES = ("required", "type", "choice", "constraint", "not_relevant", "unknown_field")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ref>\$\{(?P<refname>[A-Za-z_][A-Za-z0-9_]*)\})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op>>=|<=|!=|=|<|>)
  | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<dot>\.)
  | (?P<punct>[(),])
""",
    re.VERBOSE,
)
_PATTERN_CHARS = re.compile(r"^[\x20-\x7e]*$")
_ESCAPES = set("dwsDWS.-()[]{}+*?^$|\\/")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class ExpressionError(SinhkeError):
    """An XLSForm expression outside the subset sinhke evaluates identically on both sides."""


@dataclass(frozen=True)
class AnswerError:
    """Why one answer was refused (or warned of): ``message`` is English (a catalogued
    :class:`spatial.Message` or ``N_()`` text, or the form's own wording), which a page says in
    the reader's language."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


# ----------------------------------------------------------------------------- expressions
def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise ExpressionError(f"cannot read {expr[pos : pos + 12]!r} (position {pos + 1})")
        kind = m.lastgroup or ""
        if kind == "ref":
            out.append(("ref", m.group("refname")))
        elif kind != "space":
            out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse_condition(expr: str, kind: str) -> list[dict[str, Any]]:
    """The conditions (all must hold) of a constraint or relevant expression.

    ``kind`` is ``constraint`` (refers to ``.``) or ``relevant`` (refers to ``${field}``).
    Raises ExpressionError naming what is outside the subset.
    """
    if kind not in ("constraint", "relevant"):
        raise ValueError(kind)
    tokens = _tokens(expr)
    if not tokens:
        raise ExpressionError("empty expression")
    conditions: list[dict[str, Any]] = []
    i = 0

    def take(*kinds: str) -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise ExpressionError(f"expression ends early: {expr!r}")
        tok = tokens[i]
        if tok[0] not in kinds:
            raise ExpressionError(f"unexpected {tok[1]!r} in {expr!r}")
        i += 1
        return tok

    def ref() -> str:
        tok = take("dot", "ref")
        if kind == "constraint" and tok[0] != "dot":
            raise ExpressionError(f"a constraint refers to its own value as '.', not ${{{tok[1]}}}")
        if kind == "relevant" and tok[0] != "ref":
            raise ExpressionError("relevant refers to other fields as ${name}, not '.'")
        return "." if tok[0] == "dot" else tok[1]

    def literal_string() -> str:
        return take("string")[1][1:-1]

    while True:
        if i < len(tokens) and tokens[i] == ("word", "selected"):
            i += 1
            _expect(take("punct"), "(", expr)
            r = ref()
            _expect(take("punct"), ",", expr)
            choice = literal_string()
            _expect(take("punct"), ")", expr)
            conditions.append({"op": "selected", "ref": r, "value": choice})
        elif i < len(tokens) and tokens[i] == ("word", "regex"):
            if kind != "constraint":
                raise ExpressionError("regex() is allowed in constraints only")
            i += 1
            _expect(take("punct"), "(", expr)
            r = ref()
            _expect(take("punct"), ",", expr)
            pattern = literal_string()
            _check_pattern(pattern)
            _expect(take("punct"), ")", expr)
            conditions.append({"op": "regex", "ref": r, "value": pattern})
        else:
            if i < len(tokens) and tokens[i][0] == "word":
                raise ExpressionError(
                    f"{tokens[i][1]!r} is outside the supported subset (comparisons, and, selected(), regex())"
                )
            r = ref()
            op = take("op")[1]
            tok = take("number", "string")
            if tok[0] == "number":
                value: Any = float(tok[1]) if "." in tok[1] else int(tok[1])
            else:
                value = tok[1][1:-1]
                if op not in ("=", "!="):
                    raise ExpressionError(f"text compares with = or != only, not {op!r}")
            conditions.append({"op": op, "ref": r, "value": value})
        if i == len(tokens):
            return conditions
        tok = take("word")
        if tok[1] != "and":
            raise ExpressionError(f"{tok[1]!r}: conditions combine with 'and' only")


def _expect(tok: tuple[str, str], text: str, expr: str) -> None:
    if tok[1] != text:
        raise ExpressionError(f"expected {text!r}, found {tok[1]!r} in {expr!r}")


def _check_pattern(pattern: str) -> None:
    """Patterns that Python (re.ASCII) and JavaScript read the same way."""
    if not _PATTERN_CHARS.match(pattern):
        raise ExpressionError("regex patterns are plain ASCII")
    if "(?" in pattern:
        raise ExpressionError("regex: no (?…) groups (lookarounds and flags differ between engines)")
    for m in re.finditer(r"\\(.)", pattern):
        if m.group(1) not in _ESCAPES:
            raise ExpressionError(f"regex: escape \\{m.group(1)} is not in the shared subset")
    try:
        re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise ExpressionError(f"regex: {exc}") from exc


# ----------------------------------------------------------------------------- evaluation
def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _is_number(value: Any) -> bool:
    """A JSON number as JavaScript reads it: finite (an integer beyond float range is not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) < 1.7e308 if isinstance(value, int) else math.isfinite(value)


def condition_holds(cond: dict[str, Any], value: Any) -> bool:
    """One parsed condition against the value it refers to."""
    op, lit = cond["op"], cond["value"]
    if op == "selected":
        return (isinstance(value, list) and lit in value) or value == lit
    if op == "regex":
        return isinstance(value, str) and re.search(lit, value, re.ASCII) is not None
    if is_empty(value):
        return op == "!="
    if _is_number(lit) and _is_number(value) or isinstance(lit, str) and isinstance(value, str):
        return {
            "=": value == lit,
            "!=": value != lit,
            "<": value < lit,
            "<=": value <= lit,
            ">": value > lit,
            ">=": value >= lit,
        }[op]
    return op == "!="


def _not_a_choice(value: str, names: list[str]) -> Message:
    return Message(N_("{value} is not one of {choices}"), value=repr(value), choices=", ".join(names))


def _type_error(field: dict[str, Any], value: Any) -> tuple[str, str] | None:
    t = field["type"]
    if t == "text":
        return None if isinstance(value, str) else ("type", N_("must be text"))
    if t == "integer":
        ok = _is_number(value) and (isinstance(value, int) or float(value).is_integer())
        return None if ok else ("type", N_("must be a whole number"))
    if t == "decimal":
        return None if _is_number(value) else ("type", N_("must be a number"))
    if t == "date":
        m = _DATE.match(value) if isinstance(value, str) else None
        if m is None:
            return "type", N_("must be a date YYYY-MM-DD")
        y, mo, d = (int(g) for g in m.groups())
        if y < 1 or not 1 <= mo <= 12 or not 1 <= d <= calendar.monthrange(y, mo)[1]:
            return "type", N_("is not a calendar date")
        return None
    names = [c["name"] for c in field.get("choices", [])]
    if t == "select_one":
        if not isinstance(value, str):
            return "type", N_("must be one choice name")
        return None if value in names else ("choice", _not_a_choice(value, names))
    if t == "select_multiple":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "type", N_("must be a list of choice names")
        bad = [v for v in value if v not in names]
        if bad:
            return "choice", _not_a_choice(bad[0], names)
        if len(set(value)) != len(value):
            return "choice", N_("lists a choice twice")
        return None
    return "type", Message(N_("unknown field type {type}"), type=repr(t))


def validate_answers(definition: dict[str, Any], answers: Any) -> list[AnswerError]:
    """Every problem with the answers of one filled form, in the form's field order.

    Mirrors ``validateAnswers`` in ``webapp/static/field/validate.js`` rule for rule.
    """
    if not isinstance(answers, dict):
        return [AnswerError("answers", "type", N_("answers must be an object keyed by field name"))]
    errors: list[AnswerError] = []
    values: dict[str, Any] = {}
    known: set[str] = set()
    for field in definition["fields"]:
        name = field["name"]
        if field["type"] == "note":
            continue
        known.add(name)
        raw = answers.get(name)
        relevant = field.get("relevant")
        if relevant and not all(condition_holds(c, values.get(c["ref"])) for c in relevant["all"]):
            if not is_empty(raw):
                errors.append(
                    AnswerError(
                        name,
                        "not_relevant",
                        Message(N_("must be empty: it applies only when {condition}"), condition=relevant["expr"]),
                    )
                )
            values[name] = None
            continue
        if is_empty(raw):
            if field.get("required"):
                errors.append(AnswerError(name, "required", N_("is required")))
            values[name] = None
            continue
        problem = _type_error(field, raw)
        if problem:
            errors.append(AnswerError(name, problem[0], problem[1]))
            values[name] = None
            continue
        values[name] = raw
        constraint = field.get("constraint")
        if constraint and not all(condition_holds(c, raw) for c in constraint["all"]):
            message = Message.worded(
                field.get("constraint_message"),
                Message(N_("must satisfy {condition}"), condition=constraint["expr"]),
            )
            errors.append(AnswerError(name, "constraint", message))
    for name in sorted(set(answers) - known):
        errors.append(AnswerError(name, "unknown_field", N_("is not a field of this form")))
    return errors


def answer_warnings(definition: dict[str, Any], answers: Any) -> list[AnswerError]:
    """Soft warnings: answers outside the range a form marks as usual (its ``warning``
    column), which the worker confirms before saving. Only answers that apply and are
    otherwise valid are checked, in the form's field order; code ``warning``.

    Mirrors ``answerWarnings`` in ``webapp/static/field/validate.js`` rule for rule.
    """
    if not isinstance(answers, dict):
        return []
    refused = {e.field for e in validate_answers(definition, answers)}
    warnings: list[AnswerError] = []
    values: dict[str, Any] = {}
    for field in definition["fields"]:
        name = field["name"]
        if field["type"] == "note":
            continue
        relevant = field.get("relevant")
        applies = not relevant or all(condition_holds(c, values.get(c["ref"])) for c in relevant["all"])
        raw = answers.get(name)
        usable = applies and not is_empty(raw) and _type_error(field, raw) is None
        values[name] = raw if usable else None
        warning = field.get("warning")
        if not usable or not warning or name in refused:
            continue
        if not all(condition_holds(c, raw) for c in warning["all"]):
            message = Message.worded(
                field.get("warning_message"), Message(N_("usually {condition}"), condition=warning["expr"])
            )
            warnings.append(AnswerError(name, "warning", message))
    return warnings


# ----------------------------------------------------------------------------- labels
def answer_display(field: dict[str, Any] | None, value: Any) -> Any:
    """A choice answer as its labels ({vi, en}); lists of choices as lists; anything else as it is."""
    if field is None or not field.get("choices"):
        return value
    labels = {c["name"]: c["label"] for c in field["choices"]}
    if isinstance(value, list):
        return [labels.get(v, {"vi": v, "en": v}) for v in value]
    return labels.get(value, value)


def labelled_answers(fields: list[dict[str, Any]] | None, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Every answer of a visit in its form's order, each with the question's label ({vi, en})
    and its display value (choice labels); answers the form does not name come last, by name."""
    fields = [f for f in fields or [] if f.get("type") != "note"]
    known = {f["name"] for f in fields}
    out = [
        {
            "name": f["name"],
            "label": f["label"],
            "value": answers[f["name"]],
            "display": answer_display(f, answers[f["name"]]),
        }
        for f in fields
        if f["name"] in answers and not is_empty(answers[f["name"]])
    ]
    for name in sorted(set(answers) - known):
        out.append({"name": name, "label": {"vi": name, "en": name}, "value": answers[name], "display": answers[name]})
    return out


def in_language(display: Any, lang: str) -> Any:
    """A display value (see ``answer_display``) in one language: labels as text, lists joined
    with commas; numbers and text as they are."""
    if isinstance(display, dict):
        return display.get(lang) or display.get("vi") or next(iter(display.values()), "")
    if isinstance(display, list):
        return ", ".join(str(in_language(d, lang)) for d in display)
    return display
