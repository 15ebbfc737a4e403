// Messages: the clinic's message policy (quiet hours in clinic time, the
// weekly budget per patient) and what it held back per class and reason.
import { h, mount, field, input, button, showError, clearErrors, formErr, card, table } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { points, dayInZone } from '../format.js';
import { bars } from '../chart.js';

const reasons = ['budget', 'opted_out', 'deferred'];

export async function render(main) {
  const p = await api('GET', '/v1/clinic/message-policy');
  const qf = input('quiet_from', { type: 'time', value: p.quiet_from });
  const qt = input('quiet_to', { type: 'time', value: p.quiet_to });
  const budget = input('weekly_budget', { inputmode: 'numeric', value: String(p.weekly_budget) });
  const ok = h('span', { class: 'ok', id: 'policy-ok' });
  const f = h('form', { class: 'panel policy', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors(f);
    ok.textContent = '';
    const n = Number(budget.value);
    if (budget.value.trim() === '' || !Number.isInteger(n)) return showError(f, { field: 'weekly_budget', message: t('err.number') });
    try {
      const v = await api('PUT', '/v1/clinic/message-policy', { quiet_from: qf.value, quiet_to: qt.value, weekly_budget: n });
      qf.value = v.quiet_from; qt.value = v.quiet_to; budget.value = String(v.weekly_budget);
      ok.textContent = t('saved');
    } catch (err) { showError(f, err); }
  } }, h('h2', null, t('msg.policy')), h('p', { class: 'muted' }, t('msg.lead')),
  h('div', { class: 'grid3' }, field(t('msg.quiet_from'), qf), field(t('msg.quiet_to'), qt, t('msg.quiet_hint')),
    field(t('msg.budget'), budget, t('msg.budget_hint'))),
  formErr(), h('div', { class: 'row' }, button(t('save'), null, 'primary', 'submit'), ok));

  const from = input('from', { type: 'date', value: dayInZone(-6) });
  const to = input('to', { type: 'date', value: dayInZone(0) });
  const out = h('div', { id: 'held' });
  const rf = h('form', { class: 'row filters', novalidate: true, onsubmit: (e) => { e.preventDefault(); load(); } },
    field(t('rep.from'), from), field(t('rep.to'), to), button(t('rep.show'), null, 'primary', 'submit'), formErr());
  mount(main, h('h1', null, t('nav.messages')), f, card(t('msg.report'), h('p', { class: 'muted' }, t('msg.report.lead')), rf, out));
  async function load() {
    try {
      const r = await api('GET', '/v1/clinic/message-policy/report', undefined, { query: { from: from.value, to: to.value } });
      const classes = [...new Set(r.counts.map((c) => c.class))];
      const n = (cl, rs) => r.counts.filter((c) => c.class === cl && c.reason === rs).reduce((a, c) => a + c.count, 0);
      mount(out, classes.length ? bars(classes.map((c) => t('msg.class.' + c)), reasons.map((rs) => ({ label: t('msg.why.' + rs), values: classes.map((c) => n(c, rs)) })), points) : null,
        table([[t('msg.class'), (c) => t('msg.class.' + c)], ...reasons.map((rs) => [t('msg.why.' + rs), (c) => points(n(c, rs)), 'num'])], classes, t('msg.none')));
    } catch (err) { showError(rf, err); }
  }
  await load();
}
