import { config, element, fill, t } from './config.js';
import { getJSON } from './data.js';
import { formatInteger, formatMoney, formatRate, formatSignedMoney, isNumber } from './format.js';

// ---------------------------------------------------------------------------
// Palettes and layer ids

/** Upper bounds (exclusive) of the poverty-rate classes, in percent. */
export const POVERTY_BREAKS = [2, 5, 10, 20, 40];
/** ColorBrewer OrRd, one colour per class (breaks + 1). */
export const POVERTY_COLOURS = ['#fef0d9', '#fdd49e', '#fdbb84', '#fc8d59', '#e34a33', '#b30000'];
export const NO_DATA_COLOUR = '#c5ccd4';
/** Money classes: income change can be negative (red), gains in greens. */
export const CHANGE_COLOURS = ['#d6604d', '#edf8e9', '#bae4b3', '#74c476', '#31a354', '#006d2c'];

/**
 * The indicators of the choropleth: kind (rate in %, money in VND per person per
 * month, count of households), class breaks (upper bounds, exclusive) and colours
 * (breaks + 1). Change indicators compare a survey round with the previous one, so
 * the first survey year has none.
 */
export const INDICATORS = {
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
export const DEFAULT_INDICATOR = 'poverty_rate';

/**
 * Programme effects: the evaluate_models job's difference-in-differences estimate
 * (ATT, VND per person per month) of participation per 2025 commune, for one model
 * type or any model. Not by year: one estimate over the programme period.
 */
export const EFFECT_BREAKS = [0, 100000, 200000, 300000, 400000];
for (const modelType of ['all', 'cow_bank', 'buffalo_loan', 'free_range_chicken', 'medicinal_plant']) {
  INDICATORS[`effect_${modelType}`] = {
    kind: 'effect', evaluation: modelType, breaks: EFFECT_BREAKS, colours: CHANGE_COLOURS,
  };
}
/** Households exposed to a hazard raster (the exposure job), one indicator per catalogued raster. */
export const EXPOSURE_BREAKS = [1, 5, 10, 20, 40];
export const EXPOSURE_COLOURS = ['#f7fbff', '#c6dbef', '#9ecae1', '#6baed6', '#3182bd', '#08519c'];

/** Adds the exposure indicators of the catalogued rasters to the indicator select. */
export async function addExposureIndicators() {
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
export const WEAK_OPACITY = 0.4;
export const FILL_OPACITY = 0.88;

export const RISK_COLOURS = {
  recently_escaped: '#d95f02',
  near_poor: '#7570b3',
};
export const OTHER_COLOUR = '#6b7280';

export const MODEL_COLOURS = {
  cow_bank: '#6a3d9a',
  buffalo_loan: '#1f78b4',
  free_range_chicken: '#e7298a',
  medicinal_plant: '#1b9e77',
};
export const WORK_COLOURS = {
  road: '#3b3b3b',
  bridge: '#8c510a',
  school: '#2166ac',
  clinic: '#c51b7d',
  irrigation: '#01858f',
  market: '#762a83',
};
export const WATER_COLOURS = {
  functional: '#1a9850',
  partially_functional: '#e6a100',
  not_functional: '#d7191c',
};

/** Colour of the clusters of each point layer (a count in a disc). */
export const CLUSTER_COLOURS = { models: '#5b21b6', works: '#374151', water: '#0e7490', risk: '#b45309' };

/** Layers in each toggle group, bottom to top. */
export const LAYER_GROUPS = {
  communes: ['communes-fill', 'communes-outline', 'communes-selected', 'communes-labels'],
  districts: ['districts-outline'],
  models: ['models-plots', 'models-plots-outline', 'models-points', 'models-clusters', 'models-cluster-counts'],
  works: ['works-areas', 'works-lines', 'works-points', 'works-clusters', 'works-cluster-counts'],
  water: ['water-schemes', 'water-clusters', 'water-cluster-counts'],
  risk: ['risk-points', 'risk-clusters', 'risk-cluster-counts'],
};

/** Clickable layers, the one drawn on top first (a cluster zooms in). */
export const CLICKABLE_LAYERS = [
  'risk-clusters', 'models-clusters', 'works-clusters', 'water-clusters',
  'risk-points', 'models-points', 'works-points', 'water-schemes',
  'works-lines', 'models-plots', 'works-areas', 'communes-fill', 'districts-fill', 'province-fill',
];

export const SOURCE_IDS = ['communes', 'districts', 'province', 'models', 'works', 'water', 'risk'];


/** An indicator's value with its unit, as text; null when there is none. */
export function formatIndicator(name, value) {
  if (!isNumber(value)) return null;
  const spec = INDICATORS[name];
  if (spec.kind === 'rate') return formatRate(value);
  if (spec.kind === 'count') return formatInteger(value);
  const money = spec.change || spec.kind === 'effect' ? formatSignedMoney(value) : formatMoney(value);
  return `${money} ${t.unit.per_person_month}`;
}

export const UNIT_OF_KIND = {
  rate: () => t.unit.percent, money: () => t.unit.money, effect: () => t.unit.money, count: () => t.unit.count,
};
