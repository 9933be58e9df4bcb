/*
 * /planning: the caller's communes coloured by the status of their targets (the worst of them in the
 * year) or by their disbursement rate, with a legend; a click names the commune's gap and its slow
 * sub-projects. Data: GET /api/planning/map (GeoJSON built by PostGIS from the targets_progress job).
 *
 * For tests: body[data-planning-map] is "1" once the layer is drawn, body[data-planning-communes]
 * counts its features. API text is only written as textContent.
 */

const t = JSON.parse(document.getElementById('planning-i18n').textContent);
const modeEl = document.getElementById('planning-map-mode');
const legendEl = document.getElementById('planning-map-legend');
const detailEl = document.getElementById('planning-map-detail');
const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 1 });

const STATUS = [
  ['lagging', '#c0392b'],
  ['no_data', '#b8b8b8'],
  ['on_track', '#f0b429'],
  ['met', '#2e8b57'],
  ['no_target', '#f4f5f7'],
];
const RATE = [
  ['rate_low', '#c0392b', 0],
  ['rate_mid', '#f0b429', 0.5],
  ['rate_high', '#2e8b57', 0.8],
];
const RATE_NONE = '#f4f5f7';

const COLOUR = {
  status: ['match', ['get', 'status'], ...STATUS.flatMap(([k, c]) => [k, c]), '#f4f5f7'],
  rate: ['case', ['==', ['typeof', ['get', 'rate']], 'number'],
    ['step', ['get', 'rate'], RATE[0][1], RATE[1][2], RATE[1][1], RATE[2][2], RATE[2][1]], RATE_NONE],
};

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
}

function legend(mode) {
  const rows = mode === 'status' ? STATUS.map(([k, c]) => [t[k], c]) : [...RATE.map(([k, c]) => [t[k], c]), [t.rate_none, RATE_NONE]];
  legendEl.replaceChildren(...rows.map(([label, colour]) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.backgroundColor = colour;
    li.append(swatch, document.createTextNode(label));
    return li;
  }));
}

const map = new maplibregl.Map({
  container: 'planning-map',
  style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e4e9ee' } }] },
  center: [106.6, 21.85],
  zoom: 7.5,
  attributionControl: false,
  dragRotate: false,
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
window.sinhkePlanningMap = map;

const indicatorEl = document.getElementById('planning-map-indicator');

async function load() {
  const q = indicatorEl.value ? `?indicator=${encodeURIComponent(indicatorEl.value)}` : '';
  const r = await fetch(`/api/planning/map${q}`, { headers: { Accept: 'application/geo+json' } });
  if (!r.ok) return null;
  return r.json();
}

map.on('load', async () => {
  const data = await load();
  if (!data) return;
  document.getElementById('planning-map-year').textContent = format(t.year, { year: data.year });
  map.addSource('communes', { type: 'geojson', data });
  map.addLayer({ id: 'communes-fill', type: 'fill', source: 'communes', paint: { 'fill-color': COLOUR[modeEl.value], 'fill-opacity': 0.8 } });
  map.addLayer({ id: 'communes-line', type: 'line', source: 'communes', paint: { 'line-color': '#56606b', 'line-width': 0.6 } });
  legend(modeEl.value);
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
  data.features.forEach((f) => f.geometry && walk(f.geometry.coordinates));
  if (!b.isEmpty()) map.fitBounds(b, { padding: 20, duration: 0 });
  map.once('idle', () => {
    document.body.dataset.planningCommunes = String(data.features.length);
    document.body.dataset.planningMap = '1';
  });
});

indicatorEl.addEventListener('change', async () => {
  document.body.dataset.planningMap = '0';
  const data = await load();
  if (data && map.getSource('communes')) {
    map.getSource('communes').setData(data);
    map.once('idle', () => { document.body.dataset.planningMap = '1'; });
  }
});

modeEl.addEventListener('change', () => {
  if (!map.getLayer('communes-fill')) return;
  map.setPaintProperty('communes-fill', 'fill-color', COLOUR[modeEl.value]);
  legend(modeEl.value);
});

map.on('click', 'communes-fill', (e) => {
  const p = e.features[0].properties;
  detailEl.textContent = format(t.detail, {
    name: p.name,
    status: t[p.status] || p.status,
    lagging: p.lagging,
    gap: p.gap === null || p.gap === undefined || p.gap === 'null' ? '–' : numbers.format(Number(p.gap)),
    low: p.low_parts,
    undisbursed: numbers.format(Number(p.low_undisbursed_vnd)),
  });
});
map.on('mouseenter', 'communes-fill', () => { map.getCanvas().style.cursor = 'pointer'; });
map.on('mouseleave', 'communes-fill', () => { map.getCanvas().style.cursor = ''; });
