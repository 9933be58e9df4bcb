import { config } from './config.js';
import { isNumber } from './format.js';
import { INDICATORS } from './indicators.js';

// ---------------------------------------------------------------------------
// Data from the API

export async function getJSON(url) {
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
export async function getAllFeatures(path, params) {
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

export const boundaryCache = new Map();
export const indicatorCache = new Map();

let caller = null;

/** The caller as /api/me describes them (asked once); null when it cannot be had. */
export function me() {
  if (!caller) caller = getJSON(`${config.apiRoot}/me`).catch(() => null);
  return caller;
}

/**
 * What the map needs of a boundary version besides its tiles: the province outline (one
 * feature), how many communes the caller may see, and the first view's extent: around the
 * communes of a scoped caller ([west, south, east, north], computed by the server), else null
 * (the province outline's).
 */
export function boundaryLayers(boundaries) {
  if (!boundaryCache.has(boundaries)) {
    const collection = boundaries === 'legacy' ? 'legacy_communes' : 'communes';
    const request = Promise.all([
      getAllFeatures('/layers/admin_units', { level: 'province', boundaries }),
      collectionCount(collection),
      me(),
    ]).then(([province, communes, who]) => {
      const box = who && !who.sees_everything && who.extent ? who.extent[boundaries] : null;
      return { province, communes, extent: Array.isArray(box) && box.length === 4 ? box : null };
    });
    request.catch(() => boundaryCache.delete(boundaries));
    boundaryCache.set(boundaries, request);
  }
  return boundaryCache.get(boundaries);
}

/** How many features of an OGC API collection the caller may see (its numberMatched). */
export async function collectionCount(collection) {
  const body = await getJSON(`${config.ogcRoot}/collections/${collection}/items?limit=1`);
  return isNumber(body.numberMatched) ? body.numberMatched : null;
}

/** Years an indicator is known to have (from a 400 answer naming them), by indicator. */
export const knownYears = new Map();

/** Whether the indicator cannot have data for the year, without asking the server. */
export function knownMissing(indicator, year) {
  if (knownYears.has(indicator)) return !knownYears.get(indicator).includes(year);
  // a change compares a round with the one before: none for the first survey year
  const first = config.years.length ? Math.min(...config.years.map(Number)) : null;
  return Boolean(INDICATORS[indicator].change) && year === first;
}

/**
 * The indicator's rows for the boundaries, year and level (commune, district, province):
 * {rows, missing}. `missing` is true when the indicator has no data for that year (the API
 * answers 400 naming the year and the allowed years): an expected case, shown as "no data",
 * not an error.
 */
export function indicatorRows(indicator, boundaries, year, level = 'commune') {
  if (INDICATORS[indicator].kind === 'effect') return effectRows(indicator, boundaries, level);
  if (INDICATORS[indicator].exposure !== undefined) return exposureRows(indicator, boundaries, level);
  if (!year) return Promise.resolve({ rows: [], missing: false }); // no survey year loaded yet
  if (knownMissing(indicator, year)) return Promise.resolve({ rows: [], missing: true });
  const key = `${indicator}:${boundaries}:${year}:${level}`;
  if (!indicatorCache.has(key)) {
    const url = new URL(`${config.apiRoot}/indicators`, window.location.href);
    url.search = new URLSearchParams({
      indicator, level, boundaries, year: String(year),
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
export function evaluationRows(modelType, level) {
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
 * estimated on the 2025 communes and the province only, so the legacy boundaries (and
 * their districts) have none.
 */
export async function effectRows(indicator, boundaries, level = 'commune') {
  if (boundaries === 'legacy') return { rows: [], missing: true, reason: 'legacy' };
  const modelType = INDICATORS[indicator].evaluation;
  const [rows, province] = await Promise.all([
    level === 'commune' ? evaluationRows(modelType, 'commune') : Promise.resolve(null),
    evaluationRows(modelType, 'province'),
  ]);
  return { rows: rows || province, missing: false, province: province[0] || null };
}

/** Share of households exposed to the indicator's raster, per unit of a level and boundaries (not by year). */
export function exposureRows(indicator, boundaries, level = 'commune') {
  const key = `${indicator}:${boundaries}:${level}`;
  if (!indicatorCache.has(key)) {
    const url = new URL(`${config.apiRoot}/exposure`, window.location.href);
    url.search = new URLSearchParams({
      raster: String(INDICATORS[indicator].exposure), level, boundaries,
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
