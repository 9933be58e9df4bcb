import { config, element, fill, setStatus, t } from './config.js';
import { getJSON } from './data.js';
import { decimalFormat, integerFormat, isNumber } from './format.js';
import { boundsOf, map } from './layers.js';
import { colourBox, legendItem } from './legend.js';
import { initialState } from './url-state.js';

// ---------------------------------------------------------------------------
// Hazard raster overlay: a catalogued climate-risk raster as server-rendered PNG tiles
// (/tiles/rasters/<id>/{z}/{x}/{y}.png), drawn above the commune colours and below the
// commune outlines and programme layers. body[data-hazard-raster] is the shown raster's
// id once its tiles are loaded ("" for none); body[data-hazard-opacity] the opacity in %.

export const HAZARD_SOURCE = 'hazard-raster';
export const HAZARD_LAYER = 'hazard-raster';
/** The hazard layer goes below this layer (so above the commune fill). */
export const HAZARD_BELOW = 'communes-outline';
const { tilesRoot } = config;
export const hazardSelect = document.getElementById('hazard-select');
export const hazardOpacity = document.getElementById('hazard-opacity');
export const hazardOpacityValue = document.getElementById('hazard-opacity-value');
export const hazardCatalogue = new Map();
export let hazardGeneration = 0;

export function setHazardState(rasterId) {
  document.body.dataset.hazardRaster = rasterId ? String(rasterId) : '';
}

/** A unit in the page's language (m, mm stay as they are). */
export function hazardUnit(unit) {
  return (t.hazard.unit && t.hazard.unit[unit]) || unit;
}

/** The shown raster and its opacity for the URL: {id, opacity}, or null for none. */
export function hazardView() {
  return hazardSelect.value ? { id: hazardSelect.value, opacity: Number(hazardOpacity.value) } : null;
}

export function hazardOpacityFraction() {
  return Number(hazardOpacity.value) / 100;
}

export function applyHazardOpacity() {
  const percent = Number(hazardOpacity.value);
  hazardOpacityValue.textContent = `${integerFormat.format(percent)} %`;
  document.body.dataset.hazardOpacity = String(percent);
  if (map.getLayer(HAZARD_LAYER)) map.setPaintProperty(HAZARD_LAYER, 'raster-opacity', percent / 100);
}

/** "Flood depth, 1-in-100-year (demo) · 1-in-100-year · m": name, return period and unit as text. */
export function hazardOptionText(raster) {
  const parts = [raster.name];
  if (isNumber(raster.return_period)) parts.push(fill(t.hazard.return_period, { years: raster.return_period }));
  if (raster.unit) parts.push(hazardUnit(raster.unit));
  return parts.join(' · ');
}

/** [west, south, east, north] of a GeoJSON polygon, for the tile source (no requests outside). */
export function bboxOf(geometry) {
  if (!geometry) return null;
  const bounds = boundsOf({ features: [{ geometry }] });
  return bounds ? [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()] : null;
}

export async function loadHazardCatalogue() {
  const body = await getJSON(`${config.apiRoot}/rasters`);
  for (const raster of body.rasters || []) {
    hazardCatalogue.set(String(raster.id), raster);
    hazardSelect.append(element('option', null, hazardOptionText(raster)));
    hazardSelect.lastChild.value = String(raster.id);
  }
}

export function removeHazardLayer() {
  if (map.getLayer(HAZARD_LAYER)) map.removeLayer(HAZARD_LAYER);
  if (map.getSource(HAZARD_SOURCE)) map.removeSource(HAZARD_SOURCE);
}

export function addHazardLayer(raster) {
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
export function whenHazardLoaded() {
  return new Promise((resolve) => {
    const onIdle = () => {
      if (!map.getSource(HAZARD_SOURCE) || map.isSourceLoaded(HAZARD_SOURCE)) resolve();
      else map.once('idle', onIdle);
    };
    map.once('idle', onIdle);
    map.triggerRepaint();
  });
}

export function formatHazardValue(value, unit) {
  const text = decimalFormat.format(value);
  return unit && unit !== 'class' ? `${text} ${hazardUnit(unit)}` : text;
}

/** The legend of the shown raster's colour ramp: a gradient with its stops, or class boxes. */
export function buildHazardLegend(legend) {
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
export async function showHazard() {
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

export async function initHazardLayer() {
  try {
    await loadHazardCatalogue();
  } catch (error) {
    setStatus(`${t.hazard.error} ${error.message}`, true);
    console.error('sinhke map:', error);
  }
  // a shared link's raster and opacity (a raster no longer listed is ignored)
  if (initialState.hazard && hazardCatalogue.has(initialState.hazard)) hazardSelect.value = initialState.hazard;
  if (initialState.opacity !== undefined) hazardOpacity.value = String(initialState.opacity);
  hazardSelect.addEventListener('change', showHazard);
  hazardOpacity.addEventListener('input', applyHazardOpacity);
  applyHazardOpacity();
  if (hazardSelect.value) showHazard();
}
