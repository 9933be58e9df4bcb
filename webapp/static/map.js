/*
 * sinhke poverty map: communes coloured by poverty rate, with the programme's
 * livelihood models, infrastructure works and water schemes on top.
 *
 * Configuration comes from data- attributes on #map and translated strings from
 * the JSON block #map-i18n (no inline script, so a strict CSP holds). Data from
 * the API is only ever written into the page as text (textContent), never HTML.
 *
 * For tests: the map is window.sinhkeMap, and body[data-map-ready] is "1" once
 * the communes and their indicator colours are rendered ("0" while reloading);
 * body[data-map-boundaries], body[data-map-year] and body[data-map-indicator] say
 * what is shown. The shown indicator's value of a commune is its feature state `value`.
 */

const maplibregl = window.maplibregl;

const mapElement = document.getElementById('map');
const config = {
  years: JSON.parse(mapElement.dataset.years || '[]'),
  defaultYear: Number(mapElement.dataset.defaultYear),
  locale: mapElement.dataset.locale === 'en' ? 'en' : 'vi',
  apiRoot: mapElement.dataset.apiRoot || '/api',
};
const t = JSON.parse(document.getElementById('map-i18n').textContent);
const languageTag = config.locale === 'en' ? 'en-GB' : 'vi-VN';

// ---------------------------------------------------------------------------
// Palettes and layer ids

/** Upper bounds (exclusive) of the poverty-rate classes, in percent. */
const POVERTY_BREAKS = [2, 5, 10, 20, 40];
/** ColorBrewer OrRd, one colour per class (breaks + 1). */
const POVERTY_COLOURS = ['#fef0d9', '#fdd49e', '#fdbb84', '#fc8d59', '#e34a33', '#b30000'];
const NO_DATA_COLOUR = '#c5ccd4';
/** Money classes: income change can be negative (red), gains in greens. */
const CHANGE_COLOURS = ['#d6604d', '#edf8e9', '#bae4b3', '#74c476', '#31a354', '#006d2c'];

/**
 * The indicators of the choropleth: kind (rate in %, money in VND per person per
 * month, count of households), class breaks (upper bounds, exclusive) and colours
 * (breaks + 1). Change indicators compare a survey round with the previous one, so
 * the first survey year has none.
 */
const INDICATORS = {
  poverty_rate: { kind: 'rate', breaks: POVERTY_BREAKS, colours: POVERTY_COLOURS },
  near_poor_rate: {
    kind: 'rate', breaks: [5, 10, 15, 20, 30],
    colours: ['#ffffd4', '#fee391', '#fec44f', '#fe9929', '#d95f0e', '#993404'],
  },
  escaped_poverty_rate: {
    kind: 'rate', change: true, breaks: [10, 20, 30, 50, 70],
    colours: ['#f7fcf5', '#c7e9c0', '#a1d99b', '#74c476', '#31a354', '#006d2c'],
  },
  mean_income_change: {
    kind: 'money', change: true, breaks: [0, 100000, 200000, 400000, 700000], colours: CHANGE_COLOURS,
  },
  mean_income_change_real: {
    kind: 'money', change: true, breaks: [0, 100000, 200000, 400000, 700000], colours: CHANGE_COLOURS,
  },
  median_income: {
    kind: 'money', breaks: [1500000, 2000000, 2500000, 3000000],
    colours: ['#ffffcc', '#a1dab4', '#41b6c4', '#2c7fb8', '#253494'],
  },
  fell_back: {
    kind: 'count', change: true, breaks: [1, 3, 6, 11],
    colours: ['#f2f0f7', '#cbc9e2', '#9e9ac8', '#756bb1', '#54278f'],
  },
  newly_poor: {
    kind: 'count', change: true, breaks: [1, 3, 6, 11],
    colours: ['#f2f0f7', '#cbc9e2', '#9e9ac8', '#756bb1', '#54278f'],
  },
};
const DEFAULT_INDICATOR = 'poverty_rate';

/**
 * Programme effects: the evaluate_models job's difference-in-differences estimate
 * (ATT, VND per person per month) of participation per 2025 commune, for one model
 * type or any model. Not by year: one estimate over the programme period.
 */
const EFFECT_BREAKS = [0, 100000, 200000, 300000, 400000];
for (const modelType of ['all', 'cow_bank', 'buffalo_loan', 'free_range_chicken', 'medicinal_plant']) {
  INDICATORS[`effect_${modelType}`] = {
    kind: 'effect', evaluation: modelType, breaks: EFFECT_BREAKS, colours: CHANGE_COLOURS,
  };
}
/** Households exposed to a hazard raster (the exposure job), one indicator per catalogued raster. */
const EXPOSURE_BREAKS = [1, 5, 10, 20, 40];
const EXPOSURE_COLOURS = ['#f7fbff', '#c6dbef', '#9ecae1', '#6baed6', '#3182bd', '#08519c'];

/** Adds the exposure indicators of the catalogued rasters to the indicator select. */
async function addExposureIndicators() {
  const group = document.getElementById('exposure-options');
  if (!group) return;
  let rasters = [];
  try {
    rasters = (await getJSON(`${config.apiRoot}/rasters`)).rasters || [];
  } catch {
    return; // the map works without them
  }
  for (const raster of rasters) {
    const name = `exposure_${raster.id}`;
    INDICATORS[name] = { kind: 'rate', exposure: raster.id, breaks: EXPOSURE_BREAKS, colours: EXPOSURE_COLOURS };
    t.indicator[name] = fill(t.exposure.indicator, { raster: raster.name });
    t.layer_label[name] = fill(t.exposure.layer, { raster: raster.name });
    t.count_label[name] = t.exposure.count;
    const option = element('option', null, t.indicator[name]);
    option.value = name;
    group.append(option);
  }
  group.hidden = rasters.length === 0;
}

/** Fill opacity of a commune whose effect interval includes 0 (and of every other commune). */
const WEAK_OPACITY = 0.4;
const FILL_OPACITY = 0.88;

const RISK_COLOURS = {
  recently_escaped: '#d95f02',
  near_poor: '#7570b3',
};
const OTHER_COLOUR = '#6b7280';

const MODEL_COLOURS = {
  cow_bank: '#6a3d9a',
  buffalo_loan: '#1f78b4',
  free_range_chicken: '#e7298a',
  medicinal_plant: '#1b9e77',
};
const WORK_COLOURS = {
  road: '#3b3b3b',
  bridge: '#8c510a',
  school: '#2166ac',
  clinic: '#c51b7d',
  irrigation: '#01858f',
  market: '#762a83',
};
const WATER_COLOURS = {
  functional: '#1a9850',
  partially_functional: '#e6a100',
  not_functional: '#d7191c',
};

/** Layers in each toggle group, bottom to top. */
const LAYER_GROUPS = {
  communes: ['communes-fill', 'communes-outline', 'communes-selected'],
  districts: ['districts-outline'],
  models: ['models-plots', 'models-plots-outline', 'models-points'],
  works: ['works-areas', 'works-lines', 'works-points'],
  water: ['water-schemes'],
  risk: ['risk-points'],
};

/** Clickable layers, the one drawn on top first. */
const CLICKABLE_LAYERS = [
  'risk-points', 'models-points', 'works-points', 'water-schemes',
  'works-lines', 'models-plots', 'works-areas', 'communes-fill',
];

const SOURCE_IDS = ['communes', 'districts', 'province', 'models', 'works', 'water', 'risk'];

// ---------------------------------------------------------------------------
// Formatting (Intl, in the page's language)

const integerFormat = new Intl.NumberFormat(languageTag, { maximumFractionDigits: 0 });
const decimalFormat = new Intl.NumberFormat(languageTag, { maximumFractionDigits: 1 });
const percentFormat = new Intl.NumberFormat(languageTag, {
  style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1,
});
const moneyFormat = new Intl.NumberFormat(languageTag, {
  style: 'currency', currency: 'VND', maximumFractionDigits: 0,
});
const dateFormat = new Intl.DateTimeFormat(languageTag, { dateStyle: 'medium', timeZone: 'UTC' });

const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);
const formatInteger = (value) => (isNumber(value) ? integerFormat.format(value) : null);
const formatRate = (percent) => (isNumber(percent) ? percentFormat.format(percent / 100) : null);
const formatMoney = (value) => (isNumber(value) ? moneyFormat.format(value) : null);
const signedMoneyFormat = new Intl.NumberFormat(languageTag, {
  style: 'currency', currency: 'VND', maximumFractionDigits: 0, signDisplay: 'exceptZero',
});
const pValueFormat = new Intl.NumberFormat(languageTag, { minimumFractionDigits: 2, maximumFractionDigits: 3 });
const compactFormat = new Intl.NumberFormat(languageTag, { notation: 'compact', maximumFractionDigits: 1 });
const formatSignedMoney = (value) => (isNumber(value) ? signedMoneyFormat.format(value) : null);

/** An indicator's value with its unit, as text; null when there is none. */
function formatIndicator(name, value) {
  if (!isNumber(value)) return null;
  const spec = INDICATORS[name];
  if (spec.kind === 'rate') return formatRate(value);
  if (spec.kind === 'count') return formatInteger(value);
  const money = spec.change || spec.kind === 'effect' ? formatSignedMoney(value) : formatMoney(value);
  return `${money} ${t.unit.per_person_month}`;
}

const UNIT_OF_KIND = {
  rate: () => t.unit.percent, money: () => t.unit.money, effect: () => t.unit.money, count: () => t.unit.count,
};

function formatDate(value) {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) return value ?? null;
  const date = new Date(`${value.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? value : dateFormat.format(date);
}

/** "{name}" placeholders filled from an object; the result is plain text. */
function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

/** A vocabulary term in the page's language, or the raw value when unknown. */
function term(vocabulary, value) {
  if (value === undefined || value === null || value === '') return null;
  return (t[vocabulary] && t[vocabulary][value]) || String(value);
}

// ---------------------------------------------------------------------------
// Small DOM helpers: every piece of data goes in through textContent.

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

const statusElement = document.getElementById('map-status');
const summaryElement = document.getElementById('map-summary');

function setStatus(message, isError = false) {
  statusElement.textContent = message || '';
  statusElement.classList.toggle('is-error', Boolean(isError));
}

function setReady(ready, selection) {
  document.body.dataset.mapReady = ready ? '1' : '0';
  if (ready && selection) {
    document.body.dataset.mapBoundaries = selection.boundaries;
    document.body.dataset.mapYear = String(selection.year);
    document.body.dataset.mapIndicator = selection.indicator;
  }
}

// ---------------------------------------------------------------------------
// Point symbols: drawn on a canvas once, used both as map icons and in legends.

const SYMBOL_SIZE = 17;

function traceShape(ctx, shape, size) {
  const c = size / 2;
  const r = size / 2 - 1.5;
  ctx.beginPath();
  if (shape === 'circle') {
    ctx.arc(c, c, r, 0, 2 * Math.PI);
  } else if (shape === 'square') {
    ctx.rect(c - r * 0.8, c - r * 0.8, r * 1.6, r * 1.6);
  } else if (shape === 'drop') {
    // a water drop: point at the top, round at the bottom
    const bottom = c + r * 0.45;
    const radius = r * 0.58;
    ctx.moveTo(c, c - r);
    ctx.bezierCurveTo(c + radius * 0.25, c - r * 0.55, c + radius, bottom - radius * 0.9, c + radius, bottom);
    ctx.arc(c, bottom, radius, 0, Math.PI, false);
    ctx.bezierCurveTo(c - radius, bottom - radius * 0.9, c - radius * 0.25, c - r * 0.55, c, c - r);
  } else if (shape === 'line') {
    ctx.moveTo(1.5, size * 0.7);
    ctx.lineTo(size * 0.45, size * 0.35);
    ctx.lineTo(size - 1.5, size * 0.45);
  } else if (shape === 'area') {
    ctx.rect(1.5, 2.5, size - 3, size - 5);
  }
}

function drawSymbol(ctx, shape, colour, size) {
  traceShape(ctx, shape, size);
  if (shape === 'line') {
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2.5;
    ctx.stroke();
    return;
  }
  ctx.fillStyle = shape === 'area' ? withAlpha(colour, 0.45) : colour;
  ctx.fill();
  ctx.lineWidth = shape === 'area' ? 1.5 : 1.6;
  ctx.strokeStyle = shape === 'area' ? colour : '#ffffff';
  ctx.stroke();
}

function withAlpha(hex, alpha) {
  const value = parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

function symbolCanvas(shape, colour, size = SYMBOL_SIZE) {
  const ratio = Math.max(2, Math.ceil(window.devicePixelRatio || 1));
  const canvas = document.createElement('canvas');
  canvas.width = size * ratio;
  canvas.height = size * ratio;
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  const ctx = canvas.getContext('2d');
  ctx.scale(ratio, ratio);
  drawSymbol(ctx, shape, colour, size);
  return { canvas, ratio };
}

function addSymbolImage(map, id, shape, colour) {
  const { canvas, ratio } = symbolCanvas(shape, colour);
  const image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  map.addImage(id, image, { pixelRatio: ratio });
}

/** A `match` expression: category property → colour, with a fallback. */
function colourBy(property, palette) {
  return ['match', ['get', property], ...Object.entries(palette).flat(), OTHER_COLOUR];
}

/** A `match` expression: category property → icon id (`prefix-category`). */
function iconBy(property, prefix, palette) {
  const pairs = Object.keys(palette).flatMap((key) => [key, `${prefix}-${key}`]);
  return ['match', ['get', property], ...pairs, `${prefix}-other`];
}

function addSymbolImages(map, prefix, shape, palette) {
  for (const [key, colour] of Object.entries(palette)) addSymbolImage(map, `${prefix}-${key}`, shape, colour);
  addSymbolImage(map, `${prefix}-other`, shape, OTHER_COLOUR);
}

// ---------------------------------------------------------------------------
// Legends

function legendItem(swatch, label) {
  const item = element('li');
  item.append(swatch, element('span', null, label));
  return item;
}

function colourBox(colour) {
  const box = element('span', 'legend-box');
  box.style.backgroundColor = colour;
  return box;
}

/** Legend labels of an indicator's classes (one per colour). */
function classLabels(name) {
  const { kind, breaks } = INDICATORS[name];
  if (kind === 'count') {
    // whole households: [0], 1–2, 3–5, 6–10, > 10
    return [0, ...breaks].map((lower, index) => {
      const upper = breaks[index];
      if (upper === undefined) return `> ${integerFormat.format(lower - 1)}`;
      if (index === 0 && lower === 0 && upper === 1) return integerFormat.format(0);
      return upper - 1 === lower
        ? integerFormat.format(lower)
        : `${integerFormat.format(lower)}–${integerFormat.format(upper - 1)}`;
    });
  }
  const format = kind === 'rate' ? (value) => decimalFormat.format(value) : (value) => compactFormat.format(value);
  // a class below a break at 0 is "< 0" (losses); otherwise classes start at 0
  const lowers = breaks[0] === 0 ? [null, ...breaks] : [0, ...breaks];
  return lowers.map((lower, index) => {
    const upper = breaks[index];
    if (lower === null) return `< ${format(upper)}`;
    return upper === undefined ? `≥ ${format(lower)}` : `${format(lower)}–${format(upper)}`;
  });
}

function indicatorLabel(name) {
  return `${t.layer_label[name]} (${UNIT_OF_KIND[INDICATORS[name].kind]()})`;
}

function buildIndicatorLegend(name) {
  const legend = document.getElementById('legend-poverty');
  const { colours } = INDICATORS[name];
  legend.replaceChildren();
  classLabels(name).forEach((label, index) => {
    const item = legendItem(colourBox(colours[index]), label);
    item.lastChild.classList.add('legend-number');
    legend.append(item);
  });
  legend.append(legendItem(colourBox(NO_DATA_COLOUR), t.no_data));
  if (INDICATORS[name].kind === 'effect') {
    const weak = colourBox(colours[3]);
    weak.style.opacity = String(WEAK_OPACITY / FILL_OPACITY);
    legend.append(legendItem(weak, t.effect.weak_legend));
  }
  document.getElementById('communes-label').textContent = indicatorLabel(name);
}

function buildLegends() {
  buildIndicatorLegend(DEFAULT_INDICATOR);

  const models = document.getElementById('legend-models');
  for (const [key, colour] of Object.entries(MODEL_COLOURS)) {
    models.append(legendItem(symbolCanvas('circle', colour).canvas, term('model_type', key)));
  }
  models.append(legendItem(symbolCanvas('area', MODEL_COLOURS.medicinal_plant).canvas, t.legend.plot));

  const works = document.getElementById('legend-works');
  for (const [key, colour] of Object.entries(WORK_COLOURS)) {
    works.append(legendItem(symbolCanvas('square', colour).canvas, term('work_type', key)));
  }
  works.append(legendItem(symbolCanvas('line', WORK_COLOURS.road).canvas, t.legend.line));

  const water = document.getElementById('legend-water');
  for (const [key, colour] of Object.entries(WATER_COLOURS)) {
    water.append(legendItem(symbolCanvas('drop', colour).canvas, term('water_status', key)));
  }

  const risk = document.getElementById('legend-risk');
  for (const [key, colour] of Object.entries(RISK_COLOURS)) {
    risk.append(legendItem(symbolCanvas('circle', colour).canvas, term('reason', key)));
  }
}

// ---------------------------------------------------------------------------
// Data from the API

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (!response.ok) {
    let message = response.statusText;
    let detail = null;
    try {
      const body = await response.json();
      detail = (body && body.error) || null;
      message = (detail && detail.message) || message;
    } catch {
      // not JSON: keep the status text
    }
    const error = new Error(`${response.status} ${message} (${url})`);
    error.status = response.status;
    error.detail = detail;
    throw error;
  }
  return response.json();
}

/** Every feature of a collection, following `next` links if the server pages. */
async function getAllFeatures(path, params) {
  const url = new URL(`${config.apiRoot}${path}`, window.location.href);
  for (const [key, value] of Object.entries({ limit: 10000, ...params })) url.searchParams.set(key, value);
  const features = [];
  let next = url.href;
  for (let page = 0; next && page < 100; page += 1) {
    const collection = await getJSON(next);
    const batch = collection.features || [];
    features.push(...batch);
    const link = (collection.links || []).find((candidate) => candidate.rel === 'next');
    next = link && batch.length ? new URL(link.href, window.location.href).href : null;
  }
  return { type: 'FeatureCollection', features };
}

const boundaryCache = new Map();
const indicatorCache = new Map();

function boundaryLayers(boundaries) {
  if (!boundaryCache.has(boundaries)) {
    const units = (level) => getAllFeatures('/layers/admin_units', { level, boundaries });
    const emptyCollection = Promise.resolve({ type: 'FeatureCollection', features: [] });
    const request = Promise.all([
      units('commune'),
      boundaries === 'legacy' ? units('district') : emptyCollection,
      units('province'),
    ]).then(([communes, districts, province]) => ({ communes, districts, province }));
    request.catch(() => boundaryCache.delete(boundaries));
    boundaryCache.set(boundaries, request);
  }
  return boundaryCache.get(boundaries);
}

/** Years an indicator is known to have (from a 400 answer naming them), by indicator. */
const knownYears = new Map();

/** Whether the indicator cannot have data for the year, without asking the server. */
function knownMissing(indicator, year) {
  if (knownYears.has(indicator)) return !knownYears.get(indicator).includes(year);
  // a change compares a round with the one before: none for the first survey year
  const first = config.years.length ? Math.min(...config.years.map(Number)) : null;
  return Boolean(INDICATORS[indicator].change) && year === first;
}

/**
 * The indicator's rows for the boundaries and year: {rows, missing}. `missing` is
 * true when the indicator has no data for that year (the API answers 400 naming
 * the year and the allowed years): an expected case, shown as "no data", not an error.
 */
function indicatorRows(indicator, boundaries, year) {
  if (INDICATORS[indicator].kind === 'effect') return effectRows(indicator, boundaries);
  if (INDICATORS[indicator].exposure !== undefined) return exposureRows(indicator, boundaries);
  if (!year) return Promise.resolve({ rows: [], missing: false }); // no survey year loaded yet
  if (knownMissing(indicator, year)) return Promise.resolve({ rows: [], missing: true });
  const key = `${indicator}:${boundaries}:${year}`;
  if (!indicatorCache.has(key)) {
    const url = new URL(`${config.apiRoot}/indicators`, window.location.href);
    url.search = new URLSearchParams({
      indicator, level: 'commune', boundaries, year: String(year),
    }).toString();
    const request = getJSON(url.href).then(
      (body) => ({ rows: body.rows || [], missing: false }),
      (error) => {
        if (error.status === 400 && error.detail && error.detail.parameter === 'year') {
          if (Array.isArray(error.detail.allowed)) knownYears.set(indicator, error.detail.allowed.map(Number));
          return { rows: [], missing: true };
        }
        throw error;
      },
    );
    request.catch(() => indicatorCache.delete(key));
    indicatorCache.set(key, request);
  }
  return indicatorCache.get(key);
}

/** Estimates of one model type (or 'all') at one level, loaded once: the job's difference-in-differences rows. */
function evaluationRows(modelType, level) {
  const key = `effect:${modelType}:${level}`;
  if (!indicatorCache.has(key)) {
    const url = new URL(`${config.apiRoot}/evaluations`, window.location.href);
    url.search = new URLSearchParams({ level, model_type: modelType }).toString();
    const request = getJSON(url.href).then((body) => (body.rows || [])
      .filter((row) => row.estimator === 'cs_did')
      .map((row) => ({
        code: row.code,
        value: row.status === 'ok' && isNumber(row.att) ? row.att : null,
        ci_low: row.ci_low,
        ci_high: row.ci_high,
        n_treated: row.n_treated,
        n_control: row.n_control,
        status: row.status,
        pretest_p: row.pretest_p,
      })));
    request.catch(() => indicatorCache.delete(key));
    indicatorCache.set(key, request);
  }
  return indicatorCache.get(key);
}

/**
 * A programme-effect indicator's rows: {rows, missing, reason, province}. Effects are
 * estimated on the 2025 communes only, so the legacy boundaries have none.
 */
async function effectRows(indicator, boundaries) {
  if (boundaries === 'legacy') return { rows: [], missing: true, reason: 'legacy' };
  const modelType = INDICATORS[indicator].evaluation;
  const [rows, province] = await Promise.all([
    evaluationRows(modelType, 'commune'), evaluationRows(modelType, 'province'),
  ]);
  return { rows, missing: false, province: province[0] || null };
}

/** Share of households exposed to the indicator's raster, per commune of the boundaries (not by year). */
function exposureRows(indicator, boundaries) {
  const key = `${indicator}:${boundaries}`;
  if (!indicatorCache.has(key)) {
    const url = new URL(`${config.apiRoot}/exposure`, window.location.href);
    url.search = new URLSearchParams({
      raster: String(INDICATORS[indicator].exposure), level: 'commune', boundaries,
    }).toString();
    const request = getJSON(url.href).then((body) => ({
      missing: false,
      rows: (body.rows || []).map((row) => ({
        code: row.code,
        value: row.households > 0 ? (100 * row.households_exposed) / row.households : null,
        numerator: row.households_exposed,
        denominator: row.households,
      })),
    }));
    request.catch(() => indicatorCache.delete(key));
    indicatorCache.set(key, request);
  }
  return indicatorCache.get(key);
}

/** An estimate's 95 % interval as text, e.g. "+231.000 ₫ to +276.000 ₫". */
function formatInterval(low, high) {
  if (!isNumber(low) || !isNumber(high)) return null;
  return fill(t.effect.interval_value, { low: formatSignedMoney(low), high: formatSignedMoney(high) });
}

/** Whether an estimate's interval includes 0 (the data cannot tell the effect from none). */
const includesZero = (row) => isNumber(row.ci_low) && isNumber(row.ci_high) && row.ci_low <= 0 && row.ci_high >= 0;

// ---------------------------------------------------------------------------
// The map

const emptyCollection = () => ({ type: 'FeatureCollection', features: [] });
const isPolygon = ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]];
const isLine = ['in', ['geometry-type'], ['literal', ['LineString', 'MultiLineString']]];
const isPoint = ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]];
const indicatorValue = ['feature-state', 'value'];

/** The communes' fill colour for an indicator: its classes, grey without a value. */
function fillColour(name) {
  const { breaks, colours } = INDICATORS[name];
  return [
    'case',
    ['==', ['typeof', indicatorValue], 'number'],
    ['step', indicatorValue, colours[0], ...breaks.flatMap((limit, index) => [limit, colours[index + 1]])],
    NO_DATA_COLOUR,
  ];
}

const map = new maplibregl.Map({
  container: mapElement,
  style: {
    version: 8,
    // no basemap: the app runs without internet, so only our own GeoJSON is drawn
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e4e9ee' } }],
  },
  center: [106.6, 21.85],
  zoom: 8,
  attributionControl: false,
  locale: t.control,
  dragRotate: false,
  pitchWithRotate: false,
});
map.touchZoomRotate.disableRotation();
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
window.sinhkeMap = map;

function addSourcesAndLayers() {
  addSymbolImages(map, 'work', 'square', WORK_COLOURS);
  addSymbolImages(map, 'water', 'drop', WATER_COLOURS);

  map.addSource('communes', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('districts', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('province', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('models', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('works', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('water', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('risk', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });

  map.addLayer({
    id: 'communes-fill',
    type: 'fill',
    source: 'communes',
    paint: {
      'fill-color': fillColour(DEFAULT_INDICATOR),
      // an effect whose interval includes 0 is drawn paler
      'fill-opacity': ['case', ['boolean', ['feature-state', 'weak'], false], WEAK_OPACITY, FILL_OPACITY],
    },
  });
  map.addLayer({
    id: 'communes-outline',
    type: 'line',
    source: 'communes',
    paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 0.5, 12, 1.5] },
  });
  map.addLayer({
    id: 'districts-outline',
    type: 'line',
    source: 'districts',
    layout: { 'line-join': 'round' },
    paint: { 'line-color': '#4b5563', 'line-width': 1.4, 'line-dasharray': [3, 1.5] },
  });
  map.addLayer({
    id: 'province-outline',
    type: 'line',
    source: 'province',
    layout: { 'line-join': 'round' },
    paint: { 'line-color': '#374151', 'line-width': 1.8 },
  });
  map.addLayer({
    id: 'communes-selected',
    type: 'line',
    source: 'communes',
    layout: { 'line-join': 'round' },
    paint: {
      'line-color': '#111827',
      'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3, 0],
    },
  });
  map.addLayer({
    id: 'models-plots',
    type: 'fill',
    source: 'models',
    filter: isPolygon,
    paint: { 'fill-color': colourBy('model_type', MODEL_COLOURS), 'fill-opacity': 0.5 },
  });
  map.addLayer({
    id: 'models-plots-outline',
    type: 'line',
    source: 'models',
    filter: isPolygon,
    paint: { 'line-color': colourBy('model_type', MODEL_COLOURS), 'line-width': 1.5 },
  });
  map.addLayer({
    id: 'works-areas',
    type: 'fill',
    source: 'works',
    filter: isPolygon,
    paint: {
      'fill-color': colourBy('work_type', WORK_COLOURS),
      'fill-opacity': 0.45,
      'fill-outline-color': colourBy('work_type', WORK_COLOURS),
    },
  });
  map.addLayer({
    id: 'works-lines',
    type: 'line',
    source: 'works',
    filter: isLine,
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: {
      'line-color': colourBy('work_type', WORK_COLOURS),
      'line-width': ['interpolate', ['linear'], ['zoom'], 8, 1.8, 13, 4],
    },
  });
  map.addLayer({
    id: 'water-schemes',
    type: 'symbol',
    source: 'water',
    filter: isPoint,
    layout: {
      'icon-image': iconBy('status', 'water', WATER_COLOURS),
      'icon-allow-overlap': true,
      'icon-ignore-placement': true,
      'icon-size': ['interpolate', ['linear'], ['zoom'], 8, 0.8, 13, 1.3],
    },
  });
  map.addLayer({
    id: 'works-points',
    type: 'symbol',
    source: 'works',
    filter: isPoint,
    layout: {
      'icon-image': iconBy('work_type', 'work', WORK_COLOURS),
      'icon-allow-overlap': true,
      'icon-ignore-placement': true,
      'icon-size': ['interpolate', ['linear'], ['zoom'], 8, 0.8, 13, 1.3],
    },
  });
  map.addLayer({
    id: 'models-points',
    type: 'circle',
    source: 'models',
    filter: isPoint,
    paint: {
      'circle-color': colourBy('model_type', MODEL_COLOURS),
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 4, 13, 7],
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 1.2,
    },
  });
  map.addLayer({
    id: 'risk-points',
    type: 'circle',
    source: 'risk',
    filter: isPoint,
    layout: { visibility: 'none' },
    paint: {
      'circle-color': colourBy('reason', RISK_COLOURS),
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 2.5, 13, 6],
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 0.8,
    },
  });
}

/** setData, resolved once the worker has indexed the data. */
function setSourceData(id, data) {
  return map.getSource(id).setData(data, true);
}

/** Resolves after the next frame in which every source is loaded and nothing is moving. */
function whenRendered() {
  return new Promise((resolve) => {
    const onIdle = () => {
      if (SOURCE_IDS.every((id) => map.isSourceLoaded(id))) resolve();
      else map.once('idle', onIdle);
    };
    map.once('idle', onIdle);
    map.triggerRepaint();
  });
}

function boundsOf(collection) {
  const bounds = new maplibregl.LngLatBounds();
  const visit = (coordinates) => {
    if (typeof coordinates[0] === 'number') bounds.extend(coordinates);
    else coordinates.forEach(visit);
  };
  for (const feature of collection.features) {
    if (feature.geometry) visit(feature.geometry.coordinates);
  }
  return bounds.isEmpty() ? null : bounds;
}

// ---------------------------------------------------------------------------
// Popups

// closeOnClick is off: the map's click handler below closes or replaces the popup itself
const popup = new maplibregl.Popup({
  closeButton: true, closeOnClick: false, maxWidth: '22rem', focusAfterOpen: false,
});
let selectedCommune = null;

popup.on('close', () => selectCommune(null));

function selectCommune(code) {
  if (selectedCommune !== null) {
    map.setFeatureState({ source: 'communes', id: selectedCommune }, { selected: false });
  }
  selectedCommune = code;
  if (code !== null) map.setFeatureState({ source: 'communes', id: code }, { selected: true });
}

function popupContent(kind, title, fields, note) {
  const root = element('div', 'popup');
  root.append(element('p', 'popup-kind', kind), element('h3', 'popup-title', title));
  const list = element('dl', 'popup-fields');
  for (const [label, value] of fields) {
    if (value === null || value === undefined || value === '') continue;
    list.append(element('dt', null, label), element('dd', null, String(value)));
  }
  root.append(list);
  if (note) root.append(element('p', 'popup-note', note));
  return root;
}

function share(part, whole, format = formatMoney) {
  if (!isNumber(part)) return null;
  if (!isNumber(whole) || whole <= 0) return format(part);
  return `${format(part)} (${percentFormat.format(part / whole)})`;
}

function communeTitle(p) {
  return p.unit_type && !String(p.name).startsWith(p.unit_type) ? `${p.unit_type} ${p.name}` : p.name;
}

/** A commune's programme-effect estimate: the estimate, its 95 % interval and n. */
function effectPopup(feature, name) {
  const p = feature.properties;
  const s = feature.state || {};
  let note = null;
  if (s.status === 'insufficient_sample') note = t.effect.insufficient;
  else if (s.status === null || s.status === undefined) note = t.effect.none;
  else if (s.weak) note = t.effect.weak_note;
  return areaLink(popupContent(t.kind.commune, communeTitle(p), [
    [t.field.code, p.code],
    [t.indicator[name], formatIndicator(name, s.value) ?? t.no_data],
    [t.effect.interval, formatInterval(s.ci_low, s.ci_high)],
    [t.effect.n_treated, formatInteger(s.n_treated)],
    [t.effect.n_control, formatInteger(s.n_control)],
    [t.effect.pretest, isNumber(s.pretest_p) ? pValueFormat.format(s.pretest_p) : null],
    [t.effect.method_label, t.effect.method],
  ], note), p.code);
}

function communePopup(feature) {
  const p = feature.properties;
  const s = feature.state || {};
  const name = INDICATORS[s.indicator] ? s.indicator : currentSelection().indicator;
  if (INDICATORS[name].kind === 'effect') return effectPopup(feature, name);
  let counts = null;
  if (isNumber(s.numerator) && isNumber(s.denominator)) {
    counts = [t.count_label[name] || t.field.households_n,
      `${formatInteger(s.numerator)} ${t.unit.of} ${formatInteger(s.denominator)}`];
  } else if (isNumber(s.denominator)) {
    counts = [t.field.households_n, formatInteger(s.denominator)];
  }
  const year = INDICATORS[name].exposure !== undefined ? null : s.year ?? currentSelection().year;
  const since = INDICATORS[name].change && s.prev_year ? ` (${fill(t.since, { year: s.prev_year })})` : '';
  return areaLink(popupContent(t.kind.commune, communeTitle(p), [
    [t.field.code, p.code],
    [t.indicator[name], formatIndicator(name, s.value) ?? t.no_data],
    counts || [null, null],
    [t.field.year, year === null ? null : `${year}${since}`],
    [t.field.area_type, term('area_type', p.area_type)],
  ], s.estimated ? t.estimated_note : null), p.code);
}

/** A list property of a rendered feature: MapLibre hands arrays over as JSON text. */
function listProperty(value) {
  if (Array.isArray(value)) return value;
  try {
    const parsed = JSON.parse(value || '[]');
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

function riskPopup(feature) {
  const p = feature.properties;
  const perMonth = (text) => (text === null ? null : `${text} ${t.unit.per_person_month}`);
  return popupContent(t.kind.risk, p.code, [
    [t.field.code, p.code],
    [t.field.village, p.village],
    [t.field.commune, p.commune],
    [t.field.reason, term('reason', p.reason)],
    [t.field.status, term('household_status', p.status)],
    [t.field.year, p.year],
    [t.field.income, perMonth(formatMoney(p.income))],
    [t.field.income_change, perMonth(formatSignedMoney(p.income_change))],
    [t.field.exposed_to, listProperty(p.exposed_to).map((hazard) => term('hazard', hazard)).join(', ') || null],
  ], p.income_fell ? null : t.risk_exposed_only);
}

/** A link to the area page of a commune (exposure, exposed models, works and households). */
function areaLink(root, code) {
  const link = element('a', 'popup-link', t.area.open);
  link.href = `${t.area.url.replace('__code__', encodeURIComponent(code))}?boundaries=${currentSelection().boundaries}`;
  root.append(link);
  return root;
}

/**
 * An asset's exposure to each hazard raster (the exposure job), added to its popup once
 * loaded: the value at the asset and the share of its zone beyond the threshold.
 */
function appendExposure(root, kind, code) {
  const section = element('div', 'popup-exposure');
  root.append(section);
  getJSON(`${config.apiRoot}/exposure/${kind}/${encodeURIComponent(code)}`).then((body) => {
    const rows = body.rasters || [];
    if (!rows.length) return;
    section.append(element('p', 'popup-kind', t.exposure.heading));
    const list = element('ul', 'popup-exposure-list');
    for (const r of rows) {
      const value = isNumber(r.value_at) ? `${decimalFormat.format(r.value_at)}${r.unit ? ` ${r.unit}` : ''}` : t.no_data;
      const share = isNumber(r.share_above) ? percentFormat.format(r.share_above) : null;
      const item = element('li', r.exposed ? 'is-exposed' : null, share === null
        ? `${r.name}: ${value}` : fill(t.exposure.item, { raster: r.name, value, share }));
      list.append(item);
    }
    section.append(list);
  }).catch(() => section.remove()); // the popup stays useful without it
  return root;
}

function modelPopup(feature) {
  const p = feature.properties;
  const v = t.visit;
  // status from field visits (the model_status job); absent before its first run
  let visitState = null;
  if (isNumber(p.overdue_days) && p.overdue_days > 0) visitState = fill(v.overdue, { n: formatInteger(p.overdue_days) });
  else if (p.next_visit_due) visitState = v.up_to_date;
  const withUnit = (value, unit) => (isNumber(value) ? `${decimalFormat.format(value)} ${unit}` : null);
  const root = popupContent(t.kind.model, p.name, [
    [t.field.code, p.code],
    [t.field.type, term('model_type', p.model_type)],
    [t.field.status, term('model_status', p.status)],
    [t.field.commune, p.commune],
    [t.field.start_date, formatDate(p.start_date)],
    [t.field.budget_allocated, formatMoney(p.budget_allocated_vnd)],
    [t.field.budget_disbursed, share(p.budget_disbursed_vnd, p.budget_allocated_vnd)],
    [t.field.participants, formatInteger(p.participants)],
    [v.last_visit, p.last_visit_at ? formatDate(p.last_visit_at) : (p.next_visit_due ? v.never : null)],
    [v.next_due, formatDate(p.next_visit_due)],
    [v.state, visitState],
    [v.herd_size, withUnit(p.herd_size, v.animals)],
    [v.flock_size, withUnit(p.flock_size, v.birds)],
    [v.harvest, withUnit(p.harvest_kg_12m, 'kg')],
  ]);
  const link = element('a', 'popup-link', v.open_page);
  link.href = v.page_url.replace('__code__', encodeURIComponent(p.code));
  root.append(link);
  return appendExposure(root, 'model', p.code);
}

function workPopup(feature) {
  const p = feature.properties;
  return appendExposure(popupContent(t.kind.work, p.name, [
    [t.field.code, p.code],
    [t.field.type, term('work_type', p.work_type)],
    [t.field.status, term('work_status', p.status)],
    [t.field.commune, p.commune],
    [t.field.start_date, formatDate(p.start_date)],
    [t.field.completion_date, formatDate(p.completion_date)],
    [t.field.budget, formatMoney(p.budget_vnd)],
    [t.field.budget_disbursed, share(p.disbursed_vnd, p.budget_vnd)],
  ]), 'work', p.code);
}

function waterPopup(feature) {
  const p = feature.properties;
  const capacity = isNumber(p.capacity_m3_day) ? `${decimalFormat.format(p.capacity_m3_day)} ${t.unit.m3_per_day}` : null;
  return appendExposure(popupContent(t.kind.water, p.name, [
    [t.field.code, p.code],
    [t.field.status, term('water_status', p.status)],
    [t.field.technology, p.technology],
    [t.field.capacity, capacity],
    [t.field.install_year, p.install_year],
    [t.field.households_served, formatInteger(p.households_served)],
    [t.field.commune, p.commune],
  ]), 'water_scheme', p.code);
}

const POPUP_BUILDERS = {
  communes: communePopup,
  models: modelPopup,
  works: workPopup,
  water: waterPopup,
  risk: riskPopup,
};

function visibleClickableLayers() {
  return CLICKABLE_LAYERS.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
}

map.on('click', (event) => {
  const [feature] = map.queryRenderedFeatures(event.point, { layers: visibleClickableLayers() });
  if (!feature) {
    popup.remove();
    return;
  }
  const content = POPUP_BUILDERS[feature.source](feature);
  popup.remove();
  popup.setLngLat(event.lngLat).setDOMContent(content).addTo(map);
  selectCommune(feature.source === 'communes' ? feature.id : null);
});

map.on('mousemove', (event) => {
  const hit = map.queryRenderedFeatures(event.point, { layers: visibleClickableLayers() }).length > 0;
  map.getCanvas().style.cursor = hit ? 'pointer' : '';
});

// ---------------------------------------------------------------------------
// Controls

const yearSelect = document.getElementById('year-select');
const boundarySelect = document.getElementById('boundary-select');
const indicatorSelect = document.getElementById('indicator-select');
const toggles = Array.from(document.querySelectorAll('input[data-layer-group]'));

function currentSelection() {
  return {
    year: Number(yearSelect.value) || config.defaultYear || null,
    boundaries: boundarySelect.value === 'legacy' ? 'legacy' : 'current',
    indicator: INDICATORS[indicatorSelect.value] ? indicatorSelect.value : DEFAULT_INDICATOR,
  };
}

function applyLayerVisibility() {
  const selection = currentSelection();
  const legacy = selection.boundaries === 'legacy';
  // a programme effect is one estimate over the whole period: the year does not apply
  const spec = INDICATORS[selection.indicator];
  yearSelect.disabled = spec.kind === 'effect' || spec.exposure !== undefined;
  for (const toggle of toggles) {
    const group = toggle.dataset.layerGroup;
    if (group === 'districts') toggle.disabled = !legacy;
    const visible = toggle.checked && !toggle.disabled;
    toggle.closest('.layer').classList.toggle('is-hidden', !visible);
    for (const id of LAYER_GROUPS[group] || []) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    }
  }
  if (popup.isOpen()) popup.remove();
  const risk = toggles.find((toggle) => toggle.dataset.layerGroup === 'risk');
  if (risk && risk.checked && map.getSource('risk')) loadRiskLayer();
}

function showCount(group, count) {
  const target = document.querySelector(`[data-count-for="${group}"]`);
  if (target) target.textContent = `(${integerFormat.format(count)})`;
}

// ---------------------------------------------------------------------------
// Loading

let programmeLayers = null;
let shownBoundaries = null;
let generation = 0;
let fitted = false;

async function loadProgrammeLayers() {
  const layers = [
    ['models', '/layers/livelihood_models'],
    ['works', '/layers/infrastructure_works'],
    ['water', '/layers/water_schemes'],
  ];
  const results = await Promise.allSettled(layers.map(async ([source, path]) => {
    const collection = await getAllFeatures(path, {});
    await setSourceData(source, collection);
    showCount(source, collection.features.length);
  }));
  return results.filter((result) => result.status === 'rejected').map((result) => result.reason);
}

/**
 * Joins indicator rows to the commune polygons by code, as feature state.
 *
 * Every shown commune gets every key (null when there is no row): removing all
 * state and setting it again in the same frame would drop falsy values such as a
 * 0 % rate, because MapLibre queues the removal of any key whose new value is falsy.
 */
function applyIndicators(communes, rows, indicator) {
  const rowsByCode = new Map(rows.map((row) => [String(row.code), row]));
  for (const feature of communes.features) {
    const code = String(feature.properties.code);
    const row = rowsByCode.get(code);
    const number = (value) => (row && isNumber(value) ? value : null);
    map.setFeatureState({ source: 'communes', id: code }, {
      indicator,
      value: number(row && row.value),
      numerator: number(row && row.numerator),
      denominator: number(row && row.denominator),
      estimated: Boolean(row && row.estimated),
      year: row && row.year ? row.year : null,
      prev_year: row && row.prev_year ? row.prev_year : null,
      ci_low: number(row && row.ci_low),
      ci_high: number(row && row.ci_high),
      n_treated: number(row && row.n_treated),
      n_control: number(row && row.n_control),
      pretest_p: number(row && row.pretest_p),
      status: row && row.status ? row.status : null,
      weak: Boolean(row && row.status === 'ok' && includesZero(row)),
    });
  }
  map.setPaintProperty('communes-fill', 'fill-color', fillColour(indicator));
}

/** The summary of a programme-effect indicator: how many communes have an estimate, and the province's. */
function summariseEffect(shown, result, indicator) {
  if (result.missing) {
    summaryElement.replaceChildren(element('span', 'map-no-data', t.effect.legacy));
    return;
  }
  const matched = result.rows.filter((row) => shown.has(String(row.code)));
  const count = (predicate) => integerFormat.format(matched.filter(predicate).length);
  const province = result.province;
  const estimated = matched.filter((row) => isNumber(row.value)).length;
  // a grey map says why: nothing evaluated, or every commune below the minimum sample
  let template = t.effect.summary;
  if (!matched.length && !province) template = t.effect.no_rows;
  else if (!estimated && matched.length) template = t.effect.all_insufficient;
  summaryElement.replaceChildren(element('span', null, fill(template, {
    shown: integerFormat.format(shown.size),
    with_data: count((row) => isNumber(row.value)),
    weak: count((row) => isNumber(row.value) && includesZero(row)),
    insufficient: count((row) => row.status === 'insufficient_sample'),
  })));
  if (province && isNumber(province.value)) {
    summaryElement.append(element('span', null, fill(t.effect.province, {
      effect: formatIndicator(indicator, province.value),
      interval: formatInterval(province.ci_low, province.ci_high),
      n_treated: formatInteger(province.n_treated),
      n_control: formatInteger(province.n_control),
    })));
  }
}

function summarise(communes, result, selection) {
  const { rows, missing } = result;
  const { year, indicator } = selection;
  const shown = new Set(communes.features.map((feature) => String(feature.properties.code)));
  if (INDICATORS[indicator].kind === 'effect') {
    summariseEffect(shown, result, indicator);
    return;
  }
  if (missing) {
    const message = element('span', 'map-no-data', fill(t.no_data_year, { indicator: t.indicator[indicator], year }));
    summaryElement.replaceChildren(message);
    if (knownYears.has(indicator)) {
      summaryElement.append(element('span', null, fill(t.data_years, { years: knownYears.get(indicator).join(', ') })));
    }
    return;
  }
  const matched = rows.filter((row) => shown.has(String(row.code)));
  const withData = matched.filter((row) => isNumber(row.value));
  let template = indicator === 'poverty_rate' ? t.summary : t.summary_indicator;
  if (INDICATORS[indicator].exposure !== undefined) template = t.exposure.summary;
  summaryElement.replaceChildren(element('span', null, fill(template, {
    shown: integerFormat.format(shown.size),
    with_data: integerFormat.format(withData.length),
    year,
  })));
  const spec = INDICATORS[indicator];
  const total = (key) => withData.reduce((sum, row) => sum + (isNumber(row[key]) ? row[key] : 0), 0);
  const numerator = total('numerator');
  const denominator = total('denominator');
  if (spec.kind === 'rate' && denominator > 0) {
    const template2 = indicator === 'poverty_rate' ? t.overall : t.overall_rate;
    summaryElement.append(element('span', null, fill(template2, {
      rate: percentFormat.format(numerator / denominator),
      poor: integerFormat.format(numerator),
      households: integerFormat.format(denominator),
      numerator: integerFormat.format(numerator),
      denominator: integerFormat.format(denominator),
    })));
  } else if (spec.kind === 'count' && withData.length) {
    summaryElement.append(element('span', null, fill(t.overall_count, { total: integerFormat.format(numerator) })));
  }
}

let riskLayer = null;

/** The households at risk of falling back: loaded the first time the layer is shown. */
function loadRiskLayer() {
  if (!riskLayer) {
    riskLayer = getAllFeatures('/layers/fallback_risk', {}).then(async (collection) => {
      await setSourceData('risk', collection);
      showCount('risk', collection.features.length);
    });
    riskLayer.catch((error) => {
      riskLayer = null;
      reportFailures([error]);
    });
  }
  return riskLayer;
}

function reportFailures(errors) {
  if (!errors.length) return;
  setStatus(`${t.load_error} ${errors.map((error) => error.message).join('; ')}`, true);
  for (const error of errors) console.error('sinhke map:', error);
}

/** Shows the communes and poverty rates for the selected year and boundaries. */
async function refresh() {
  if (!programmeLayers) return; // the map's 'load' handler calls again once the style is ready
  const run = ++generation;
  const selection = currentSelection();
  setReady(false);
  setStatus(t.loading);
  applyLayerVisibility();
  try {
    const [layers, result] = await Promise.all([
      boundaryLayers(selection.boundaries),
      indicatorRows(selection.indicator, selection.boundaries, selection.year),
    ]);
    if (run !== generation) return;
    if (shownBoundaries !== selection.boundaries) {
      shownBoundaries = selection.boundaries;
      await Promise.all([
        setSourceData('communes', layers.communes),
        setSourceData('districts', layers.districts),
        setSourceData('province', layers.province),
      ]);
      if (run !== generation) return;
    }
    applyIndicators(layers.communes, result.rows, selection.indicator);
    buildIndicatorLegend(selection.indicator);
    summarise(layers.communes, result, selection);
    if (!fitted) {
      const bounds = boundsOf(layers.province) || boundsOf(layers.communes);
      if (bounds) map.fitBounds(bounds, { padding: 24, animate: false });
      fitted = true;
    }
    const failures = await programmeLayers;
    await whenRendered();
    if (run !== generation) return;
    if (failures.length) reportFailures(failures);
    else setStatus('');
    setReady(true, selection);
  } catch (error) {
    if (run === generation) reportFailures([error]);
  }
}

// ---------------------------------------------------------------------------
// Hazard raster overlay: a catalogued climate-risk raster as server-rendered PNG tiles
// (/tiles/rasters/<id>/{z}/{x}/{y}.png), drawn above the commune colours and below the
// commune outlines and programme layers. body[data-hazard-raster] is the shown raster's
// id once its tiles are loaded ("" for none); body[data-hazard-opacity] the opacity in %.

const HAZARD_SOURCE = 'hazard-raster';
const HAZARD_LAYER = 'hazard-raster';
/** The hazard layer goes below this layer (so above the commune fill). */
const HAZARD_BELOW = 'communes-outline';
const tilesRoot = mapElement.dataset.tilesRoot || '/tiles';
const hazardSelect = document.getElementById('hazard-select');
const hazardOpacity = document.getElementById('hazard-opacity');
const hazardOpacityValue = document.getElementById('hazard-opacity-value');
const hazardCatalogue = new Map();
let hazardGeneration = 0;

function setHazardState(rasterId) {
  document.body.dataset.hazardRaster = rasterId ? String(rasterId) : '';
}

/** A unit in the page's language (m, mm stay as they are). */
function hazardUnit(unit) {
  return (t.hazard.unit && t.hazard.unit[unit]) || unit;
}

function hazardOpacityFraction() {
  return Number(hazardOpacity.value) / 100;
}

function applyHazardOpacity() {
  const percent = Number(hazardOpacity.value);
  hazardOpacityValue.textContent = `${integerFormat.format(percent)} %`;
  document.body.dataset.hazardOpacity = String(percent);
  if (map.getLayer(HAZARD_LAYER)) map.setPaintProperty(HAZARD_LAYER, 'raster-opacity', percent / 100);
}

/** "Flood depth, 1-in-100-year (demo) · 1-in-100-year · m": name, return period and unit as text. */
function hazardOptionText(raster) {
  const parts = [raster.name];
  if (isNumber(raster.return_period)) parts.push(fill(t.hazard.return_period, { years: raster.return_period }));
  if (raster.unit) parts.push(hazardUnit(raster.unit));
  return parts.join(' · ');
}

/** [west, south, east, north] of a GeoJSON polygon, for the tile source (no requests outside). */
function bboxOf(geometry) {
  if (!geometry) return null;
  const bounds = boundsOf({ features: [{ geometry }] });
  return bounds ? [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()] : null;
}

async function loadHazardCatalogue() {
  const body = await getJSON(`${config.apiRoot}/rasters`);
  for (const raster of body.rasters || []) {
    hazardCatalogue.set(String(raster.id), raster);
    hazardSelect.append(element('option', null, hazardOptionText(raster)));
    hazardSelect.lastChild.value = String(raster.id);
  }
}

function removeHazardLayer() {
  if (map.getLayer(HAZARD_LAYER)) map.removeLayer(HAZARD_LAYER);
  if (map.getSource(HAZARD_SOURCE)) map.removeSource(HAZARD_SOURCE);
}

function addHazardLayer(raster) {
  const source = {
    type: 'raster',
    tiles: [`${window.location.origin}${tilesRoot}/rasters/${raster.id}/{z}/{x}/{y}.png`],
    tileSize: 256,
    maxzoom: 16,
  };
  const bbox = bboxOf(raster.bounds);
  if (bbox) source.bounds = bbox;
  map.addSource(HAZARD_SOURCE, source);
  map.addLayer({
    id: HAZARD_LAYER,
    type: 'raster',
    source: HAZARD_SOURCE,
    paint: { 'raster-opacity': hazardOpacityFraction(), 'raster-resampling': 'nearest', 'raster-fade-duration': 0 },
  }, map.getLayer(HAZARD_BELOW) ? HAZARD_BELOW : undefined);
}

/** Resolves once the hazard source's visible tiles are loaded and the map is idle. */
function whenHazardLoaded() {
  return new Promise((resolve) => {
    const onIdle = () => {
      if (!map.getSource(HAZARD_SOURCE) || map.isSourceLoaded(HAZARD_SOURCE)) resolve();
      else map.once('idle', onIdle);
    };
    map.once('idle', onIdle);
    map.triggerRepaint();
  });
}

function formatHazardValue(value, unit) {
  const text = decimalFormat.format(value);
  return unit && unit !== 'class' ? `${text} ${hazardUnit(unit)}` : text;
}

/** The legend of the shown raster's colour ramp: a gradient with its stops, or class boxes. */
function buildHazardLegend(legend) {
  const box = document.getElementById('hazard-legend');
  const ramp = document.getElementById('hazard-ramp');
  const stops = document.getElementById('hazard-stops');
  const note = document.getElementById('hazard-note');
  const label = t.hazard.label[legend.hazard] || t.hazard.label.other;
  const unit = legend.unit ? ` (${hazardUnit(legend.unit)})` : '';
  document.getElementById('hazard-legend-title').textContent = `${label}${unit}`;
  stops.replaceChildren();
  const notes = [];
  if (legend.kind === 'classes') {
    ramp.hidden = true;
    for (const stop of legend.stops) {
      const swatch = colourBox(stop.colour || 'transparent');
      if (!stop.colour) swatch.classList.add('is-transparent');
      const text = (stop.label && t.hazard.class[stop.label]) || integerFormat.format(stop.value);
      stops.append(legendItem(swatch, text));
    }
  } else {
    ramp.hidden = false;
    ramp.style.backgroundImage = `linear-gradient(to right, ${legend.gradient.join(', ')})`;
    legend.stops.forEach((stop, index) => {
      let text = formatHazardValue(stop.value, legend.unit);
      if (index === legend.stops.length - 1) text = `≥ ${text}`;
      else if (index === 0 && legend.transparent_at_or_below === null) text = `≤ ${text}`;
      const item = legendItem(colourBox(stop.colour), text);
      item.lastChild.classList.add('legend-number');
      stops.append(item);
    });
    if (legend.hazard === 'drought_index') {
      stops.firstChild.lastChild.textContent += ` (${t.hazard.drier})`;
      stops.lastChild.lastChild.textContent += ` (${t.hazard.wetter})`;
    }
    if (legend.transparent_at_or_below !== null) {
      notes.push(fill(t.hazard.not_drawn, { value: formatHazardValue(legend.transparent_at_or_below, legend.unit) }));
    }
  }
  notes.push(t.hazard.transparent);
  note.textContent = notes.join(' ');
  box.hidden = false;
}

/** Shows the selected raster (or none): replaces the tile source, the legend and the state. */
async function showHazard() {
  const run = ++hazardGeneration;
  const raster = hazardCatalogue.get(hazardSelect.value) || null;
  setHazardState(null);
  removeHazardLayer();
  document.getElementById('hazard-legend').hidden = true;
  if (!raster) return;
  setStatus(t.hazard.loading);
  try {
    const legend = await getJSON(`${tilesRoot}/rasters/${raster.id}/legend.json`);
    if (run !== hazardGeneration) return;
    addHazardLayer(raster);
    buildHazardLegend(legend);
    await whenHazardLoaded();
    if (run !== hazardGeneration) return;
    setStatus('');
    setHazardState(raster.id);
  } catch (error) {
    if (run !== hazardGeneration) return;
    setStatus(`${t.hazard.error} ${error.message}`, true);
    console.error('sinhke map:', error);
  }
}

async function initHazardLayer() {
  try {
    await loadHazardCatalogue();
  } catch (error) {
    setStatus(`${t.hazard.error} ${error.message}`, true);
    console.error('sinhke map:', error);
  }
  hazardSelect.addEventListener('change', showHazard);
  hazardOpacity.addEventListener('input', applyHazardOpacity);
  applyHazardOpacity();
  if (hazardSelect.value) showHazard();
}

buildLegends();
setReady(false);
addExposureIndicators();
yearSelect.addEventListener('change', refresh);
boundarySelect.addEventListener('change', refresh);
indicatorSelect.addEventListener('change', refresh);
for (const toggle of toggles) toggle.addEventListener('change', applyLayerVisibility);

map.on('error', (event) => {
  setStatus(`${t.load_error} ${event.error && event.error.message}`, true);
  console.error('sinhke map:', event.error);
});

map.on('load', () => {
  addSourcesAndLayers();
  programmeLayers = loadProgrammeLayers();
  refresh();
});

setHazardState(null);
map.on('load', initHazardLayer);
