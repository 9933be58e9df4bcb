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

import { config, element, fill, setReady, setStatus, summaryElement, t } from './config.js';
import { boundaryLayers, collectionCount, indicatorRows, knownYears } from './data.js';
import { formatInteger, formatInterval, includesZero, integerFormat, isNumber, percentFormat } from './format.js';
import { hazardOpacity, hazardSelect, hazardView, initHazardLayer, setHazardState } from './hazard.js';
import { addExposureIndicators, DEFAULT_INDICATOR, formatIndicator, INDICATORS, LAYER_GROUPS } from './indicators.js';
import { addSourcesAndLayers, areaTarget, boundsOf, fillColour, LEVEL_AREAS, map, setSourceData, showCommuneTiles, whenRendered } from './layers.js';
import { buildIndicatorLegend, buildLegends } from './legend.js';
import { popup } from './popups.js';
import './search.js';
import { boundarySelect, checkedGroups, currentSelection, indicatorSelect, levelSelect, setYear, syncLevelOptions, toggles, yearSlider } from './state.js';
import { initialState, writeHash } from './url-state.js';

function applyLayerVisibility() {
  syncLevelOptions();
  const selection = currentSelection();
  const legacy = selection.boundaries === 'legacy';
  // a programme effect is one estimate over the whole period: the year does not apply
  const spec = INDICATORS[selection.indicator];
  yearSlider.disabled = spec.kind === 'effect' || spec.exposure !== undefined || config.years.length < 2;
  for (const toggle of toggles) {
    const group = toggle.dataset.layerGroup;
    if (group === 'districts') toggle.disabled = !legacy;
    const visible = toggle.checked && !toggle.disabled;
    toggle.closest('.layer').classList.toggle('is-hidden', !visible);
    for (const id of LAYER_GROUPS[group] || []) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    }
  }
  // the indicator colours the areas of one level: communes, districts or the province
  const choropleth = toggles.find((toggle) => toggle.dataset.layerGroup === 'communes');
  for (const [level, { fill: layer, labels }] of Object.entries(LEVEL_AREAS)) {
    const visible = (!choropleth || choropleth.checked) && level === selection.level;
    for (const id of [layer, labels]) {
      if (id && map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    }
  }
  if (popup.isOpen()) popup.remove();
  saveView();
  const risk = toggles.find((toggle) => toggle.dataset.layerGroup === 'risk');
  if (risk && risk.checked) countRiskLayer();
}

function showCount(group, count) {
  const target = document.querySelector(`[data-count-for="${group}"]`);
  if (target && isNumber(count)) target.textContent = `(${integerFormat.format(count)})`;
}

// ---------------------------------------------------------------------------
// Loading

let programmeLayers = null;
let shownBoundaries = null;
let shownProvince = null;
let generation = 0;
/** A view from the URL is kept; otherwise the first view fits the province. */
let fitted = Boolean(initialState.view);

/** The view and the selection in the URL's hash (once the map has its style). */
function saveView() {
  if (programmeLayers) writeHash(map, currentSelection(), checkedGroups(), hazardView());
}

/** The panel as the URL's hash asks (an exposure indicator once the rasters are listed). */
function applyInitialState() {
  if (initialState.year) setYear(initialState.year);
  if (initialState.boundaries) boundarySelect.value = initialState.boundaries;
  if (initialState.level) levelSelect.value = initialState.level;
  syncLevelOptions();
  if (initialState.indicator && INDICATORS[initialState.indicator]) indicatorSelect.value = initialState.indicator;
  if (initialState.layers) {
    for (const toggle of toggles) toggle.checked = initialState.layers.has(toggle.dataset.layerGroup);
  }
}

/** The programme layers come as tiles; the panel shows how many features each has (OGC numberMatched). */
async function countProgrammeLayers() {
  const layers = [['models', 'livelihood_models'], ['works', 'infrastructure_works'], ['water', 'water_schemes']];
  const results = await Promise.allSettled(layers.map(async ([group, collection]) => {
    showCount(group, await collectionCount(collection));
  }));
  return results.filter((result) => result.status === 'rejected').map((result) => result.reason);
}

// ---------------------------------------------------------------------------
// Indicator values joined to the area tiles by code, as feature state.
//
// The tiles carry the indicators of a year as properties too, but not the counts behind a
// rate for every indicator, the estimate flag, effects or exposure: the rows of the API are
// joined instead, one set of keys for every area, so one expression colours them all.
// The areas are those of the chosen level: communes, legacy districts or the province.

let shownRows = new Map();
let shownIndicator = DEFAULT_INDICATOR;
let shownLevel = 'commune';
/** Codes of the areas given state so far, by level (communes of either boundary version). */
const statedCodes = { commune: new Set(), district: new Set(), province: new Set() };

function areaState(code) {
  const row = shownRows.get(code);
  const number = (value) => (row && isNumber(value) ? value : null);
  return {
    indicator: shownIndicator,
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
  };
}

function setAreaState(level, code) {
  map.setFeatureState(areaTarget(level, code), areaState(code));
  statedCodes[level].add(code);
}

function loadedCodes(level) {
  const { source, sourceLayer } = LEVEL_AREAS[level];
  return map.querySourceFeatures(source, sourceLayer ? { sourceLayer } : {})
    .map((feature) => String(feature.id));
}

/** Areas of newly loaded tiles get the shown indicator's state; says whether any was new. */
function stateForNewTiles() {
  let stated = false;
  for (const code of loadedCodes(shownLevel)) {
    if (!statedCodes[shownLevel].has(code)) {
      setAreaState(shownLevel, code);
      stated = true;
    }
  }
  return stated;
}

/**
 * Joins the indicator rows to the areas of a level. Every area already drawn gets every key
 * (null when there is no row): removing all state and setting it again in the same frame
 * would drop falsy values such as a 0 % rate, because MapLibre queues the removal of any
 * key whose new value is falsy.
 */
function applyIndicators(rows, indicator, level) {
  shownRows = new Map(rows.map((row) => [String(row.code), row]));
  shownIndicator = indicator;
  shownLevel = level;
  for (const code of new Set([...statedCodes[level], ...shownRows.keys(), ...loadedCodes(level)])) {
    setAreaState(level, code);
  }
  map.setPaintProperty(LEVEL_AREAS[level].fill, 'fill-color', fillColour(indicator));
}

/** The summary of a programme-effect indicator: how many communes have an estimate, and the province's. */
function summariseEffect(shown, result, indicator) {
  if (result.missing) {
    summaryElement.replaceChildren(element('span', 'map-no-data', t.effect.legacy));
    return;
  }
  const matched = result.rows;
  const count = (predicate) => integerFormat.format(matched.filter(predicate).length);
  const province = result.province;
  const estimated = matched.filter((row) => isNumber(row.value)).length;
  // a grey map says why: nothing evaluated, or every commune below the minimum sample
  let template = t.effect.summary;
  if (!matched.length && !province) template = t.effect.no_rows;
  else if (!estimated && matched.length) template = t.effect.all_insufficient;
  summaryElement.replaceChildren(element('span', null, fill(template, {
    shown: formatInteger(shown) ?? '–',
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

/** The summary of the province as a whole (level province): its value, or why there is none. */
function summariseProvince(result, selection) {
  const { indicator, year } = selection;
  const spec = INDICATORS[indicator];
  const row = result.rows[0];
  const value = formatIndicator(indicator, row && row.value) ?? t.no_data;
  let template = t.level_summary.province;
  if (spec.kind === 'effect' || spec.exposure !== undefined) template = t.level_summary.province_any_year;
  summaryElement.replaceChildren(element('span', null, fill(template, {
    indicator: t.indicator[indicator], value, year,
  })));
  if (spec.kind === 'effect' && row && isNumber(row.value)) {
    summaryElement.append(element('span', null, fill(t.effect.province, {
      effect: value,
      interval: formatInterval(row.ci_low, row.ci_high),
      n_treated: formatInteger(row.n_treated),
      n_control: formatInteger(row.n_control),
    })));
  }
}

/** The summary under the selects; `shown` is how many areas of the level the caller may see. */
function summarise(shown, result, selection) {
  const { rows, missing } = result;
  const { year, indicator, level } = selection;
  if (level === 'province' && !missing) {
    summariseProvince(result, selection);
    return;
  }
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
  const withData = rows.filter((row) => isNumber(row.value));
  const exposure = INDICATORS[indicator].exposure !== undefined;
  let template = indicator === 'poverty_rate' ? t.summary : t.summary_indicator;
  if (exposure) template = t.exposure.summary;
  if (level === 'district') template = exposure ? t.level_summary.district_exposure : t.level_summary.district;
  summaryElement.replaceChildren(element('span', null, fill(template, {
    shown: formatInteger(shown) ?? '–',
    with_data: integerFormat.format(withData.length),
    year,
  })));
  const spec = INDICATORS[indicator];
  const total = (key) => withData.reduce((sum, row) => sum + (isNumber(row[key]) ? row[key] : 0), 0);
  const numerator = total('numerator');
  const denominator = total('denominator');
  const districts = level === 'district';
  if (spec.kind === 'rate' && denominator > 0) {
    let template2 = indicator === 'poverty_rate' ? t.overall : t.overall_rate;
    if (districts) template2 = t.level_summary.overall_rate;
    summaryElement.append(element('span', null, fill(template2, {
      rate: percentFormat.format(numerator / denominator),
      poor: integerFormat.format(numerator),
      households: integerFormat.format(denominator),
      numerator: integerFormat.format(numerator),
      denominator: integerFormat.format(denominator),
    })));
  } else if (spec.kind === 'count' && withData.length) {
    const template3 = districts ? t.level_summary.overall_count : t.overall_count;
    summaryElement.append(element('span', null, fill(template3, { total: integerFormat.format(numerator) })));
  }
}

let riskCount = null;

/** The households at risk of falling back come as tiles when shown; counted the first time. */
function countRiskLayer() {
  if (!riskCount) {
    riskCount = collectionCount('fallback_risk').then((count) => showCount('risk', count));
    riskCount.catch((error) => {
      riskCount = null;
      reportFailures([error]);
    });
  }
  return riskCount;
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
      indicatorRows(selection.indicator, selection.boundaries, selection.year, selection.level),
    ]);
    if (run !== generation) return;
    if (shownBoundaries !== selection.boundaries) {
      shownBoundaries = selection.boundaries;
      showCommuneTiles(selection.boundaries);
    }
    if (shownProvince !== selection.boundaries) {
      shownProvince = selection.boundaries;
      await setSourceData('province', layers.province);
      if (run !== generation) return;
    }
    applyIndicators(result.rows, selection.indicator, selection.level);
    buildIndicatorLegend(selection.indicator, selection.level);
    summarise(selection.level === 'commune' ? layers.communes : result.rows.length, result, selection);
    if (!fitted) {
      // a scoped user's communes, else the province (a view in the URL is kept: fitted already)
      const [west, south, east, north] = layers.extent || [];
      const bounds = layers.extent ? [[west, south], [east, north]] : boundsOf(layers.province);
      if (bounds) map.fitBounds(bounds, { padding: 24, animate: false });
      fitted = true;
    }
    const failures = await programmeLayers;
    await whenRendered();
    // areas the first frame drew without a row get their (empty) state, and are drawn again; when
    // every drawn area had a row already, the frame on screen is the final one
    if (stateForNewTiles()) await whenRendered();
    if (run !== generation) return;
    if (failures.length) reportFailures(failures);
    else setStatus('');
    setReady(true, selection);
  } catch (error) {
    if (run === generation) reportFailures([error]);
  }
}

buildLegends();
setReady(false);
const exposureIndicators = addExposureIndicators();
applyInitialState();
// the first view's data asked for now, while MapLibre loads its style and worker: refresh() on the
// map's 'load' finds these requests in the caches (a failure is reported there, when asked again)
const firstView = currentSelection();
boundaryLayers(firstView.boundaries).catch(() => {});
if (INDICATORS[firstView.indicator]) {
  indicatorRows(firstView.indicator, firstView.boundaries, firstView.year, firstView.level).catch(() => {});
}
const programmeCounts = countProgrammeLayers();
yearSlider.addEventListener('change', refresh);
boundarySelect.addEventListener('change', refresh);
levelSelect.addEventListener('change', refresh);
hazardSelect.addEventListener('change', saveView);
hazardOpacity.addEventListener('change', saveView);
indicatorSelect.addEventListener('change', refresh);
for (const toggle of toggles) toggle.addEventListener('change', applyLayerVisibility);

map.on('error', (event) => {
  setStatus(`${t.load_error} ${event.error && event.error.message}`, true);
  console.error('sinhke map:', event.error);
});

map.on('load', async () => {
  if (initialState.indicator && !INDICATORS[initialState.indicator]) {
    await exposureIndicators; // an exposure indicator: its option exists once the rasters are listed
    applyInitialState();
  }
  shownBoundaries = currentSelection().boundaries;
  addSourcesAndLayers(shownBoundaries);
  programmeLayers = programmeCounts;
  refresh();
});

map.on('moveend', saveView);

map.on('sourcedata', (event) => {
  if (event.sourceId === LEVEL_AREAS[shownLevel].source && event.tile) stateForNewTiles();
});

setHazardState(null);
map.on('load', initHazardLayer);
