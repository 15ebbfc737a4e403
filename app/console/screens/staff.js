// Staff: add, change roles, disable; enrolment rewards and payouts.
import { h, mount, field, input, select, button, showError, formErr, card, table, newKey } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { dateTime, points } from '../format.js';

let main, me;

export async function render(m, ctx) {
  main = m;
  me = ctx.me;
  const [list, rewards] = await Promise.all([api('GET', '/v1/clinic/staff'), api('GET', '/v1/clinic/reports/staff-rewards')]);
  const byID = Object.fromEntries(rewards.rows.map((r) => [r.staff_id, r]));
  mount(main, h('h1', null, t('nav.staff')),
    card(t('staff.list'), table([
      [t('staff.name'), (s) => h('span', null, s.name || '—', h('br'), h('small', { class: 'muted' }, s.email))],
      [t('staff.role'), (s) => (s.disabled_at || s.id === me.id ? t('role.' + s.role) : roleSelect(s))],
      [t('staff.enrolled'), (s) => String((byID[s.id] || {}).enrolled || 0), 'num'],
      [t('staff.rewards'), (s) => points((byID[s.id] || {}).points || 0), 'num'],
      [t('staff.paid'), (s) => points((byID[s.id] || {}).paid_out || 0), 'num'],
      ['', (s) => (s.disabled_at ? h('span', { class: 'muted' }, t('staff.disabled', { d: dateTime(s.disabled_at) }))
        : h('div', { class: 'row' }, button(t('staff.payout'), () => payout(s), 'small'),
          s.id === me.id ? null : button(t('staff.disable'), async () => {
            if (!confirm(t('staff.sure'))) return;
            await api('DELETE', `/v1/clinic/staff/${encodeURIComponent(s.id)}`);
            render(main, { me });
          }, 'small danger')))],
    ], list.staff)),
    h('div', { id: 'payout' }), addForm());
}

function roleSelect(s) {
  const sel = select('role', [['admin', t('role.admin')], ['manager', t('role.manager')]], s.role);
  sel.setAttribute('aria-label', t('staff.role'));
  sel.onchange = async () => {
    try { await api('PATCH', `/v1/clinic/staff/${encodeURIComponent(s.id)}`, { role: sel.value }); } catch (err) { alert(err.message); sel.value = s.role; }
  };
  return sel;
}

function addForm() {
  const f = h('form', { class: 'panel', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const v = (n) => f.querySelector(`[name=${n}]`).value.trim();
    try {
      await api('POST', '/v1/clinic/staff', { email: v('email'), password: f.querySelector('[name=password]').value, role: v('role'), name: v('name') });
      render(main, { me });
    } catch (err) { showError(f, err); }
  } }, h('h2', null, t('staff.add')),
  h('div', { class: 'grid2' }, field(t('staff.name'), input('name')), field(t('login.email'), input('email', { type: 'email' })),
    field(t('login.password'), input('password', { type: 'password', autocomplete: 'new-password' }), t('staff.pwhint')),
    field(t('staff.role'), select('role', [['admin', t('role.admin')], ['manager', t('role.manager')]], 'admin'))),
  formErr(), button(t('staff.addbtn'), null, 'primary', 'submit'));
  return f;
}

async function payout(s) {
  const acc = await api('GET', `/v1/clinic/staff/${encodeURIComponent(s.id)}/rewards`);
  const key = newKey();
  const f = h('form', { class: 'panel', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const n = Number(f.querySelector('[name=points]').value);
    if (!Number.isInteger(n) || n <= 0) return showError(f, { field: 'points', message: t('err.points') });
    try {
      await api('POST', `/v1/clinic/staff/${encodeURIComponent(s.id)}/payouts`, { points: n, note: f.querySelector('[name=note]').value.trim() }, { key });
      render(main, { me });
    } catch (err) { showError(f, err); }
  } }, h('h2', null, t('staff.payoutfor', { n: s.name || s.email })),
  h('p', null, t('staff.account', { b: points(acc.balance), e: points(acc.earned), p: points(acc.paid_out), n: acc.patients })),
  h('p', { class: 'muted' }, t('staff.code', { c: acc.code })),
  table([[t('when'), (x) => dateTime(x.created_at)], [t('kind'), (x) => x.kind], [t('points'), (x) => points(x.points), 'num'], ['', (x) => x.note || x.receipt_id || '']], acc.entries.slice(0, 20)),
  h('div', { class: 'grid2' }, field(t('points'), input('points', { inputmode: 'numeric' })), field(t('staff.note'), input('note'))),
  formErr(), h('div', { class: 'row' }, button(t('staff.pay'), null, 'primary', 'submit'), button(t('cancel'), () => f.remove(), 'ghost')));
  mount(document.getElementById('payout'), f);
}
