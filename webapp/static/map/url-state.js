/*
 * The map's view in the URL's hash, so a map can be shared and survives a reload:
 *   #map=ZOOM/LAT/LNG&year=2024&indicator=poverty_rate&boundaries=current&level=commune
 *   &layers=communes,models&hazard=3&opacity=75
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

/** What the hash asks for: {view, year, indicator, boundaries, level, layers, hazard, opacity}, each only if valid. */
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
  const level = params.get('level');
  if (level === 'commune' || level === 'district' || level === 'province') state.level = level;
  const hazard = params.get('hazard');
  if (hazard && /^[1-9][0-9]{0,8}$/.test(hazard)) state.hazard = hazard;
  const opacity = Number(params.get('opacity'));
  if (params.has('opacity') && Number.isInteger(opacity) && opacity >= 0 && opacity <= 100) state.opacity = opacity;
  if (params.has('layers')) {
    state.layers = new Set(params.get('layers').split(',').filter((group) => LAYER_GROUP.test(group)));
  }
  return state;
}

/** The state as the page opened. */
export const initialState = readHash();

/** Replaces the hash with the map's view and the panel's selection (hazard: {id, opacity} or null). */
export function writeHash(map, selection, visibleGroups, hazard = null) {
  const { lng, lat } = map.getCenter();
  const zoom = map.getZoom();
  // about a metre at the zoom shown: a shorter URL that reopens the same view
  const digits = Math.max(2, Math.ceil(Math.log10(2 ** zoom)) + 1);
  const parts = [`map=${zoom.toFixed(2)}/${lat.toFixed(digits)}/${lng.toFixed(digits)}`];
  if (selection.year) parts.push(`year=${selection.year}`);
  parts.push(`indicator=${selection.indicator}`, `boundaries=${selection.boundaries}`, `level=${selection.level}`);
  parts.push(`layers=${visibleGroups.join(',')}`);
  if (hazard && hazard.id) parts.push(`hazard=${hazard.id}`, `opacity=${hazard.opacity}`);
  const url = `${window.location.pathname}${window.location.search}#${parts.join('&')}`;
  if (url !== `${window.location.pathname}${window.location.search}${window.location.hash}`) {
    window.history.replaceState(window.history.state, '', url);
  }
}
