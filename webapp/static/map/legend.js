import { element, fill, t, term } from './config.js';
import { compactFormat, decimalFormat, integerFormat } from './format.js';
import { CLUSTER_COLOURS, DEFAULT_INDICATOR, FILL_OPACITY, INDICATORS, MODEL_COLOURS, NO_DATA_COLOUR, RISK_COLOURS, UNIT_OF_KIND, WATER_COLOURS, WEAK_OPACITY, WORK_COLOURS } from './indicators.js';
import { symbolCanvas } from './symbols.js';

// ---------------------------------------------------------------------------
// Legends

export function legendItem(swatch, label) {
  const item = element('li');
  item.append(swatch, element('span', null, label));
  return item;
}

export function colourBox(colour) {
  const box = element('span', 'legend-box');
  box.style.backgroundColor = colour;
  return box;
}

/** Legend labels of an indicator's classes (one per colour). */
export function classLabels(name) {
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

/** The choropleth's label: "Poverty rate by commune (%)", or by district, or the whole province. */
export function indicatorLabel(name, level = 'commune') {
  const label = level === 'commune' ? t.layer_label[name] : fill(t.level_label[level], { indicator: t.indicator[name] });
  return `${label} (${UNIT_OF_KIND[INDICATORS[name].kind]()})`;
}

export function buildIndicatorLegend(name, level = 'commune') {
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
  document.getElementById('communes-label').textContent = indicatorLabel(name, level);
}

/** A cluster's swatch as the map draws it: a disc in the layer's colour with a count. */
export function clusterSwatch(colour) {
  const disc = element('span', 'legend-cluster', '5');
  disc.style.backgroundColor = colour;
  disc.setAttribute('aria-hidden', 'true');
  return disc;
}

export function buildLegends() {
  buildIndicatorLegend(DEFAULT_INDICATOR);

  const models = document.getElementById('legend-models');
  for (const [key, colour] of Object.entries(MODEL_COLOURS)) {
    models.append(legendItem(symbolCanvas('circle', colour).canvas, term('model_type', key)));
  }
  models.append(legendItem(symbolCanvas('area', MODEL_COLOURS.medicinal_plant).canvas, t.legend.plot));
  models.append(legendItem(clusterSwatch(CLUSTER_COLOURS.models), t.legend.cluster));

  const works = document.getElementById('legend-works');
  for (const [key, colour] of Object.entries(WORK_COLOURS)) {
    works.append(legendItem(symbolCanvas('square', colour).canvas, term('work_type', key)));
  }
  works.append(legendItem(symbolCanvas('line', WORK_COLOURS.road).canvas, t.legend.line));
  works.append(legendItem(clusterSwatch(CLUSTER_COLOURS.works), t.legend.cluster));

  const water = document.getElementById('legend-water');
  for (const [key, colour] of Object.entries(WATER_COLOURS)) {
    water.append(legendItem(symbolCanvas('drop', colour).canvas, term('water_status', key)));
  }
  water.append(legendItem(clusterSwatch(CLUSTER_COLOURS.water), t.legend.cluster));

  const risk = document.getElementById('legend-risk');
  for (const [key, colour] of Object.entries(RISK_COLOURS)) {
    risk.append(legendItem(symbolCanvas('circle', colour).canvas, term('reason', key)));
  }
  risk.append(legendItem(clusterSwatch(CLUSTER_COLOURS.risk), t.legend.cluster));
}
