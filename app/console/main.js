// main: sign-in, the shell (navigation by role, language, sign-out) and the
// hash router. Screens are loaded with import() when first opened.
import { h, mount, field, input, button, showError, formErr } from './dom.js';
import { api, login, logout, refresh, setSignedOutHandler } from './api.js';
import { t, getLang, setLang, languages } from './i18n.js';
import { setZone } from './format.js';
import * as ws from './ws.js';

// The screens, in menu order. roles follow the API's own rules: admins work
// at reception and see the clinic's join code; managers also run the
// program, news, chat, care, ratings, the message policy, staff, reports,
// patients' data exports and the clinic's profile (the API answers 403 to
// an admin there).
const modules = [
  { id: 'reception', roles: ['admin', 'manager'], load: () => import('./screens/reception.js') },
  { id: 'program', roles: ['manager'], load: () => import('./screens/program.js') },
  { id: 'referrals', roles: ['manager'], load: () => import('./screens/referrals.js') },
  { id: 'news', roles: ['manager'], load: () => import('./screens/news.js') },
  { id: 'chat', roles: ['manager'], load: () => import('./screens/chat.js') },
  { id: 'care', roles: ['manager'], load: () => import('./screens/care.js') },
  { id: 'ratings', roles: ['manager'], load: () => import('./screens/ratings.js') },
  { id: 'messages', roles: ['manager'], load: () => import('./screens/messages.js') },
  { id: 'staff', roles: ['manager'], load: () => import('./screens/staff.js') },
  { id: 'reports', roles: ['manager'], load: () => import('./screens/reports.js') },
  { id: 'exports', roles: ['manager'], load: () => import('./screens/exports.js') },
  { id: 'profile', roles: ['admin', 'manager'], load: () => import('./screens/profile.js') },
];

const root = document.getElementById('app');
let session = null; // {clinic, me}
let cleanup = null;
let unread = 0;

function allowed() { return modules.filter((m) => session && m.roles.includes(session.me.role)); }

function langSwitch() {
  const sel = h('select', { 'aria-label': t('language'), class: 'lang', onchange: (e) => { setLang(e.target.value); render(); } },
    languages.map(([v, label]) => h('option', { value: v, selected: v === getLang() }, label)));
  return sel;
}

function loginView(message) {
  const email = input('email', { type: 'email', autocomplete: 'username', required: true });
  const password = input('password', { type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'login panel', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const b = form.querySelector('button[type=submit]');
    b.disabled = true;
    try {
      await login(email.value.trim(), password.value);
      await start();
    } catch (err) {
      showError(form, err, err.code === 'bad_credentials' ? t('login.bad') : null);
    } finally {
      b.disabled = false;
    }
  } },
  h('div', { class: 'brand' }, h('img', { src: 'logo.svg', alt: '', width: 36, height: 36 }), h('h1', null, 'carewallet')),
  h('p', { class: 'muted' }, t('login.lead')),
  field(t('login.email'), email), field(t('login.password'), password),
  formErr(),
  message ? h('p', { class: 'notice' }, message) : null,
  h('div', { class: 'row between' }, langSwitch(), button(t('login.submit'), null, 'primary', 'submit')));
  mount(root, h('main', { class: 'login-page' }, form));
  email.focus();
}

async function start() {
  const c = await api('GET', '/v1/clinic');
  session = { clinic: c.clinic, me: c.me };
  setZone(c.clinic.timezone);
  ws.start();
  // replaceState, not location.hash: no hashchange, so one render.
  if (!location.hash || !allowed().some((m) => location.hash.startsWith('#/' + m.id))) history.replaceState(null, '', '#/' + allowed()[0].id);
  render();
  refreshUnread();
}

async function signOut(message) {
  ws.stop();
  await logout().catch(() => {});
  session = null;
  if (cleanup) { cleanup(); cleanup = null; }
  loginView(message);
}

setSignedOutHandler(() => { if (session) signOut(t('login.expired')); });

async function refreshUnread() {
  if (!session || session.me.role !== 'manager') return;
  try {
    const r = await api('GET', '/v1/clinic/chats', undefined, { query: { unread: 'true', limit: 100 } });
    unread = r.threads.reduce((n, th) => n + th.unread, 0);
  } catch { return; }
  const b = document.querySelector('#nav-chat .badge');
  if (b) { b.textContent = unread ? String(unread) : ''; b.hidden = !unread; }
}

ws.onEvent((ev) => { if (ev.type === 'chat.message') refreshUnread(); });

function shell(current) {
  const nav = h('nav', { class: 'nav', 'aria-label': t('nav') }, allowed().map((m) => h('a', {
    href: '#/' + m.id, id: 'nav-' + m.id, class: m.id === current ? 'active' : '', 'aria-current': m.id === current ? 'page' : null },
  t('nav.' + m.id), m.id === 'chat' ? h('span', { class: 'badge', hidden: !unread }, unread ? String(unread) : '') : null)));
  const main = h('main', { id: 'screen', tabindex: '-1' });
  mount(root, h('header', { class: 'top' },
    h('div', { class: 'brand' }, h('img', { src: 'logo.svg', alt: '', width: 28, height: 28 }), h('strong', null, session.clinic.name)),
    nav,
    h('div', { class: 'who' }, langSwitch(),
      h('span', { class: 'me' }, session.me.name || session.me.email, h('small', null, t('role.' + session.me.role))),
      button(t('signout'), () => signOut(), 'ghost'))), main);
  return main;
}

let renders = 0;

async function render() {
  if (!session) return loginView();
  if (cleanup) { cleanup(); cleanup = null; }
  const mine = ++renders; // a newer render wins; an older one stops
  const id = (location.hash.match(/^#\/([\w-]+)/) || [])[1];
  const m = allowed().find((x) => x.id === id) || allowed()[0];
  const main = shell(m.id);
  document.title = `${t('nav.' + m.id)} · carewallet`;
  main.append(h('p', { class: 'muted' }, t('loading')));
  try {
    const mod = await m.load();
    if (mine !== renders) return;
    const ctx = { clinic: session.clinic, me: session.me, params: location.hash.split('/').slice(2), refreshUnread };
    main.replaceChildren();
    const done = (await mod.render(main, ctx)) || null;
    if (mine !== renders) { if (done) done(); return; }
    cleanup = done;
  } catch (err) {
    mount(main, h('p', { class: 'err' }, err.message || String(err)));
  }
}

window.addEventListener('hashchange', () => { if (session) render(); });

(async () => {
  try {
    if (await refresh()) return await start();
  } catch { /* offline: sign in */ }
  loginView();
})();
