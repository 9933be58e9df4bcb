/*
 * The search box: communes, villages, livelihood models, works and water schemes by name or code
 * (/api/search, scoped like the map). A result flies the map there; a commune of the other
 * boundary version switches the boundaries first. Results are written as text only.
 */

import { config, element, fill, t } from './config.js';
import { getJSON } from './data.js';
import { map } from './layers.js';
import { selectCommune } from './popups.js';
import { boundarySelect, toggles } from './state.js';

const form = document.getElementById('map-search');
const input = document.getElementById('map-search-input');
const list = document.getElementById('map-search-results');
const status = document.getElementById('map-search-status');

const MIN_LENGTH = 2;
const DEBOUNCE_MS = 250;
/** A point result is shown this close. */
const POINT_ZOOM = 14;
/** The layer group that shows each kind of result (switched on when a result is chosen). */
const GROUP_OF_KIND = {
  commune: 'communes', legacy_commune: 'communes', livelihood_model: 'models', infrastructure_work: 'works', water_scheme: 'water',
};

let timer = null;
let asked = 0;

function showResults(query, results) {
  list.replaceChildren();
  if (!results.length) {
    status.textContent = fill(t.search.none, { q: query });
    return;
  }
  status.textContent = fill(t.search.found, { n: results.length });
  for (const result of results) {
    const button = element('button', 'map-search-result');
    button.type = 'button';
    button.append(element('span', 'map-search-name', result.name));
    const detail = [t.search.kind[result.kind] || result.kind, result.code, result.context].filter(Boolean).join(' · ');
    button.append(element('span', 'map-search-detail', detail));
    button.addEventListener('click', () => choose(result));
    const item = element('li');
    item.append(button);
    list.append(item);
  }
}

async function search(query) {
  const run = ++asked;
  status.textContent = t.search.searching;
  const url = new URL(config.searchUrl, window.location.href);
  url.search = new URLSearchParams({ q: query, limit: '10' }).toString();
  try {
    const body = await getJSON(url.href);
    if (run === asked) showResults(query, body.results || []);
  } catch (error) {
    if (run === asked) {
      list.replaceChildren();
      status.textContent = `${t.search.error} ${error.message}`;
    }
  }
}

function onInput() {
  window.clearTimeout(timer);
  const query = input.value.trim();
  if (query.length < MIN_LENGTH) {
    asked += 1;
    list.replaceChildren();
    status.textContent = query ? t.search.short : '';
    return;
  }
  timer = window.setTimeout(() => search(query), DEBOUNCE_MS);
}

/** Shows a result: the boundaries it belongs to, its layer switched on, the map flown there. */
function choose(result) {
  const boundaries = { commune: 'current', legacy_commune: 'legacy' }[result.kind];
  if (boundaries && boundarySelect.value !== boundaries) {
    boundarySelect.value = boundaries;
    boundarySelect.dispatchEvent(new Event('change'));
  }
  const toggle = toggles.find((candidate) => candidate.dataset.layerGroup === GROUP_OF_KIND[result.kind]);
  if (toggle && !toggle.checked) {
    toggle.checked = true;
    toggle.dispatchEvent(new Event('change'));
  }
  if (result.bbox) {
    const [west, south, east, north] = result.bbox;
    if (west === east && south === north) map.flyTo({ center: [west, south], zoom: Math.max(map.getZoom(), POINT_ZOOM) });
    else map.fitBounds([[west, south], [east, north]], { padding: 40, maxZoom: POINT_ZOOM });
  }
  if (boundaries) map.once('idle', () => selectCommune(result.code));
  // on a phone the panel is below the map: bring the map back into view
  const box = map.getContainer().getBoundingClientRect();
  if (box.bottom < 0 || box.top > window.innerHeight) map.getContainer().scrollIntoView({ block: 'start' });
  document.body.dataset.mapSearched = `${result.kind}:${result.code}`;
}

input.addEventListener('input', onInput);
form.addEventListener('submit', (event) => {
  event.preventDefault();
  const first = list.querySelector('button');
  if (first) first.click();
  else if (input.value.trim().length >= MIN_LENGTH) search(input.value.trim());
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'ArrowDown') {
    const first = list.querySelector('button');
    if (first) {
      event.preventDefault();
      first.focus();
    }
  }
});
list.addEventListener('keydown', (event) => {
  const current = document.activeElement.closest('li');
  if (!current) return;
  const next = event.key === 'ArrowDown' ? current.nextElementSibling : event.key === 'ArrowUp' ? current.previousElementSibling : null;
  if (event.key === 'ArrowUp' && !current.previousElementSibling) {
    event.preventDefault();
    input.focus();
  } else if (next) {
    event.preventDefault();
    next.querySelector('button').focus();
  }
});
