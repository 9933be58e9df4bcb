/*
 * sinhke field app: extension workers log visits to their livelihood models, also
 * without a network.
 *
 * - The worker's models, the forms and the commune outlines are fetched when online
 *   and kept in IndexedDB (and the app shell by the service worker), so the app opens
 *   and works offline.
 * - A visit is validated on the phone with the same rules as the server
 *   (validate.js, on the same form definition), then put in the IndexedDB outbox with
 *   a client-generated UUID. The outbox survives closing the browser.
 * - The outbox is sent when the network comes back, every 30 s while online, and on
 *   "Send now". The server answers each visit: 201/200 → sent (the same body twice is
 *   harmless), 409 → conflict (kept on the phone with the server's reason), 4xx →
 *   refused; network errors leave it saved, to be sent later.
 *
 * For tests: body[data-field-ready] is "1" once models are shown; each outbox entry is
 * li[data-visit-id] with data-state.
 */

import { openFieldDb } from './offline.js';
import { answerWarnings, conditionHolds, validateAnswers } from './validate.js';

const app = document.getElementById('field-app');
const ROOT = app.dataset.root || '';
const API = `${ROOT}/api`;
const LOCALE = app.dataset.locale === 'en' ? 'en' : 'vi';
const MAX_ACCURACY_M = Number(app.dataset.maxAccuracyM) || 50;
const PHOTO_MAX_KB = Number(app.dataset.photoMaxKb) || 300;
const t = JSON.parse(document.getElementById('field-i18n').textContent);
const SYNC_EVERY_MS = 30_000;

// ---------------------------------------------------------------------------
// Small helpers

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

const dateFormat = new Intl.DateTimeFormat(LOCALE === 'en' ? 'en-GB' : 'vi-VN', {
  dateStyle: 'medium', timeStyle: 'short',
});

function message(text, isError = false) {
  const target = document.getElementById('field-message');
  target.textContent = text || '';
  target.classList.toggle('is-error', Boolean(isError));
}

/** A label in the page's language from a form definition's label (string or {lang: text}). */
function label(value, fallback = '') {
  if (!value) return fallback;
  if (typeof value === 'string') return value;
  return value[LOCALE] || value.vi || value.en || Object.values(value)[0] || fallback;
}

// ---------------------------------------------------------------------------
// IndexedDB: the outbox (visits) and the cache (models, forms, communes)

let dbPromise = null;

function openDb() {
  if (!dbPromise) dbPromise = openFieldDb();
  return dbPromise;
}

async function store(name, mode, action) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(name, mode);
    const result = action(transaction.objectStore(name));
    transaction.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

/** Whether an outbox entry is the signed-in user's (visits are sent only by whoever recorded them). */
const mine = (entry) => !entry.by || !state.session || entry.by === state.session.name;

const outbox = {
  all: async () => (await store('outbox', 'readonly', (s) => s.getAll())).filter(mine),
  get: (id) => store('outbox', 'readonly', (s) => s.get(id)),
  put: (entry) => store('outbox', 'readwrite', (s) => s.put(entry)),
  remove: (id) => store('outbox', 'readwrite', (s) => s.delete(id)),
};
const cached = {
  get: async (key) => {
    const row = await store('data', 'readonly', (s) => s.get(key));
    return row ? row.value : null;
  },
  put: (key, value) => store('data', 'readwrite', (s) => s.put({ key, value, at: new Date().toISOString() })),
};

// ---------------------------------------------------------------------------
// Server

let csrfToken = null;

class HttpError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** A JSON answer from a path of the app (or a full URL the server handed out, such as a next link). */
async function getJSON(path) {
  const url = /^https?:/.test(path) ? path : `${ROOT}${path}`;
  const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (response.redirected && new URL(response.url).pathname.endsWith('/login')) throw new HttpError(401, null);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new HttpError(response.status, body);
  return body;
}

async function refreshSession() {
  const info = await getJSON('/field/session');
  csrfToken = info.csrf_token;
  if (!info.name) throw new HttpError(401, null);
  return info;
}

async function postJSON(path, payload) {
  if (!csrfToken) await refreshSession();
  const send = () => fetch(`${ROOT}${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken },
    body: JSON.stringify(payload),
  });
  let response = await send();
  if (response.status === 400) {
    // a CSRF token from an older session: fetch a fresh one and try once more
    const body = await response.clone().json().catch(() => null);
    if (body && body.error && /CSRF/i.test(body.error.message || '')) {
      await refreshSession();
      response = await send();
    }
  }
  const body = await response.json().catch(() => null);
  return { status: response.status, body };
}

/** Every feature of a layer, following `next` links. */
async function allFeatures(path) {
  const features = [];
  let next = `${path}${path.includes('?') ? '&' : '?'}limit=10000`;
  for (let page = 0; next && page < 100; page += 1) {
    const collection = await getJSON(next);
    features.push(...(collection.features || []));
    const link = (collection.links || []).find((candidate) => candidate.rel === 'next');
    next = link && (collection.features || []).length ? new URL(link.href, window.location.href).href : null;
  }
  return { type: 'FeatureCollection', features };
}

// ---------------------------------------------------------------------------
// State

const state = {
  models: [],
  forms: [],
  households: {}, // model code → [{code, head, village}]: the household pick-list
  communes: null,
  session: null,
  current: null, // {model, form, entry?}
  position: null, // {lon, lat, accuracy}
  photo: null, // {type, data (base64), width, height, bytes}
  syncing: false,
  checked: false, // the visit form was checked once: its error list now follows every change
  confirmed: null, // the answers whose warnings the worker confirmed (JSON)
};

async function loadFromServer() {
  const previous = await cached.get('session');
  state.session = await refreshSession();
  const asked = new URLSearchParams(window.location.search).get('lang');
  if (!asked && state.session.locale && state.session.locale !== LOCALE) {
    // the language was changed on another page since this copy of the app was kept
    window.location.replace(`${window.location.pathname}?lang=${state.session.locale}`);
    return;
  }
  if (previous && previous.name !== state.session.name) {
    // another user signed in on this phone without signing out in the app: show nothing of theirs
    await store('data', 'readwrite', (s) => s.clear());
    Object.assign(state, { models: [], forms: [], communes: null, households: {} });
    await Promise.all([renderModels(), renderOutbox()]);
  }
  const [forms, models, communes, households] = await Promise.all([
    getJSON('/api/forms'),
    allFeatures('/api/layers/livelihood_models'),
    allFeatures('/api/layers/admin_units?level=commune&boundaries=current'),
    getJSON('/api/participants'),
  ]);
  await Promise.all([
    cached.put('forms', forms), cached.put('models', models), cached.put('communes', communes),
    cached.put('households', households.models), cached.put('session', state.session),
  ]);
}

async function loadFromPhone() {
  state.forms = formList(await cached.get('forms'));
  state.session = (await cached.get('session')) || state.session;
  const models = await cached.get('models');
  state.models = models ? models.features : [];
  state.communes = await cached.get('communes');
  state.households = (await cached.get('households')) || {};
}

/** The definitions from GET /api/forms, as a list. */
function formList(body) {
  return (body && body.forms) || [];
}

/** The current form for a model type: the one made for the type, else one for any type. */
function formFor(modelType) {
  const forModels = state.forms.filter((form) => form.target === 'livelihood_model');
  return forModels.find((form) => (form.target_types || []).includes(modelType))
    || forModels.find((form) => (form.target_types || []).includes('*')) || null;
}

/** The fields of a stored form (its parsed XLSForm definition). */
const fieldsOf = (form) => (form && form.definition && form.definition.fields) || [];

/** Whether a field applies given the answers of the fields before it (the validator's rule). */
function relevantNow(field, values) {
  const relevant = field.relevant;
  if (!relevant) return true;
  return relevant.all.every((condition) => conditionHolds(condition, values[condition.ref] ?? null));
}

/** A validation error in the page's language: the form's own message, or one per error code. */
function errorText(form, error) {
  const field = fieldsOf(form).find((candidate) => candidate.name === error.field);
  if (error.code === 'constraint' && field && field.constraint_message) return label(field.constraint_message);
  return t.errors[error.code] || error.message;
}

// ---------------------------------------------------------------------------
// Views

function showView(name) {
  for (const view of document.querySelectorAll('.field-view')) view.hidden = view.id !== `view-${name}`;
  for (const tab of document.querySelectorAll('.field-tab')) {
    tab.setAttribute('aria-pressed', String(tab.dataset.view === name));
  }
  if (name === 'models' && fieldMap) fieldMap.resize();
}

function lastVisits(entries) {
  const last = new Map();
  for (const entry of entries) {
    const code = entry.body.model;
    if (!last.has(code) || last.get(code) < entry.body.visited_at) last.set(code, entry.body.visited_at);
  }
  return last;
}

async function renderModels() {
  const list = document.getElementById('model-list');
  const query = document.getElementById('model-search').value.trim().toLowerCase();
  const visits = lastVisits(await outbox.all());
  list.replaceChildren();
  const shown = state.models.filter((feature) => {
    const p = feature.properties;
    return !query || [p.name, p.code, p.commune].some((v) => String(v || '').toLowerCase().includes(query));
  });
  for (const feature of shown) {
    const p = feature.properties;
    const item = element('li', 'model-item');
    item.dataset.model = p.code;
    const button = element('button', 'model-open');
    button.type = 'button';
    button.append(
      element('span', 'model-name', p.name),
      element('span', 'model-meta', `${t.model_type[p.model_type] || p.model_type} · ${p.commune || ''} · ${p.code}`),
    );
    const last = visits.get(p.code) || p.last_visit_at;
    button.append(element('span', 'model-last', last ? fill(t.last_visit, { date: dateFormat.format(new Date(last)) })
      : t.never_visited));
    button.addEventListener('click', () => openVisit(feature));
    item.append(button);
    list.append(item);
  }
  document.getElementById('models-empty').hidden = state.models.length > 0;
}

async function renderOutbox() {
  const entries = (await outbox.all()).sort((a, b) => (a.saved_at < b.saved_at ? 1 : -1));
  const list = document.getElementById('outbox-list');
  list.replaceChildren();
  const counts = { saved: 0, sent: 0, problem: 0 };
  for (const entry of entries) {
    if (entry.state === 'sent') counts.sent += 1;
    else if (entry.state === 'saved' || entry.state === 'sending') counts.saved += 1;
    else counts.problem += 1;
    const item = element('li', `outbox-item state-${entry.state}`);
    item.dataset.visitId = entry.id;
    item.dataset.state = entry.state;
    const model = state.models.find((feature) => feature.properties.code === entry.body.model);
    item.append(
      element('span', 'outbox-model', model ? model.properties.name : entry.body.model),
      element('span', 'outbox-when', dateFormat.format(new Date(entry.body.visited_at))),
      element('span', `visit-state state-${entry.state}`, t.state[entry.state] || entry.state),
    );
    if (entry.problem) item.append(element('p', 'outbox-problem', entry.problem));
    const actions = element('div', 'outbox-actions');
    if (entry.state === 'rejected' || entry.state === 'conflict' || entry.state === 'saved') {
      const edit = element('button', 'button button-small', t.edit);
      edit.type = 'button';
      edit.addEventListener('click', () => {
        const feature = state.models.find((f) => f.properties.code === entry.body.model);
        if (feature) openVisit(feature, entry);
      });
      actions.append(edit);
    }
    if (entry.state === 'conflict') {
      const resend = element('button', 'button button-small', t.resend_as_edit);
      resend.type = 'button';
      resend.addEventListener('click', () => resendAsEdit(entry));
      actions.append(resend);
    }
    if (entry.state === 'rejected' || entry.state === 'conflict') {
      const discard = element('button', 'button button-small button-secondary', t.discard);
      discard.type = 'button';
      discard.addEventListener('click', async () => {
        await outbox.remove(entry.id);
        await renderOutbox();
      });
      actions.append(discard);
    }
    if (actions.childElementCount) item.append(actions);
    list.append(item);
  }
  document.getElementById('outbox-empty').hidden = entries.length > 0;
  document.getElementById('outbox-summary').textContent = fill(t.outbox, counts);
}

// ---------------------------------------------------------------------------
// The visit form, built from the form definition

function inputFor(field, value) {
  const id = `f-${field.name}`;
  const wrapper = element('div', 'field');
  wrapper.dataset.field = field.name;
  const caption = `${label(field.label, field.name)}${field.required ? ' *' : ''}`;
  if (field.type === 'select_one' || field.type === 'select_multiple') {
    const group = element('fieldset', 'choice-group');
    group.append(element('legend', null, caption));
    const chosen = Array.isArray(value) ? value : [value];
    for (const choice of field.choices || []) {
      const option = element('label', 'choice');
      const input = document.createElement('input');
      input.type = field.type === 'select_one' ? 'radio' : 'checkbox';
      input.name = field.name;
      input.value = choice.name;
      input.checked = chosen.includes(choice.name);
      option.append(input, element('span', null, label(choice.label, choice.name)));
      group.append(option);
    }
    wrapper.append(group);
  } else if (field.type === 'note') {
    wrapper.append(element('p', 'form-note', caption));
  } else {
    const caption_ = element('label', null, caption);
    caption_.htmlFor = id;
    const input = document.createElement(field.type === 'text' && field.appearance === 'multiline' ? 'textarea' : 'input');
    input.id = id;
    input.name = field.name;
    if (field.type === 'integer' || field.type === 'decimal') {
      input.type = 'number';
      input.inputMode = field.type === 'integer' ? 'numeric' : 'decimal';
      input.step = field.type === 'integer' ? '1' : 'any';
    } else if (field.type === 'date') {
      input.type = 'date';
    } else if (input.tagName === 'INPUT') {
      input.type = 'text';
    }
    if (value !== undefined && value !== null) input.value = String(value);
    wrapper.append(caption_, input);
    if (field.type === 'text' && field.appearance === 'participants') wrapper.append(pickList(input));
  }
  if (field.hint) wrapper.append(element('p', 'field-hint', label(field.hint)));
  wrapper.append(element('p', 'field-error'), element('p', 'field-warning'));
  return wrapper;
}

/** Text for searching: lower case, without Vietnamese diacritics (so "nguyen" finds "Nguyễn"). */
function folded(value) {
  return String(value || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'd')
    .toLowerCase();
}

const PICK_LIMIT = 8;

/**
 * The household pick-list under a text question (appearance "participants"): the model's
 * participating households, from the phone, filtered by what is typed (code, head of
 * household or village); choosing one fills in its code. A code not on the list can still
 * be typed (the form's constraint checks it).
 */
function pickList(input) {
  const list = element('ul', 'pick-list');
  list.id = `${input.id}-choices`;
  list.hidden = true;
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('aria-expanded', 'false');
  input.autocomplete = 'off';
  input.placeholder = t.household_search;
  const show = (open) => {
    list.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
  };
  const render = () => {
    const households = state.households[state.current.feature.properties.code] || [];
    const query = folded(input.value.trim());
    const found = households.filter((h) => !query || [h.code, h.head, h.village].some((v) => folded(v).includes(query)));
    list.replaceChildren();
    for (const household of found.slice(0, PICK_LIMIT)) {
      const item = element('li');
      const option = element('button', 'pick-option');
      option.type = 'button';
      option.dataset.code = household.code;
      option.append(element('span', 'pick-code', household.code),
        element('span', 'pick-meta', [household.head, household.village].filter(Boolean).join(' · ')));
      option.addEventListener('click', () => {
        input.value = household.code;
        show(false);
        input.dispatchEvent(new Event('input', { bubbles: true }));
        input.focus();
      });
      item.append(option);
      list.append(item);
    }
    const more = found.length - PICK_LIMIT;
    if (more > 0) list.append(element('li', 'pick-more', fill(t.household_more, { count: more })));
    if (!households.length) list.append(element('li', 'pick-more', t.household_none));
    else if (!found.length) list.append(element('li', 'pick-more', t.household_not_found));
    const exact = found.length === 1 && found[0].code === input.value.trim();
    show(!exact);
  };
  input.addEventListener('focus', render);
  input.addEventListener('input', (event) => {
    if (event.isTrusted) render();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') show(false);
  });
  input.addEventListener('blur', () => {
    // a click on an option lands before the list closes
    setTimeout(() => {
      if (!list.contains(document.activeElement)) show(false);
    }, 150);
  });
  return list;
}

/** The answers as typed (numbers for numeric fields, lists for select_multiple), of relevant fields only. */
function readAnswers(form) {
  const answers = {};
  const values = {};
  const root = document.getElementById('form-fields');
  for (const field of fieldsOf(form)) {
    if (field.type === 'note') continue;
    if (!relevantNow(field, values)) {
      values[field.name] = null;
      continue;
    }
    if (field.type === 'select_one') {
      const checked = root.querySelector(`input[name="${CSS.escape(field.name)}"]:checked`);
      if (checked) answers[field.name] = checked.value;
    } else if (field.type === 'select_multiple') {
      const checked = [...root.querySelectorAll(`input[name="${CSS.escape(field.name)}"]:checked`)];
      if (checked.length) answers[field.name] = checked.map((input) => input.value);
    } else {
      const input = root.querySelector(`[name="${CSS.escape(field.name)}"]`);
      const raw = input ? input.value.trim() : '';
      if (raw === '') continue;
      answers[field.name] = field.type === 'integer' || field.type === 'decimal' ? Number(raw) : raw;
    }
    values[field.name] = field.name in answers ? answers[field.name] : null;
  }
  return answers;
}

/** Shows only the fields whose `relevant` holds for the answers so far. */
function applyRelevance(form) {
  const answers = readAnswers(form);
  const values = {};
  for (const field of fieldsOf(form)) {
    const node = document.querySelector(`[data-field="${CSS.escape(field.name)}"]`);
    const relevant = relevantNow(field, values);
    if (node) node.hidden = !relevant;
    values[field.name] = relevant && field.name in answers ? answers[field.name] : null;
  }
}

function openVisit(feature, entry = null) {
  const p = feature.properties;
  const form = entry ? state.forms.find((f) => f.form === entry.body.form && f.version === entry.body.form_version)
    || formFor(p.model_type) : formFor(p.model_type);
  document.getElementById('visit-kind').textContent = `${t.model_type[p.model_type] || p.model_type} · ${p.code}`;
  document.getElementById('visit-heading').textContent = p.name;
  const fields = document.getElementById('form-fields');
  fields.replaceChildren();
  document.getElementById('form-errors').replaceChildren();
  document.getElementById('form-warnings').replaceChildren();
  document.getElementById('warnings-box').hidden = true;
  Object.assign(state, { checked: false, confirmed: null });
  showSaveLabel(false);
  state.current = { feature, form, entry };
  state.position = entry && entry.body.location ? {
    lon: entry.body.location.coordinates[0], lat: entry.body.location.coordinates[1], accuracy: entry.body.accuracy_m,
  } : null;
  state.photo = entry && entry.body.photo ? { type: entry.body.photo.type, data: entry.body.photo.data } : null;
  document.getElementById('photo-state').textContent = '';
  document.getElementById('photo-input').value = '';
  const visited = entry ? new Date(entry.body.visited_at) : new Date();
  const local = new Date(visited.getTime() - visited.getTimezoneOffset() * 60000);
  document.getElementById('visited-at').value = local.toISOString().slice(0, 16);
  if (!form) {
    fields.append(element('p', 'field-note', t.no_form));
    document.getElementById('save-visit').disabled = true;
  } else {
    document.getElementById('save-visit').disabled = false;
    const answers = entry ? entry.body.answers : {};
    for (const field of fieldsOf(form)) fields.append(inputFor(field, answers[field.name]));
    fields.append(element('p', 'form-version', fill(t.form_version, { form: form.form, version: form.version })));
    applyRelevance(form);
  }
  showGps();
  showView('visit');
  if (!entry) takePosition();
}

function showGps() {
  const target = document.getElementById('gps-state');
  const position = state.position;
  target.classList.remove('is-warning', 'is-error');
  if (!position) {
    target.textContent = t.gps_none;
    return;
  }
  const accuracy = Math.round(position.accuracy);
  if (position.accuracy > MAX_ACCURACY_M) {
    target.textContent = fill(t.gps_poor, { accuracy, limit: MAX_ACCURACY_M });
    target.classList.add('is-warning');
  } else {
    target.textContent = fill(t.gps_fix, { accuracy });
  }
}

function takePosition() {
  const target = document.getElementById('gps-state');
  if (!('geolocation' in navigator)) {
    target.textContent = fill(t.gps_failed, { reason: 'geolocation unavailable' });
    return;
  }
  target.textContent = t.gps_waiting;
  navigator.geolocation.getCurrentPosition((fix) => {
    state.position = { lon: fix.coords.longitude, lat: fix.coords.latitude, accuracy: fix.coords.accuracy };
    showGps();
  }, (error) => {
    target.textContent = fill(t.gps_failed, { reason: error.message });
    target.classList.add('is-error');
  }, { enableHighAccuracy: true, timeout: 30_000, maximumAge: 60_000 });
}

/** Resizes a photo on the phone (longest side ≤ 1600 px, JPEG) until it fits the size cap. */
async function resizePhoto(file) {
  const bitmap = await createImageBitmap(file);
  let scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height);
    for (const quality of [0.8, 0.65, 0.5]) {
      const dataUrl = canvas.toDataURL('image/jpeg', quality);
      const data = dataUrl.slice(dataUrl.indexOf(',') + 1);
      const bytes = Math.floor((data.length * 3) / 4) - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0);
      if (bytes <= PHOTO_MAX_KB * 1024) return { type: 'image/jpeg', data, width, height, bytes };
    }
    scale *= 0.7;
  }
  return null;
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A warning in the page's language: the form's own message, or a general one. */
function warningText(form, warning) {
  const field = fieldsOf(form).find((candidate) => candidate.name === warning.field);
  return field && field.warning_message ? label(field.warning_message) : t.unusual;
}

/**
 * The errors (refused) and warnings (to confirm) of the answers as they are now, in the
 * list above the buttons and under each question. Once a form was checked this runs on
 * every change, so a corrected answer loses its error at once.
 */
function showProblems(form, answers) {
  const errors = validateAnswers(form.definition, answers);
  const warnings = errors.length ? [] : answerWarnings(form.definition, answers);
  const list = document.getElementById('form-errors');
  const warningList = document.getElementById('form-warnings');
  list.replaceChildren();
  warningList.replaceChildren();
  for (const node of document.querySelectorAll('.field-error, .field-warning')) node.textContent = '';
  const nameOf = (name) => {
    const field = fieldsOf(form).find((candidate) => candidate.name === name);
    return field ? label(field.label, name) : name;
  };
  for (const error of errors) {
    list.append(element('li', null, `${nameOf(error.field)}: ${errorText(form, error)}`));
    const node = document.querySelector(`[data-field="${CSS.escape(error.field)}"] .field-error`);
    if (node) node.textContent = errorText(form, error);
  }
  for (const warning of warnings) {
    const item = element('li', null, `${nameOf(warning.field)}: ${warningText(form, warning)}`);
    item.dataset.field = warning.field;
    warningList.append(item);
    const node = document.querySelector(`[data-field="${CSS.escape(warning.field)}"] .field-warning`);
    if (node) node.textContent = warningText(form, warning);
  }
  document.getElementById('warnings-box').hidden = warnings.length === 0;
  return { errors, warnings };
}

/** The save button says whether pressing it confirms unusual answers. */
function showSaveLabel(confirming) {
  document.getElementById('save-visit').textContent = confirming ? t.save_anyway : t.save;
}

async function saveVisit(event) {
  event.preventDefault();
  const { feature, form, entry } = state.current;
  const answers = readAnswers(form);
  state.checked = true;
  const { errors, warnings } = showProblems(form, answers);
  if (errors.length) return;
  const key = JSON.stringify(answers);
  if (warnings.length && state.confirmed !== key) {
    // unusual but possible answers: saved once the worker has looked at them and confirms
    state.confirmed = key;
    showSaveLabel(true);
    document.getElementById('warnings-box').scrollIntoView({ block: 'nearest' });
    return;
  }
  const visitedAt = new Date(document.getElementById('visited-at').value);
  // a visit not sent yet is overwritten; a sent one is corrected by a new version naming it
  const correcting = entry && entry.state === 'sent';
  const body = {
    id: entry && !correcting ? entry.id : uuid(),
    model: feature.properties.code,
    visited_at: visitedAt.toISOString(),
    form: form.form,
    form_version: form.version,
    location: state.position ? { type: 'Point', coordinates: [state.position.lon, state.position.lat] } : null,
    accuracy_m: state.position ? Math.round(state.position.accuracy * 10) / 10 : null,
    answers,
  };
  if (correcting) body.replaces = entry.id;
  else if (entry && entry.body.replaces) body.replaces = entry.body.replaces;
  if (state.photo) body.photo = { type: state.photo.type, data: state.photo.data };
  await outbox.put({
    id: body.id, body, state: 'saved', saved_at: new Date().toISOString(), problem: null, by: state.session?.name,
  });
  if (entry && entry.id !== body.id) await outbox.remove(entry.id);
  message(t.saved);
  showView('models');
  await Promise.all([renderModels(), renderOutbox()]);
  sync();
}

// ---------------------------------------------------------------------------
// Sync

/**
 * A conflict: the server holds another body under this id (the visit was received before
 * it was changed on the phone), or the version it corrects was corrected elsewhere. Sent
 * again as a new version that names the server's current one, nothing is lost.
 */
async function resendAsEdit(entry) {
  const current = entry.current || entry.id;
  const body = { ...entry.body, id: uuid(), replaces: current };
  await outbox.remove(entry.id);
  await outbox.put({
    id: body.id, body, state: 'saved', saved_at: new Date().toISOString(), problem: null, by: entry.by,
  });
  await renderOutbox();
  sync();
}

async function sync() {
  if (state.syncing || !navigator.onLine) return;
  state.syncing = true;
  let sent = 0;
  try {
    const pending = (await outbox.all()).filter((entry) => entry.state === 'saved' || entry.state === 'sending');
    if (!pending.length) return;
    await refreshSession();
    for (const entry of pending) {
      entry.state = 'sending';
      await outbox.put(entry);
      let answer;
      try {
        answer = await postJSON('/api/visits', entry.body);
      } catch (error) {
        entry.state = 'saved'; // the network went away: try again later
        await outbox.put(entry);
        break;
      }
      const reason = answer.body && answer.body.error ? answer.body.error.message : null;
      if (answer.status === 200 || answer.status === 201) {
        entry.state = 'sent';
        entry.problem = null;
        sent += 1;
      } else if (answer.status === 409) {
        entry.state = 'conflict';
        entry.problem = reason;
        entry.current = answer.body && answer.body.error ? answer.body.error.current || null : null;
      } else if (answer.status === 401) {
        entry.state = 'saved';
        await outbox.put(entry);
        message(t.sign_in, true);
        break;
      } else if (answer.status >= 500) {
        entry.state = 'saved';
        await outbox.put(entry);
        break;
      } else {
        entry.state = 'rejected';
        entry.problem = reason || `HTTP ${answer.status}`;
      }
      entry.sent_at = new Date().toISOString();
      await outbox.put(entry);
    }
    if (sent) message(fill(t.sent, { count: sent }));
  } catch (error) {
    if (error.status === 401) message(t.sign_in, true);
  } finally {
    state.syncing = false;
    await renderOutbox();
  }
}

function showNetwork() {
  const target = document.getElementById('net-state');
  target.dataset.online = navigator.onLine ? '1' : '0';
  target.textContent = navigator.onLine ? t.online : t.offline;
}

// ---------------------------------------------------------------------------
// The map of the worker's communes (the only basemap: nothing from the internet)

let fieldMap = null;

function drawMap() {
  const maplibregl = window.maplibregl;
  if (!maplibregl || !state.communes) return;
  // the API answers with the worker's communes only (row-level security): they are the basemap
  const communes = state.communes;
  const models = { type: 'FeatureCollection', features: state.models.filter((feature) => feature.geometry) };
  if (!fieldMap) {
    fieldMap = new maplibregl.Map({
      container: 'field-map',
      style: { version: 8, sources: {}, layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#eef2f0' } }] },
      center: [106.6, 21.85],
      zoom: 8,
      attributionControl: false,
      dragRotate: false,
    });
    window.sinhkeFieldMap = fieldMap;
    fieldMap.on('load', () => {
      fieldMap.addSource('communes', { type: 'geojson', data: communes });
      fieldMap.addSource('models', { type: 'geojson', data: models });
      fieldMap.addLayer({ id: 'communes', type: 'fill', source: 'communes', paint: { 'fill-color': '#d8e6df', 'fill-outline-color': '#5b7f70' } });
      fieldMap.addLayer({
        id: 'models', type: 'circle', source: 'models',
        paint: { 'circle-radius': 6, 'circle-color': '#0f5f4f', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 },
      });
      fieldMap.on('click', 'models', (event) => {
        const code = event.features[0].properties.code;
        const feature = state.models.find((f) => f.properties.code === code);
        if (feature) openVisit(feature);
      });
      fitMap(communes);
    });
  } else if (fieldMap.getSource('communes')) {
    fieldMap.getSource('communes').setData(communes);
    fieldMap.getSource('models').setData(models);
    fitMap(communes);
  }
}

function fitMap(collection) {
  const bounds = new window.maplibregl.LngLatBounds();
  const visit = (c) => (typeof c[0] === 'number' ? bounds.extend(c) : c.forEach(visit));
  for (const feature of collection.features) if (feature.geometry) visit(feature.geometry.coordinates);
  if (!bounds.isEmpty()) fieldMap.fitBounds(bounds, { padding: 16, animate: false });
}

// ---------------------------------------------------------------------------
// Start

async function start() {
  document.body.dataset.fieldReady = '0';
  showNetwork();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register(app.dataset.sw, { scope: app.dataset.scope }).catch((error) => {
      console.warn('sinhke field: no service worker', error);
    });
  }
  await loadFromPhone();
  await Promise.all([renderModels(), renderOutbox()]);
  if (navigator.onLine) {
    try {
      await loadFromServer();
      await loadFromPhone();
      message(t.loaded);
    } catch (error) {
      message(error.status === 401 ? t.sign_in : t.load_failed, error.status === 401);
    }
  }
  await Promise.all([renderModels(), renderOutbox()]);
  if (state.session && state.session.read_only) message(t.read_only, true);
  if (document.readyState === 'complete') drawMap();
  else window.addEventListener('load', drawMap, { once: true });
  document.body.dataset.fieldReady = '1';
  sync();
}

document.getElementById('visit-form').addEventListener('submit', saveVisit);
document.getElementById('visit-form').addEventListener('input', (event) => {
  if (!state.current || !state.current.form) return;
  applyRelevance(state.current.form);
  if (!state.checked) return;
  // after a first check the lists follow the answers: no stale "required" once it is answered
  const answers = readAnswers(state.current.form);
  showProblems(state.current.form, answers);
  showSaveLabel(state.confirmed === JSON.stringify(answers));
});
document.getElementById('cancel-visit').addEventListener('click', () => showView('models'));
document.getElementById('gps-button').addEventListener('click', takePosition);
document.getElementById('sync-now').addEventListener('click', sync);
document.getElementById('model-search').addEventListener('input', renderModels);
document.getElementById('photo-input').addEventListener('change', async (event) => {
  const file = event.target.files[0];
  const target = document.getElementById('photo-state');
  if (!file) return;
  const photo = await resizePhoto(file);
  if (!photo) {
    target.textContent = fill(t.photo_too_big, { limit: PHOTO_MAX_KB });
    return;
  }
  state.photo = photo;
  target.textContent = fill(t.photo_ready, {
    width: photo.width, height: photo.height, size: Math.round(photo.bytes / 1024),
  });
});
for (const tab of document.querySelectorAll('.field-tab')) {
  tab.addEventListener('click', () => showView(tab.dataset.view));
}
window.addEventListener('online', () => {
  showNetwork();
  sync();
});
window.addEventListener('offline', showNetwork);
setInterval(sync, SYNC_EVERY_MS);
start();
