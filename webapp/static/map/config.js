/* The page's configuration (data- attributes of #map), its strings (#map-i18n) and DOM helpers. */

export const maplibregl = window.maplibregl;

export const mapElement = document.getElementById('map');
export const config = {
  years: JSON.parse(mapElement.dataset.years || '[]'),
  defaultYear: Number(mapElement.dataset.defaultYear),
  locale: mapElement.dataset.locale === 'en' ? 'en' : 'vi',
  apiRoot: mapElement.dataset.apiRoot || '/api',
  tilesRoot: mapElement.dataset.tilesRoot || '/tiles',
  ogcRoot: mapElement.dataset.ogcRoot || '/ogc',
  searchUrl: mapElement.dataset.searchUrl || '/api/search',
  /** A MapLibre style URL drawn under our layers (SINHKE_BASEMAP_STYLE_URL); empty: our own. */
  basemapStyle: mapElement.dataset.basemapStyle || '',
};
export const t = JSON.parse(document.getElementById('map-i18n').textContent);
export const languageTag = config.locale === 'en' ? 'en-GB' : 'vi-VN';

/** "{name}" placeholders filled from an object; the result is plain text. */
export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

/** A vocabulary term in the page's language, or the raw value when unknown. */
export function term(vocabulary, value) {
  if (value === undefined || value === null || value === '') return null;
  return (t[vocabulary] && t[vocabulary][value]) || String(value);
}

// ---------------------------------------------------------------------------
// Small DOM helpers: every piece of data goes in through textContent.

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export const statusElement = document.getElementById('map-status');
export const summaryElement = document.getElementById('map-summary');

export function setStatus(message, isError = false) {
  statusElement.textContent = message || '';
  statusElement.classList.toggle('is-error', Boolean(isError));
}

export function setReady(ready, selection) {
  document.body.dataset.mapReady = ready ? '1' : '0';
  if (ready && selection) {
    document.body.dataset.mapBoundaries = selection.boundaries;
    document.body.dataset.mapYear = String(selection.year);
    document.body.dataset.mapIndicator = selection.indicator;
    document.body.dataset.mapLevel = selection.level;
  }
}
