// Answer validation on the device: the same rules as spatial/forms.py, on the same JSON
// definition (GET /api/forms). Keep the two in step; tests/field_cases.json runs both.
//
//   import { validateAnswers } from "/static/field/validate.js";
//   const errors = validateAnswers(definition, answers);  // [{field, code, message}], [] when valid

export const ERROR_CODES = ["required", "type", "choice", "constraint", "not_relevant", "unknown_field"];

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isEmpty(value) {
  return value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0);
}

function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

function daysInMonth(year, month) {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

export function conditionHolds(cond, value) {
  const { op, value: lit } = cond;
  if (op === "selected") {
    return (Array.isArray(value) && value.includes(lit)) || value === lit;
  }
  if (op === "regex") {
    return typeof value === "string" && new RegExp(lit).test(value);
  }
  if (isEmpty(value)) return op === "!=";
  const comparable = (isNumber(lit) && isNumber(value)) || (typeof lit === "string" && typeof value === "string");
  if (!comparable) return op === "!=";
  switch (op) {
    case "=": return value === lit;
    case "!=": return value !== lit;
    case "<": return value < lit;
    case "<=": return value <= lit;
    case ">": return value > lit;
    case ">=": return value >= lit;
    default: return false;
  }
}

function typeError(field, value) {
  const t = field.type;
  if (t === "text") return typeof value === "string" ? null : ["type", "must be text"];
  if (t === "integer") return isNumber(value) && Number.isInteger(value) ? null : ["type", "must be a whole number"];
  if (t === "decimal") return isNumber(value) ? null : ["type", "must be a number"];
  if (t === "date") {
    const m = typeof value === "string" ? DATE.exec(value) : null;
    if (!m) return ["type", "must be a date YYYY-MM-DD"];
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return ["type", "is not a calendar date"];
    return null;
  }
  const names = (field.choices || []).map((c) => c.name);
  if (t === "select_one") {
    if (typeof value !== "string") return ["type", "must be one choice name"];
    return names.includes(value) ? null : ["choice", `'${value}' is not one of ${names.join(", ")}`];
  }
  if (t === "select_multiple") {
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
      return ["type", "must be a list of choice names"];
    }
    const bad = value.filter((v) => !names.includes(v));
    if (bad.length) return ["choice", `'${bad[0]}' is not one of ${names.join(", ")}`];
    if (new Set(value).size !== value.length) return ["choice", "lists a choice twice"];
    return null;
  }
  return ["type", `unknown field type '${t}'`];
}

export function validateAnswers(definition, answers) {
  if (answers === null || typeof answers !== "object" || Array.isArray(answers)) {
    return [{ field: "answers", code: "type", message: "answers must be an object keyed by field name" }];
  }
  const errors = [];
  const values = new Map();
  const known = new Set();
  const has = (name) => Object.prototype.hasOwnProperty.call(answers, name);
  for (const field of definition.fields) {
    const name = field.name;
    if (field.type === "note") continue;
    known.add(name);
    const raw = has(name) ? answers[name] : undefined;
    const relevant = field.relevant;
    if (relevant && !relevant.all.every((c) => conditionHolds(c, values.get(c.ref)))) {
      if (!isEmpty(raw)) {
        errors.push({ field: name, code: "not_relevant", message: `must be empty: it applies only when ${relevant.expr}` });
      }
      values.set(name, null);
      continue;
    }
    if (isEmpty(raw)) {
      if (field.required) errors.push({ field: name, code: "required", message: "is required" });
      values.set(name, null);
      continue;
    }
    const problem = typeError(field, raw);
    if (problem) {
      errors.push({ field: name, code: problem[0], message: problem[1] });
      values.set(name, null);
      continue;
    }
    values.set(name, raw);
    const constraint = field.constraint;
    if (constraint && !constraint.all.every((c) => conditionHolds(c, raw))) {
      const message = (field.constraint_message && field.constraint_message.en) || `must satisfy ${constraint.expr}`;
      errors.push({ field: name, code: "constraint", message });
    }
  }
  const unknown = Object.keys(answers).filter((k) => !known.has(k)).sort();
  for (const name of unknown) errors.push({ field: name, code: "unknown_field", message: "is not a field of this form" });
  return errors;
}

// Soft warnings: answers outside the range a form marks as usual (its `warning` column),
// confirmed by the worker before saving. Only answers that apply and are otherwise valid
// are checked. Mirrors answer_warnings in spatial/forms.py.
export function answerWarnings(definition, answers) {
  if (answers === null || typeof answers !== "object" || Array.isArray(answers)) return [];
  const refused = new Set(validateAnswers(definition, answers).map((e) => e.field));
  const warnings = [];
  const values = new Map();
  const has = (name) => Object.prototype.hasOwnProperty.call(answers, name);
  for (const field of definition.fields) {
    const name = field.name;
    if (field.type === "note") continue;
    const relevant = field.relevant;
    const applies = !relevant || relevant.all.every((c) => conditionHolds(c, values.get(c.ref)));
    const raw = has(name) ? answers[name] : undefined;
    const usable = applies && !isEmpty(raw) && typeError(field, raw) === null;
    values.set(name, usable ? raw : null);
    const warning = field.warning;
    if (!usable || !warning || refused.has(name)) continue;
    if (!warning.all.every((c) => conditionHolds(c, raw))) {
      const message = (field.warning_message && field.warning_message.en) || `usually ${warning.expr}`;
      warnings.push({ field: name, code: "warning", message });
    }
  }
  return warnings;
}
