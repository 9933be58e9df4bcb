import { config } from './config.js';
import { DEFAULT_INDICATOR, INDICATORS } from './indicators.js';

// ---------------------------------------------------------------------------
// Controls

/** The year slider: its value is a year; it snaps to the nearest year with a survey. */
export const yearSlider = document.getElementById('year-slider');
export const yearOutput = document.getElementById('year-value');
export const boundarySelect = document.getElementById('boundary-select');
export const indicatorSelect = document.getElementById('indicator-select');
/** The level coloured: communes, districts (legacy boundaries only) or the province. */
export const levelSelect = document.getElementById('level-select');
export const LEVELS = ['commune', 'district', 'province'];
export const toggles = Array.from(document.querySelectorAll('input[data-layer-group]'));

const surveyYears = config.years.map(Number).sort((a, b) => a - b);

/** The survey year nearest `value` (the slider's range may span years without a survey). */
export function nearestYear(value) {
  if (!surveyYears.length) return null;
  return surveyYears.reduce((best, year) => (Math.abs(year - value) < Math.abs(best - value) ? year : best));
}

/** Sets the slider (and the year shown beside it) to a survey year. */
export function setYear(year) {
  const snapped = nearestYear(Number(year));
  if (snapped === null) return;
  yearSlider.value = String(snapped);
  yearSlider.setAttribute('aria-valuetext', String(snapped));
  yearOutput.textContent = String(snapped);
}

yearSlider.addEventListener('input', () => setYear(yearSlider.value));

export function currentSelection() {
  const boundaries = boundarySelect.value === 'legacy' ? 'legacy' : 'current';
  let level = LEVELS.includes(levelSelect.value) ? levelSelect.value : 'commune';
  // districts were abolished on 1 July 2025: the 2025 boundaries have none
  if (level === 'district' && boundaries !== 'legacy') level = 'commune';
  return {
    year: nearestYear(Number(yearSlider.value)) || config.defaultYear || null,
    boundaries,
    indicator: INDICATORS[indicatorSelect.value] ? indicatorSelect.value : DEFAULT_INDICATOR,
    level,
  };
}

/** The district option is offered with the legacy boundaries only; a chosen one falls back to communes. */
export function syncLevelOptions() {
  const legacy = boundarySelect.value === 'legacy';
  const district = levelSelect.querySelector("option[value='district']");
  district.disabled = !legacy;
  if (!legacy && levelSelect.value === 'district') levelSelect.value = 'commune';
}

/** The layer groups whose toggle is on. */
export function checkedGroups() {
  return toggles.filter((toggle) => toggle.checked).map((toggle) => toggle.dataset.layerGroup);
}
