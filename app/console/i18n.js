// i18n: one catalogue per language (i18n/ru.js, i18n/en.js). The language
// comes from the browser (navigator.languages) until the user picks one;
// the pick is remembered in localStorage (a preference, never a token).
import ru from './i18n/ru.js';
import en from './i18n/en.js';

const catalogues = { ru, en };
export const languages = [['ru', 'Русский'], ['en', 'English']];
const KEY = 'carewallet.console.lang';

function pick() {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved && catalogues[saved]) return saved;
  } catch { /* storage may be off */ }
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).slice(0, 2).toLowerCase();
    if (catalogues[base]) return base;
  }
  return 'en';
}

let lang = pick();
document.documentElement.lang = lang;

export function getLang() { return lang; }

export function setLang(l) {
  if (!catalogues[l]) return;
  lang = l;
  document.documentElement.lang = l;
  try { localStorage.setItem(KEY, l); } catch { /* ignore */ }
}

// t translates key, filling {name} from vars.
export function t(key, vars) {
  let s = catalogues[lang][key] ?? catalogues.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}
