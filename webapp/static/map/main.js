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

import { element, fill, setReady, setStatus, summaryElement, t } from './config.js';
import { boundaryLayers, getAllFeatures, indicatorRows, knownYears } from './data.js';
import { formatInteger, formatInterval, includesZero, integerFormat, isNumber, percentFormat } from './format.js';
import { initHazardLayer, setHazardState } from './hazard.js';
import { INDICATORS, LAYER_GROUPS, addExposureIndicators, formatIndicator } from './indicators.js';
import { addSourcesAndLayers, boundsOf, fillColour, map, setSourceData, whenRendered } from './layers.js';
import { buildIndicatorLegend, buildLegends } from './legend.js';
import { popup } from './popups.js';
import { boundarySelect, currentSelection, indicatorSelect, toggles, yearSelect } from './state.js';

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
  summaryElement.replaceChildren(element('span', null, fill(t.effect.summary, {
    shown: integerFormat.format(shown.size),
    with_data: count((row) => isNumber(row.value)),
    weak: count((row) => isNumber(row.value) && includesZero(row)),
    insufficient: count((row) => row.status === 'insufficient_sample'),
  })));
  const province = result.province;
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
