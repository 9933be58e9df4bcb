import { config } from './config.js';
import { DEFAULT_INDICATOR, INDICATORS } from './indicators.js';

// ---------------------------------------------------------------------------
// Controls

export const yearSelect = document.getElementById('year-select');
export const boundarySelect = document.getElementById('boundary-select');
export const indicatorSelect = document.getElementById('indicator-select');
export const toggles = Array.from(document.querySelectorAll('input[data-layer-group]'));

export function currentSelection() {
  return {
    year: Number(yearSelect.value) || config.defaultYear || null,
    boundaries: boundarySelect.value === 'legacy' ? 'legacy' : 'current',
    indicator: INDICATORS[indicatorSelect.value] ? indicatorSelect.value : DEFAULT_INDICATOR,
  };
}
