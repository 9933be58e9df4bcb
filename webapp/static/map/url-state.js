/*
 * The map's view in the URL's hash, so a map can be shared and survives a reload:
 *   #map=ZOOM/LAT/LNG&year=2024&indicator=poverty_rate&boundaries=current&layers=communes,models
 * Read once when the page opens (the values are checked; anything unknown is ignored) and
 * replaced (not pushed: the back button leaves the page) whenever the view changes.
 */

import { config } from './config.js';

const LAYER_GROUP = /^[a-z]+$/;
const INDICATOR = /^[a-z0-9_]+$/;

function readView(raw) {
  const parts = (raw || '').split('/').map(Number);
  if (parts.length !== 3 || !parts.every(Number.isFinite)) return null;
  const [zoom, lat, lng] = parts;
  if (zoom < 0 || zoom > 22 || Math.abs(lat) > 85 || Math.abs(lng) > 180) return null;
  return { zoom, center: [lng, lat] };
}

/** What the hash asks for: {view, year, indicator, boundaries, layers}, each only if valid. */
export function readHash(hash = window.location.hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const state = {};
  const view = readView(params.get('map'));
  if (view) state.view = view;
  const year = Number(params.get('year'));
  if (config.years.map(Number).includes(year)) state.year = year;
  const boundaries = params.get('boundaries');
  if (boundaries === 'current' || boundaries === 'legacy') state.boundaries = boundaries;
  const indicator = params.get('indicator');
  if (indicator && INDICATOR.test(indicator)) state.indicator = indicator;
  if (params.has('layers')) {
    state.layers = new Set(params.get('layers').split(',').filter((group) => LAYER_GROUP.test(group)));
  }
  return state;
}

/** The state as the page opened. */
export const initialState = readHash();

/** Replaces the hash with the map's view and the panel's selection. */
export function writeHash(map, selection, visibleGroups) {
  const { lng, lat } = map.getCenter();
  const zoom = map.getZoom();
  // about a metre at the zoom shown: a shorter URL that reopens the same view
  const digits = Math.max(2, Math.ceil(Math.log10(2 ** zoom)) + 1);
  const parts = [`map=${zoom.toFixed(2)}/${lat.toFixed(digits)}/${lng.toFixed(digits)}`];
  if (selection.year) parts.push(`year=${selection.year}`);
  parts.push(`indicator=${selection.indicator}`, `boundaries=${selection.boundaries}`);
  parts.push(`layers=${visibleGroups.join(',')}`);
  const url = `${window.location.pathname}${window.location.search}#${parts.join('&')}`;
  if (url !== `${window.location.pathname}${window.location.search}${window.location.hash}`) {
    window.history.replaceState(window.history.state, '', url);
  }
}
