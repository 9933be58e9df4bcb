import { config, element, fill, maplibregl, t, term } from './config.js';
import { getJSON } from './data.js';
import { decimalFormat, formatDate, formatInteger, formatInterval, formatMoney, formatSignedMoney, isNumber, percentFormat, pValueFormat } from './format.js';
import { CLICKABLE_LAYERS, formatIndicator, INDICATORS } from './indicators.js';
import { map, TILE_LAYERS } from './layers.js';
import { currentSelection } from './state.js';

// ---------------------------------------------------------------------------
// Popups

// closeOnClick is off: the map's click handler below closes or replaces the popup itself
export const popup = new maplibregl.Popup({
  closeButton: true, closeOnClick: false, maxWidth: '22rem', focusAfterOpen: false,
});
export let selectedCommune = null;

popup.on('close', () => selectCommune(null));

export function selectCommune(code) {
  if (selectedCommune !== null) {
    map.setFeatureState({ source: 'communes', sourceLayer: TILE_LAYERS.communes, id: selectedCommune }, { selected: false });
  }
  selectedCommune = code;
  if (code !== null) map.setFeatureState({ source: 'communes', sourceLayer: TILE_LAYERS.communes, id: code }, { selected: true });
}

export function popupContent(kind, title, fields, note) {
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

export function share(part, whole, format = formatMoney) {
  if (!isNumber(part)) return null;
  if (!isNumber(whole) || whole <= 0) return format(part);
  return `${format(part)} (${percentFormat.format(part / whole)})`;
}

/** What an area of a choropleth is, by its source: commune, (legacy) district or province. */
export function areaKind(feature) {
  if (feature.source === 'districts') return t.kind.district;
  if (feature.source === 'province') return t.kind.province;
  return t.kind.commune;
}

export function communeTitle(p) {
  return p.unit_type && !String(p.name).startsWith(p.unit_type) ? `${p.unit_type} ${p.name}` : p.name;
}

/** A commune's programme-effect estimate: the estimate, its 95 % interval and n. */
export function effectPopup(feature, name) {
  const p = feature.properties;
  const s = feature.state || {};
  let note = null;
  if (s.status === 'insufficient_sample') note = t.effect.insufficient;
  else if (s.status === null || s.status === undefined) note = t.effect.none;
  else if (s.weak) note = t.effect.weak_note;
  return areaLink(popupContent(areaKind(feature), communeTitle(p), [
    [t.field.code, p.code],
    [t.indicator[name], formatIndicator(name, s.value) ?? t.no_data],
    [t.effect.interval, formatInterval(s.ci_low, s.ci_high)],
    [t.effect.n_treated, formatInteger(s.n_treated)],
    [t.effect.n_control, formatInteger(s.n_control)],
    [t.effect.pretest, isNumber(s.pretest_p) ? pValueFormat.format(s.pretest_p) : null],
    [t.effect.method_label, t.effect.method],
  ], note), p.code);
}

export function communePopup(feature) {
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
  return areaLink(popupContent(areaKind(feature), communeTitle(p), [
    [t.field.code, p.code],
    [t.indicator[name], formatIndicator(name, s.value) ?? t.no_data],
    counts || [null, null],
    [t.field.year, year === null ? null : `${year}${since}`],
    [t.field.area_type, term('area_type', p.area_type)],
  ], s.estimated ? t.estimated_note : null), p.code);
}

/** A list property of a rendered feature: the tiles hold lists as comma-separated text. */
export function listProperty(value) {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' && !value.startsWith('[')) return value ? value.split(',') : [];
  try {
    const parsed = JSON.parse(value || '[]');
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

export function riskPopup(feature) {
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
export function areaLink(root, code) {
  const link = element('a', 'popup-link', t.area.open);
  link.href = `${t.area.url.replace('__code__', encodeURIComponent(code))}?boundaries=${currentSelection().boundaries}`;
  root.append(link);
  return root;
}

/**
 * An asset's exposure to each hazard raster (the exposure job), added to its popup once
 * loaded: the value at the asset and the share of its zone beyond the threshold.
 */
export function appendExposure(root, kind, code) {
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

export function modelPopup(feature) {
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

export function workPopup(feature) {
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

export function waterPopup(feature) {
  const p = feature.properties;
  const capacity = isNumber(p.capacity_m3_day) ? `${decimalFormat.format(p.capacity_m3_day)} ${t.unit.m3_per_day}` : null;
  return appendExposure(popupContent(t.kind.water, p.name, [
    [t.field.code, p.code],
    [t.field.status, term('water_status', p.status)],
    [t.field.technology, term('technology', p.technology)],
    [t.field.capacity, capacity],
    [t.field.install_year, p.install_year],
    [t.field.households_served, formatInteger(p.households_served)],
    [t.field.commune, p.commune],
  ]), 'water_scheme', p.code);
}

export const POPUP_BUILDERS = {
  communes: communePopup,
  districts: communePopup,
  province: communePopup,
  models: modelPopup,
  works: workPopup,
  water: waterPopup,
  risk: riskPopup,
};

export function visibleClickableLayers() {
  return CLICKABLE_LAYERS.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
}

map.on('click', (event) => {
  const [feature] = map.queryRenderedFeatures(event.point, { layers: visibleClickableLayers() });
  if (!feature) {
    popup.remove();
    return;
  }
  if (isNumber(feature.properties.point_count)) {
    // a cluster: closer, its points come apart
    popup.remove();
    map.easeTo({ center: feature.geometry.coordinates, zoom: Math.min(map.getZoom() + 2, 14) });
    return;
  }
  const content = POPUP_BUILDERS[feature.source](feature);
  popup.remove();
  popup.setLngLat(event.lngLat).setDOMContent(content).addTo(map);
  selectCommune(feature.source === 'communes' ? feature.id : null);
  keepPopupInside();
  // an asset's exposure arrives later and makes the popup taller
  new ResizeObserver(() => keepPopupInside()).observe(content);
});

// Escape closes the popup (it may cover what the user wants to click next)
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && popup.isOpen()) popup.remove();
});

/** Room kept between a popup and the edges of the map (px). */
const POPUP_MARGIN = 10;

/**
 * Keeps the open popup inside the map, so inside the screen and below the page header: it is
 * never taller or wider than the map (it scrolls instead), and the map is panned when it sticks out.
 */
export function keepPopupInside() {
  const node = popup.isOpen() && popup.getElement();
  if (!node) return;
  const box = map.getContainer().getBoundingClientRect();
  const content = node.querySelector('.maplibregl-popup-content');
  content.style.maxHeight = `${Math.max(120, box.height - 2 * POPUP_MARGIN - 16)}px`;
  content.style.maxWidth = `${Math.max(160, box.width - 2 * POPUP_MARGIN)}px`;
  const rect = node.getBoundingClientRect();
  let dx = 0;
  let dy = 0;
  if (rect.top < box.top + POPUP_MARGIN) dy = rect.top - box.top - POPUP_MARGIN;
  else if (rect.bottom > box.bottom - POPUP_MARGIN) dy = rect.bottom - box.bottom + POPUP_MARGIN;
  if (rect.left < box.left + POPUP_MARGIN) dx = rect.left - box.left - POPUP_MARGIN;
  else if (rect.right > box.right - POPUP_MARGIN) dx = rect.right - box.right + POPUP_MARGIN;
  if (dx || dy) map.panBy([dx, dy], { animate: false });
}

map.on('mousemove', (event) => {
  const [hit] = map.queryRenderedFeatures(event.point, { layers: visibleClickableLayers() });
  const canvas = map.getCanvas();
  canvas.style.cursor = hit ? 'pointer' : '';
  const count = hit && hit.properties.point_count;
  canvas.title = isNumber(count) ? fill(t.cluster, { n: formatInteger(count) }) : '';
});
