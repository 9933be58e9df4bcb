import { fill, languageTag, t } from './config.js';

// ---------------------------------------------------------------------------
// Formatting (Intl, in the page's language)

export const integerFormat = new Intl.NumberFormat(languageTag, { maximumFractionDigits: 0 });
export const decimalFormat = new Intl.NumberFormat(languageTag, { maximumFractionDigits: 1 });
export const percentFormat = new Intl.NumberFormat(languageTag, {
  style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1,
});
export const moneyFormat = new Intl.NumberFormat(languageTag, {
  style: 'currency', currency: 'VND', maximumFractionDigits: 0,
});
export const dateFormat = new Intl.DateTimeFormat(languageTag, { dateStyle: 'medium', timeZone: 'UTC' });

export const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);
export const formatInteger = (value) => (isNumber(value) ? integerFormat.format(value) : null);
export const formatRate = (percent) => (isNumber(percent) ? percentFormat.format(percent / 100) : null);
export const formatMoney = (value) => (isNumber(value) ? moneyFormat.format(value) : null);
export const signedMoneyFormat = new Intl.NumberFormat(languageTag, {
  style: 'currency', currency: 'VND', maximumFractionDigits: 0, signDisplay: 'exceptZero',
});
export const pValueFormat = new Intl.NumberFormat(languageTag, { minimumFractionDigits: 2, maximumFractionDigits: 3 });
export const compactFormat = new Intl.NumberFormat(languageTag, { notation: 'compact', maximumFractionDigits: 1 });
export const formatSignedMoney = (value) => (isNumber(value) ? signedMoneyFormat.format(value) : null);

export function formatDate(value) {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) return value ?? null;
  const date = new Date(`${value.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? value : dateFormat.format(date);
}


/** An estimate's 95 % interval as text, e.g. "+231.000 ₫ to +276.000 ₫". */
export function formatInterval(low, high) {
  if (!isNumber(low) || !isNumber(high)) return null;
  return fill(t.effect.interval_value, { low: formatSignedMoney(low), high: formatSignedMoney(high) });
}

/** Whether an estimate's interval includes 0 (the data cannot tell the effect from none). */
export const includesZero = (row) => isNumber(row.ci_low) && isNumber(row.ci_high) && row.ci_low <= 0 && row.ci_high >= 0;
