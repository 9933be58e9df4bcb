/*
 * /siting: run a siting (POST /api/siting, computed by a process of its own whose progress is polled), and draw
 * the chosen sites and the households each newly covers on a MapLibre map.
 *
 * For tests: body[data-siting-ready] is "1" once a result is drawn; body[data-siting-sites] and
 * body[data-siting-households] count the features drawn. API text is only written as textContent.
 */

import { BASEMAP_OVERLAYS, basemapStyle } from './map/basemap.js';

const t = JSON.parse(document.getElementById('siting-i18n').textContent);
const form = document.getElementById('siting-form');
const statusEl = document.getElementById('siting-status');
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const clicked = [];
const EMPTY = { type: 'FeatureCollection', features: [] };
const PALETTE = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#1f78b4'];

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
}

function setStatus(message, error = false) {
  statusEl.textContent = message;
  statusEl.classList.toggle('error', error);
}

const mapElement = document.getElementById('siting-map');
const map = new maplibregl.Map({
  container: mapElement,
  // the same basemap as /map: the configured style URL, or the one drawn from our own layers
  style: basemapStyle(mapElement.dataset.basemapStyle || '', mapElement.dataset.tilesRoot || '/tiles'),
  center: [106.6, 21.85],
  zoom: 8,
  attributionControl: false,
  dragRotate: false,
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
window.sinhkeSitingMap = map;

const ready = new Promise((resolve) => map.on('load', resolve));
ready.then(() => {
  for (const id of ['communes', 'households', 'sites', 'clicked']) map.addSource(id, { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'communes-fill', type: 'fill', source: 'communes', paint: { 'fill-color': '#ffffff', 'fill-opacity': 0.6 } });
  map.addLayer({ id: 'communes-line', type: 'line', source: 'communes', paint: { 'line-color': '#56606b', 'line-width': 1 } });
  map.addLayer({
    id: 'households', type: 'circle', source: 'households',
    paint: {
      'circle-radius': ['case', ['==', ['get', 'class'], 'poor'], 4, 3],
      'circle-color': ['case', ['has', 'colour'], ['get', 'colour'], '#9aa3ad'],
      'circle-stroke-color': '#333', 'circle-stroke-width': 0.5,
    },
  });
  map.addLayer({
    id: 'sites', type: 'circle', source: 'sites',
    paint: { 'circle-radius': 8, 'circle-color': ['get', 'colour'], 'circle-stroke-color': '#000', 'circle-stroke-width': 2 },
  });
  map.addLayer({ id: 'clicked', type: 'circle', source: 'clicked', paint: { 'circle-radius': 5, 'circle-color': '#000' } });
  // the own basemap's villages above the communes' veil, under the households and sites
  for (const id of BASEMAP_OVERLAYS) if (map.getLayer(id)) map.moveLayer(id, 'households');
  showCommunes(selectedCommunes());
  const wanted = new URLSearchParams(window.location.search).get('scenario');
  if (wanted && /^\d+$/.test(wanted)) openScenario(wanted);
});

map.on('click', (e) => {
  if (form.elements.source.value !== 'map') return;
  clicked.push([Number(e.lngLat.lng.toFixed(6)), Number(e.lngLat.lat.toFixed(6))]);
  document.getElementById('siting-clicked').textContent = String(clicked.length);
  map.getSource('clicked').setData({
    type: 'FeatureCollection',
    features: clicked.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} })),
  });
});
document.getElementById('siting-clear').addEventListener('click', () => {
  clicked.length = 0;
  document.getElementById('siting-clicked').textContent = '0';
  map.getSource('clicked')?.setData(EMPTY);
});

function selectedCommunes() {
  return Array.from(document.getElementById('siting-communes').selectedOptions).map((o) => o.value);
}

async function showCommunes(codes) {
  const features = [];
  for (const code of codes) {
    const r = await fetch(`/api/layers/admin_units/${encodeURIComponent(code)}?boundaries=current`, { headers: { Accept: 'application/geo+json' } });
    if (r.ok) features.push(await r.json());
  }
  await ready;
  map.getSource('communes').setData({ type: 'FeatureCollection', features });
  fit(features);
}

function fit(features) {
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
  features.forEach((f) => f.geometry && walk(f.geometry.coordinates));
  if (!b.isEmpty()) map.fitBounds(b, { padding: 30, duration: 0 });
}

document.getElementById('siting-communes').addEventListener('change', () => showCommunes(selectedCommunes()));

async function candidates() {
  const source = form.elements.source.value;
  if (source === 'grid') return { grid: Number(form.elements.spacing.value) };
  if (source === 'map') {
    if (!clicked.length) throw new Error(t.noPoints);
    return { points: clicked };
  }
  const file = document.getElementById('siting-file').files[0];
  if (!file) throw new Error(t.noFile);
  const body = await file.text();
  if (file.name.toLowerCase().endsWith('.csv')) return { csv: body };
  return { geojson: JSON.parse(body) };
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  document.body.dataset.sitingReady = '0';
  let body;
  try {
    body = {
      name: form.elements.name.value,
      communes: selectedCommunes(),
      facility: form.elements.facility.value,
      radius: Number(form.elements.radius.value),
      distance: form.elements.distance.value,
      k: Number(form.elements.k.value),
      weights: { poor: Number(form.elements.w_poor.value), near_poor: Number(form.elements.w_near_poor.value) },
      candidates: await candidates(),
      background: true,
    };
  } catch (err) {
    setStatus(err.message, true);
    return;
  }
  setStatus(t.running);
  const r = await fetch('/api/siting', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrf },
    body: JSON.stringify(body),
  });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) {
    setStatus((answer.error && answer.error.message) || String(r.status), true);
    return;
  }
  await follow(answer);
});

async function follow(scenario) {
  let s = scenario;
  while (s.status === 'running') {
    setStatus(`${t.running} ${s.progress || ''}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const r = await fetch(`/api/siting/${s.id}`, { headers: { Accept: 'application/json' } });
    const next = await r.json().catch(() => ({}));
    if (!r.ok) {
      setStatus((next.error && next.error.message) || String(r.status), true);
      return;
    }
    s = next;
  }
  if (s.status === 'failed') {
    setStatus(`${t.failed} ${s.error_code === 'abandoned' ? t.abandoned : s.error}`, true);
    return;
  }
  history.replaceState(null, '', `?scenario=${s.id}`);
  setStatus('');
  await draw(s);
}

async function openScenario(id) {
  const r = await fetch(`/api/siting/${id}`, { headers: { Accept: 'application/json' } });
  const s = await r.json();
  if (!r.ok) {
    setStatus((s.error && s.error.message) || String(r.status), true);
    return;
  }
  await follow(s);
}

async function draw(s) {
  const res = s.result;
  await ready;
  const colour = {};
  res.sites.forEach((site, i) => { colour[site.candidate] = PALETTE[i % PALETTE.length]; });
  const sites = res.sites.map((site, i) => ({
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [site.lon, site.lat] },
    properties: { candidate: site.candidate, order: i + 1, gain: site.gain, colour: colour[site.candidate] },
  }));
  const households = res.households.map((h) => ({
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [h.lon, h.lat] },
    properties: h.site ? { code: h.code, class: h.class, site: h.site, colour: colour[h.site] } : { code: h.code, class: h.class },
  }));
  map.getSource('sites').setData({ type: 'FeatureCollection', features: sites });
  map.getSource('households').setData({ type: 'FeatureCollection', features: households });
  if (sites.length || households.length) fit([...sites, ...households]);
  const state = res.optimal ? t.optimal : `${t.gap} ${(100 * (res.gap || 0)).toFixed(2)} %`;
  document.getElementById('siting-summary').textContent = format(t.summary, {
    sites: res.sites.length, covered: res.objective, demand: res.demand_weight, households: res.demand_households,
    state, seconds: res.seconds.toFixed(2), greedy: res.greedy_objective, short: res.greedy_shortfall,
  });
  const list = document.getElementById('siting-sites');
  list.replaceChildren(...res.sites.map((site) => {
    const li = document.createElement('li');
    li.textContent = format(t.site, { candidate: site.candidate, gain: site.gain, households: site.households.length });
    return li;
  }));
  if (res.excluded.length) {
    const li = document.createElement('li');
    li.textContent = `${t.excluded} ${res.excluded.map((x) => x.candidate).join(', ')}`;
    list.append(li);
  }
  const exports = document.getElementById('siting-exports');
  exports.replaceChildren(...[
    ['sites', 'geojson', t.geojson], ['sites', 'gpkg', t.gpkg], ['sites', 'csv', t.csv],
    ['households', 'geojson', t.households_geojson], ['households', 'csv', t.households_csv],
  ].map(([layer, fmt, label]) => {
    const a = document.createElement('a');
    a.href = `/api/siting/${s.id}/${layer}?format=${fmt}`;
    a.textContent = label;
    a.className = 'export-link';
    return a;
  }));
  document.getElementById('siting-result').hidden = false;
  map.once('idle', () => {
    document.body.dataset.sitingSites = String(sites.length);
    document.body.dataset.sitingHouseholds = String(households.length);
    document.body.dataset.sitingReady = '1';
  });
  map.triggerRepaint();
}
