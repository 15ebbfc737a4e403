// format: money (the API's amounts are kopecks), points, percentages (the
// API's basis points) and dates in the clinic's time zone.
import { getLang } from './i18n.js';

let zone = 'UTC';
export function setZone(z) { zone = z || 'UTC'; }
export function getZone() { return zone; }

const locale = () => (getLang() === 'ru' ? 'ru-RU' : 'en-GB');

// money formats kopecks as roubles with kopecks: 1 234,50 ₽.
export function money(kopecks) {
  const n = Number(kopecks) || 0;
  const sign = n < 0 ? '−' : '';
  const abs = Math.abs(n);
  const rub = new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(Math.trunc(abs / 100));
  const kop = String(abs % 100).padStart(2, '0');
  const sep = getLang() === 'ru' ? ',' : '.';
  return `${sign}${rub}${sep}${kop} ₽`;
}

// parseMoney reads roubles ("1500", "1 500,50") as kopecks; NaN if not money.
export function parseMoney(s) {
  const v = String(s).replace(/[\s\u00a0₽]/g, '').replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(v)) return NaN;
  const [r, k = ''] = v.split('.');
  return Number(r) * 100 + Number((k + '00').slice(0, 2));
}

export function rubles(kopecks) {
  const n = Number(kopecks) || 0;
  return n % 100 === 0 ? String(n / 100) : (n / 100).toFixed(2);
}

export function points(n) {
  return new Intl.NumberFormat(locale()).format(Number(n) || 0);
}

// percent shows basis points as a percentage (550 → 5.5 %).
export function percent(bp) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format((Number(bp) || 0) / 100) + ' %';
}
export function bpToPct(bp) { return String((Number(bp) || 0) / 100); }
// parsePct reads "5,5" as 550 basis points; NaN if not a number.
export function parsePct(s) {
  const v = String(s).trim().replace(',', '.').replace('%', '');
  if (v === '' || !/^\d+(\.\d{1,2})?$/.test(v)) return NaN;
  return Math.round(Number(v) * 100);
}

export function date(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, day: 'numeric', month: 'short', year: 'numeric' }).format(new Date(iso));
}
export function dateTime(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}
export function weekdayDate(iso) {
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short' }).format(new Date(iso));
}

// zoneOffset is zone's offset from UTC at instant d, in minutes.
function zoneOffset(d) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(d).map((x) => [x.type, x.value]));
  const asUTC = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUTC - d.getTime()) / 60000);
}

// localToISO reads a datetime-local value as wall time in the clinic's
// zone and answers the RFC 3339 UTC instant.
export function localToISO(v) {
  if (!v) return null;
  const [d, tm] = v.split('T');
  const [y, mo, da] = d.split('-').map(Number);
  const [hh, mi] = (tm || '0:0').split(':').map(Number);
  const guess = Date.UTC(y, mo - 1, da, hh, mi);
  let off = zoneOffset(new Date(guess));
  off = zoneOffset(new Date(guess - off * 60000));
  return new Date(guess - off * 60000).toISOString();
}

// isoToLocal is the datetime-local value of an instant in the clinic's zone.
export function isoToLocal(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const shifted = new Date(d.getTime() + zoneOffset(d) * 60000);
  return shifted.toISOString().slice(0, 16);
}

// today is YYYY-MM-DD in the clinic's zone, days from now.
export function dayInZone(days = 0) {
  const d = new Date(Date.now() + days * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}
