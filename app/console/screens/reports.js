// Reports: totals (and points per week as a chart), journal with filters,
// cards, cards by staff, referrals — each with a CSV download.
import { h, mount, field, input, select, button, showError, formErr, card, table } from '../dom.js';
import { api, download } from '../api.js';
import { t } from '../i18n.js';
import { dateTime, points, dayInZone } from '../format.js';
import { bars } from '../chart.js';

const tabs = ['totals', 'journal', 'cards', 'staff', 'referrals'];
const kinds = ['welcome', 'booking', 'birthday', 'cashback', 'spend', 'refund', 'refund_spend', 'expire', 'adjustment', 'referral', 'referee_bonus'];
let main, staffNames = {};

export async function render(m, ctx) {
  main = m;
  const tab = tabs.includes(ctx.params[0]) ? ctx.params[0] : 'totals';
  const list = await api('GET', '/v1/clinic/staff');
  staffNames = Object.fromEntries(list.staff.map((s) => [s.id, s.name || s.email]));
  const body = h('div');
  mount(main, h('h1', null, t('nav.reports')),
    h('nav', { class: 'tabs' }, tabs.map((x) => h('a', { href: '#/reports/' + x, class: x === tab ? 'active' : '' }, t('rep.' + x)))), body);
  await ({ totals, journal, cards, staff, referrals })[tab](body);
}

function range(onChange) {
  const from = input('from', { type: 'date', value: dayInZone(-30) });
  const to = input('to', { type: 'date', value: dayInZone(0) });
  const f = h('form', { class: 'row filters', novalidate: true, onsubmit: (e) => { e.preventDefault(); onChange(); } },
    field(t('rep.from'), from), field(t('rep.to'), to));
  f.values = () => ({ from: from.value, to: to.value });
  return f;
}

function csv(path, query, name) {
  return button(t('rep.csv'), async (e) => {
    try { await download(path, query(), name); } catch (err) { e.target.after(h('span', { class: 'err' }, err.message)); }
  }, 'ghost');
}

async function totals(body) {
  const out = h('div');
  const f = range(() => load());
  f.append(button(t('rep.show'), null, 'primary', 'submit'), csv('/v1/clinic/reports/totals', () => f.values(), 'totals.csv'), formErr());
  mount(body, card(t('rep.totals'), f, out));
  async function load() {
    try {
      const r = await api('GET', '/v1/clinic/reports/totals', undefined, { query: f.values() });
      mount(out, h('dl', { class: 'figures big' }, ['issued', 'spent', 'burned', 'reversed', 'outstanding'].map((k) =>
        h('div', null, h('dt', null, t('rep.' + k)), h('dd', null, points(r[k]))))));
      out.append(h('h3', null, t('rep.perweek')), h('p', { class: 'muted' }, t('loading')));
      // Points per week: one totals call per calendar week (8 weeks).
      const weeks = [];
      for (let i = 7; i >= 0; i--) weeks.push({ from: dayInZone(-7 * i - 6), to: dayInZone(-7 * i) });
      const rows = await Promise.all(weeks.map((w) => api('GET', '/v1/clinic/reports/totals', undefined, { query: w })));
      out.lastChild.replaceWith(bars(weeks.map((w) => w.to.slice(5)), [
        { label: t('rep.issued'), values: rows.map((x) => x.issued) },
        { label: t('rep.spent'), values: rows.map((x) => x.spent) },
        { label: t('rep.burned'), values: rows.map((x) => x.burned) },
      ], points));
    } catch (err) { showError(f, err); }
  }
  load();
}

async function journal(body) {
  const out = h('div');
  const f = range(() => load());
  const op = select('operation', [['', t('rep.allops')], ...kinds.map((k) => [k, t('kind.' + k)])], '');
  f.append(field(t('rep.operation'), op), field(t('rep.patient'), input('patient', { placeholder: t('rep.patient.ph') })), field(t('rep.reason'), input('reason')),
    button(t('rep.show'), null, 'primary', 'submit'), csv('/v1/clinic/reports/journal', () => q(), 'journal.csv'), formErr());
  const q = () => ({ ...f.values(), operation: op.value, patient: f.querySelector('[name=patient]').value.trim(), reason: f.querySelector('[name=reason]').value.trim() });
  mount(body, card(t('rep.journal'), f, out));
  async function load(after) {
    try {
      const r = await api('GET', '/v1/clinic/reports/journal', undefined, { query: { ...q(), after, limit: 50 } });
      const tb = table([
        [t('when'), (e) => dateTime(e.created_at)], [t('kind'), (e) => t('kind.' + e.kind)],
        [t('points'), (e) => (e.amount > 0 ? '+' : '') + points(e.amount), 'num'], [t('balance'), (e) => points(e.balance_after), 'num'],
        [t('rep.receipt'), (e) => e.receipt_id || ''], [t('rep.reason'), (e) => e.reason || ''], [t('chat.staff'), (e) => staffNames[e.staff_id] || ''],
      ], r.rows, t('rep.empty'));
      if (after) out.append(tb); else mount(out, tb);
      if (r.next) out.append(button(t('rep.more'), (e) => { e.target.remove(); load(r.next); }, 'ghost'));
    } catch (err) { showError(f, err); }
  }
  load();
}

async function cards(body) {
  const out = h('div');
  const f = range(() => load());
  f.append(button(t('rep.show'), null, 'primary', 'submit'), csv('/v1/clinic/reports/cards', () => f.values(), 'cards.csv'), formErr());
  mount(body, card(t('rep.cards'), f, out));
  async function load(after) {
    try {
      const r = await api('GET', '/v1/clinic/reports/cards', undefined, { query: { ...f.values(), after, limit: 50 } });
      const tb = table([[t('when'), (c) => dateTime(c.created_at)], [t('holder'), (c) => [c.holder.first_name, c.holder.last_name].filter(Boolean).join(' ') || t('noname')],
        [t('status'), (c) => t('card.' + c.status)], [t('chat.staff'), (c) => staffNames[c.issued_by] || '']], r.rows, t('rep.empty'));
      if (after) out.append(tb); else mount(out, tb);
      if (r.next) out.append(button(t('rep.more'), (e) => { e.target.remove(); load(r.next); }, 'ghost'));
    } catch (err) { showError(f, err); }
  }
  load();
}

async function staff(body) {
  const out = h('div');
  const f = range(() => load());
  f.append(button(t('rep.show'), null, 'primary', 'submit'), csv('/v1/clinic/reports/cards-by-staff', () => f.values(), 'cards-by-staff.csv'),
    csv('/v1/clinic/reports/staff-rewards', () => f.values(), 'staff-rewards.csv'), formErr());
  mount(body, card(t('rep.staff'), f, out));
  async function load() {
    try {
      const [c, r] = await Promise.all([api('GET', '/v1/clinic/reports/cards-by-staff', undefined, { query: f.values() }),
        api('GET', '/v1/clinic/reports/staff-rewards', undefined, { query: f.values() })]);
      mount(out, c.rows.length ? bars(c.rows.map((x) => staffNames[x.staff_id] || '—'), [{ label: t('rep.cards'), values: c.rows.map((x) => x.cards) }]) : null,
        table([[t('staff.name'), (x) => staffNames[x.staff_id] || x.staff_id], [t('rep.cards'), (x) => String(x.cards), 'num']], c.rows, t('rep.empty')),
        h('h3', null, t('staff.rewards')),
        table([[t('staff.name'), (x) => staffNames[x.staff_id] || x.staff_id], [t('staff.enrolled'), (x) => String(x.enrolled), 'num'],
          [t('staff.rewards'), (x) => points(x.points), 'num'], [t('staff.paid'), (x) => points(x.paid_out), 'num']], r.rows, t('rep.empty')));
    } catch (err) { showError(f, err); }
  }
  load();
}

async function referrals(body) {
  const r = await api('GET', '/v1/clinic/reports/referrals');
  mount(body, card(t('rep.referrals'),
    h('div', { class: 'row' }, csv('/v1/clinic/reports/referrals', () => ({}), 'referrals.csv')),
    r.depths.length ? bars(r.depths.map((d) => t('ref.level', { n: d.depth })), [{ label: t('rep.patients'), values: r.depths.map((d) => d.patients) }]) : null,
    table([[t('ref.depth'), (d) => String(d.depth), 'num'], [t('rep.patients'), (d) => String(d.patients), 'num'], [t('rep.paid'), (d) => String(d.paid), 'num'], [t('rep.notyet'), (d) => String(d.not_yet), 'num']], r.depths, t('rep.empty')),
    h('h3', null, t('rep.rewards')),
    table([[t('ref.depth'), (x) => String(x.level), 'num'], [t('rep.count'), (x) => String(x.rewards), 'num'], [t('points'), (x) => points(x.points), 'num']], r.rewards, t('rep.empty')),
    h('h3', null, t('ref.top')),
    table([[t('holder'), (x) => x.name], [t('ref.friends'), (x) => String(x.friends), 'num'], [t('points'), (x) => points(x.points), 'num']], r.top_referrers, t('rep.empty'))));
}
