// The map's "as a table" link follows the map's indicator, year, level and boundaries (the indicator
// page shows the same figures sortable, with CSV/XLSX downloads). Effects and exposure are not
// indicators of /api/indicators: for them the link opens the poverty rate of the same year.

const TABLE_INDICATORS = new Set([
  'poverty_rate', 'near_poor_rate', 'households', 'poor', 'near_poor', 'mean_income', 'median_income',
  'mean_income_change', 'median_income_change', 'mean_income_change_real', 'escaped_poverty',
  'escaped_poverty_rate', 'fell_back', 'newly_poor', 'near_poor_reduction_rate',
]);

const link = document.getElementById('indicator-table-link');
const indicator = document.getElementById('indicator-select');
const year = document.getElementById('year-slider');
const boundaries = document.getElementById('boundary-select');
const level = document.getElementById('level-select');

function update() {
  if (!link) return;
  const url = new URL(link.getAttribute('href'), window.location.href);
  const params = new URLSearchParams();
  params.set('indicator', indicator && TABLE_INDICATORS.has(indicator.value) ? indicator.value : 'poverty_rate');
  if (year && year.value && !year.disabled) params.set('year', year.value);
  const version = boundaries && boundaries.value === 'legacy' ? 'legacy' : 'current';
  let unit = level && level.value ? level.value : 'commune';
  if (unit === 'district' && version !== 'legacy') unit = 'commune';
  params.set('area', `${unit}:${version}`);
  url.search = params.toString();
  link.href = url.pathname + url.search;
}

for (const control of [indicator, year, boundaries, level]) {
  if (control) control.addEventListener('change', update);
}
// the map may set its controls from a shared link's hash without change events: update before use too
if (link) for (const event of ['focus', 'pointerdown']) link.addEventListener(event, update);
update();
