// Care: the scenarios (on/off, text with placeholders, the birthday's
// days_before, status with reasons), the services' texts (list, edit one,
// CSV price-list upload), review sites and the care report with a chart.
import { h, mount, field, input, button, showError, clearErrors, formErr, card, table } from '../dom.js';
import { api, upload } from '../api.js';
import { t } from '../i18n.js';
import { dateTime, points, dayInZone } from '../format.js';
import { bars } from '../chart.js';

const tabs = ['scenarios', 'services', 'sites', 'report'];

export async function render(main, ctx) {
  const tab = tabs.includes(ctx.params[0]) ? ctx.params[0] : 'scenarios';
  const body = h('div');
  mount(main, h('h1', null, t('nav.care')),
    h('nav', { class: 'tabs' }, tabs.map((x) => h('a', { href: '#/care/' + x, id: 'care-tab-' + x, class: x === tab ? 'active' : '' }, t('care.' + x)))), body);
  await ({ scenarios, services, sites, report })[tab](body);
}

function statusTag(s) {
  return h('span', { class: 'tag st-' + s.status, dataset: { status: s.status } }, t('care.st.' + s.status));
}

async function scenarios(body) {
  const r = await api('GET', '/v1/clinic/care');
  mount(body, h('p', { class: 'muted' }, t('care.lead')), r.scenarios.map(scenarioForm));
}

function scenarioForm(s) {
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: s.enabled });
  const text = h('textarea', { name: 'text', rows: 3 });
  text.value = s.text;
  const days = s.scenario === 'birthday' ? input('days_before', { inputmode: 'numeric', value: String(s.days_before || 0) }) : null;
  const status = h('div', { class: 'care-status' });
  const ok = h('span', { class: 'ok', role: 'status' });
  const show = (v) => {
    mount(status, statusTag(v), v.reasons.length ? h('ul', { class: 'reasons' }, v.reasons.map((x) => h('li', null, x))) : null);
  };
  show(s);
  const f = h('form', { class: 'panel scenario', id: 'scenario-' + s.scenario, dataset: { scenario: s.scenario }, novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors(f);
    ok.textContent = '';
    const b = { enabled: enabled.checked, text: text.value };
    if (days) {
      const n = Number(days.value);
      if (days.value.trim() === '' || !Number.isInteger(n)) return showError(f, { field: 'days_before', message: t('err.number') });
      b.days_before = n;
    }
    try {
      const v = await api('PUT', '/v1/clinic/care/' + encodeURIComponent(s.scenario), b);
      enabled.checked = v.enabled;
      text.value = v.text;
      show(v);
      ok.textContent = t('saved');
    } catch (err) { showError(f, err); }
  } },
  h('div', { class: 'row between' }, h('h2', null, t('care.sc.' + s.scenario)), status),
  h('p', { class: 'muted' }, t('care.window', { w: s.window })),
  h('label', { class: 'check' }, enabled, t('care.enabled')),
  field(t('care.text'), text, t('care.placeholders')),
  h('details', null, h('summary', null, t('care.default')), h('p', { class: 'pre' }, s.default_text)),
  days ? field(t('care.days_before'), days, t('care.days_hint')) : null,
  formErr(), h('div', { class: 'row' }, button(t('save'), null, 'primary', 'submit'), ok));
  return f;
}

async function services(body) {
  const list = h('div', { id: 'services' });
  const edit = h('div');
  const file = h('input', { type: 'file', name: 'csv', accept: '.csv,text/csv' });
  const upl = h('form', { class: 'panel', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors(upl);
    if (!file.files.length) return showError(upl, { field: 'csv', message: t('care.csv.pick') });
    try {
      const r = await upload('POST', '/v1/clinic/services.csv', file.files[0], 'text/csv');
      upl.querySelector('.ok').textContent = t('care.csv.done', { n: points(r.imported) });
      await load();
    } catch (err) { showError(upl, { message: err.message }); } // the message names the line
  } }, h('h2', null, t('care.csv')), h('p', { class: 'muted' }, t('care.csv.lead')),
  field(t('care.csv.file'), file), formErr(), h('div', { class: 'row' }, button(t('care.csv.upload'), null, 'primary', 'submit'), h('span', { class: 'ok' })));
  mount(body, upl, edit, card(t('care.services'), h('div', { class: 'row' }, button(t('care.svc.new'), () => serviceForm(edit, null, load))), list));
  async function load(after) {
    const r = await api('GET', '/v1/clinic/services', undefined, { query: { after, limit: 100 } });
    const tb = table([
      [t('care.svc.code'), (x) => x.code], [t('care.svc.name'), (x) => x.name],
      [t('care.svc.before'), (x) => x.before_text], [t('care.svc.after'), (x) => x.after_text],
      [t('when'), (x) => dateTime(x.updated_at)], ['', (x) => button(t('edit'), () => serviceForm(edit, x, load), 'small')],
    ], r.services, t('care.svc.none'));
    if (after) list.append(tb); else mount(list, tb);
    if (r.next) list.append(button(t('rep.more'), (e) => { e.target.remove(); load(r.next); }, 'ghost'));
  }
  await load();
}

function serviceForm(box, s, reload) {
  const code = input('code', { value: s ? s.code : '', readonly: !!s });
  const name = input('name', { value: s ? s.name : '' });
  const before = h('textarea', { name: 'before_text', rows: 2 }); before.value = s ? s.before_text : '';
  const after = h('textarea', { name: 'after_text', rows: 2 }); after.value = s ? s.after_text : '';
  const f = h('form', { class: 'panel', id: 'service-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors(f);
    if (!code.value.trim()) return showError(f, { field: 'code', message: t('care.svc.needcode') });
    try {
      await api('PUT', '/v1/clinic/services/' + encodeURIComponent(code.value.trim()), { name: name.value.trim(), before_text: before.value.trim(), after_text: after.value.trim() });
      f.remove();
      await reload();
    } catch (err) { showError(f, err); }
  } }, h('h2', null, s ? t('care.svc.edit', { c: s.code }) : t('care.svc.new')),
  h('div', { class: 'grid2' }, field(t('care.svc.code'), code), field(t('care.svc.name'), name)),
  field(t('care.svc.before'), before), field(t('care.svc.after'), after),
  formErr(), h('div', { class: 'row' }, button(t('save'), null, 'primary', 'submit'), button(t('cancel'), () => f.remove())));
  mount(box, f);
  (s ? name : code).focus();
}

async function sites(body) {
  const r = await api('GET', '/v1/clinic/review-sites');
  const rows = h('div', { class: 'lines' });
  const addRow = (s) => {
    const i = rows.children.length;
    rows.append(h('div', { class: 'line grid3' },
      field(t('care.site.name'), input(`[${i}].name`, { value: s ? s.name : '' })),
      field(t('care.site.url'), input(`[${i}].url`, { type: 'url', value: s ? s.url : '', placeholder: 'https://' })),
      h('div', { class: 'field' }, h('label', null, '\u00a0'), button('−', (e) => e.target.closest('.line').remove(), 'ghost'))));
  };
  r.sites.forEach(addRow);
  if (!r.sites.length) addRow();
  const ok = h('span', { class: 'ok' });
  const f = h('form', { class: 'panel', id: 'sites', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors(f);
    ok.textContent = '';
    // Empty rows go; the rest are renumbered so error.field ([1].url)
    // names the row the manager sees.
    for (const row of [...rows.children]) if ([...row.querySelectorAll('input')].every((x) => !x.value.trim())) row.remove();
    const list = [...rows.children].map((row) => row.querySelectorAll('input')).map(([n, u]) => ({ name: n.value.trim(), url: u.value.trim() }));
    [...rows.children].forEach((row, i) => { const [n, u] = row.querySelectorAll('input'); n.name = `[${i}].name`; u.name = `[${i}].url`; row.querySelectorAll('.err').forEach((el, j) => { el.dataset.errFor = j ? `[${i}].url` : `[${i}].name`; }); });
    try {
      await api('PUT', '/v1/clinic/review-sites', list);
      ok.textContent = t('saved');
    } catch (err) { showError(f, err); }
  } }, h('h2', null, t('care.sites')), h('p', { class: 'muted' }, t('care.sites.lead')), rows,
  button(t('care.site.add'), () => addRow(), 'ghost small'), formErr(), h('div', { class: 'row' }, button(t('save'), null, 'primary', 'submit'), ok));
  mount(body, f);
}

async function report(body) {
  const from = input('from', { type: 'date', value: dayInZone(-30) });
  const to = input('to', { type: 'date', value: dayInZone(0) });
  const out = h('div');
  const f = h('form', { class: 'row filters', novalidate: true, onsubmit: (e) => { e.preventDefault(); load(); } },
    field(t('rep.from'), from), field(t('rep.to'), to), button(t('rep.show'), null, 'primary', 'submit'), formErr());
  mount(body, card(t('care.report'), f, out));
  async function load() {
    try {
      const r = await api('GET', '/v1/clinic/care/report', undefined, { query: { from: from.value, to: to.value } });
      const sum = (o) => Object.values(o || {}).reduce((a, b) => a + b, 0);
      const rows = r.scenarios;
      mount(out, rows.length ? bars(rows.map((x) => t('care.sc.' + x.scenario)), [
        { label: t('care.sent'), values: rows.map((x) => x.sent) },
        { label: t('care.skipped'), values: rows.map((x) => sum(x.skipped)) },
        { label: t('care.dropped'), values: rows.map((x) => x.dropped) },
      ], points) : null,
      table([
        [t('care.scenario'), (x) => t('care.sc.' + x.scenario)], [t('care.sent'), (x) => points(x.sent), 'num'],
        [t('care.skipped'), (x) => pairs(x.skipped)], [t('care.dropped'), (x) => points(x.dropped), 'num'],
        [t('care.effect'), (x) => pairs(x.effect)],
      ], rows, t('rep.empty')));
    } catch (err) { showError(f, err); }
  }
  await load();
}

// pairs shows a reason → count object as "reason: n, …".
function pairs(o) {
  const e = Object.entries(o || {});
  return e.length ? e.map(([k, v]) => `${reason(k)}: ${points(v)}`).join(', ') : '—';
}

function reason(k) {
  const key = 'care.why.' + k.replace(/[^a-z_]/g, '_');
  const s = t(key);
  return s === key ? k : s;
}
