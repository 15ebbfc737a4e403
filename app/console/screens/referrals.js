// Referral program editor, with the API's validation in place, and the
// held referrals a manager approves or rejects.
import { h, mount, field, input, select, button, showError, formErr, card, table } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { rubles, parseMoney, bpToPct, parsePct, dateTime, points } from '../format.js';

export async function render(main) {
  const [p, rep] = await Promise.all([api('GET', '/v1/clinic/referral-program'), api('GET', '/v1/clinic/reports/referrals')]);
  draw(main, p, rep);
}

function draw(main, p, rep) {
  const v = (name) => { const el = f.querySelector(`[name="${name}"]`); return el.type === 'checkbox' ? el.checked : el.value.trim(); };
  const num = (name, value, hint) => field(t('ref.' + name), input(name, { inputmode: 'numeric', value: String(value ?? 0) }), hint);
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: p.enabled });
  const levelsBox = h('div', { class: 'grid4' });
  const addLevel = (bp) => {
    const i = levelsBox.children.length;
    levelsBox.append(field(t('ref.level', { n: i + 1 }), input(`levels[${i}].rate_bp`, { inputmode: 'decimal', value: bpToPct(bp || 0) })));
  };
  (p.levels.length ? p.levels : [{ rate_bp: 0 }]).forEach((l) => addLevel(l.rate_bp));
  const f = h('form', { novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    let error = null;
    const need = (name, x) => { if (!error && Number.isNaN(x)) error = { field: name, message: t('err.number') }; return x; };
    const int = (name) => need(name, /^\d+$/.test(v(name)) ? Number(v(name)) : NaN);
    const body = {
      enabled: v('enabled'), reward_on: v('reward_on'),
      levels: [...levelsBox.querySelectorAll('input')].map((el, i) => ({ rate_bp: need(`levels[${i}].rate_bp`, parsePct(el.value)) })),
      referee_bonus: { points: int('referee_bonus.points'), burn_days: int('referee_bonus.burn_days') },
      referrer_bonus: { points: int('referrer_bonus.points') },
      reward_burn_days: int('reward_burn_days'),
      min_paid: need('min_paid', parseMoney(v('min_paid'))),
      max_joins_per_day: int('max_joins_per_day'),
      max_rewarded_per_month: int('max_rewarded_per_month'),
      staff_reward_bp: need('staff_reward_bp', parsePct(v('staff_reward_bp'))),
    };
    if (body.reward_on === 'every_paid_visit') body.window_days = int('window_days');
    if (error) return showError(f, error);
    try {
      const np = await api('PUT', '/v1/clinic/referral-program', body);
      draw(main, np, rep);
      main.querySelector('.ok').textContent = t('prog.saved', { v: np.version });
    } catch (err) { showError(f, err); }
  } },
  card(t('ref.program'),
    h('label', { class: 'check' }, enabled, t('ref.enabled')),
    h('div', { class: 'grid3' },
      field(t('ref.reward_on'), select('reward_on', [['first_paid_visit', t('ref.first')], ['every_paid_visit', t('ref.every')]], p.reward_on)),
      num('window_days', p.window_days, t('ref.window.hint')),
      field(t('ref.min_paid'), input('min_paid', { inputmode: 'decimal', value: rubles(p.min_paid) }))),
    h('h3', null, t('ref.levels')), levelsBox, h('small', { class: 'err', dataset: { errFor: 'levels' } }),
    button(t('ref.addlevel'), () => addLevel(0), 'ghost small'),
    h('div', { class: 'grid3' },
      num('referee_bonus.points', p.referee_bonus.points), num('referee_bonus.burn_days', p.referee_bonus.burn_days),
      num('referrer_bonus.points', p.referrer_bonus.points),
      num('reward_burn_days', p.reward_burn_days), num('max_joins_per_day', p.max_joins_per_day), num('max_rewarded_per_month', p.max_rewarded_per_month),
      field(t('ref.staff_reward_bp'), input('staff_reward_bp', { inputmode: 'decimal', value: bpToPct(p.staff_reward_bp) })))),
  formErr(),
  h('div', { class: 'row' }, button(t('save'), null, 'primary', 'submit'), h('span', { class: 'ok', role: 'status' }),
    h('span', { class: 'muted' }, t('prog.version', { v: p.version, d: dateTime(p.created_at) }))));
  mount(main, h('h1', null, t('nav.referrals')), f, held(main, rep));
}

function held(main, rep) {
  return card(t('ref.held'), table([
    [t('holder'), (r) => r.name],
    [t('ref.depth'), (r) => String(r.depth), 'num'],
    [t('ref.checks'), (r) => r.checks.map((c) => c.reason).join('; ')],
    [t('when'), (r) => dateTime(r.created_at)],
    ['', (r) => decide(main, r)],
  ], rep.held, t('ref.noheld')), h('p', { class: 'muted' }, t('ref.top')),
  table([[t('holder'), (r) => r.name], [t('ref.friends'), (r) => String(r.friends), 'num'], [t('points'), (r) => points(r.points), 'num']], rep.top_referrers));
}

function decide(main, r) {
  const reason = input('reason', { placeholder: t('ref.reason'), 'aria-label': t('ref.reason') });
  const go = (ok) => async () => {
    try {
      await api('POST', `/v1/clinic/referrals/${encodeURIComponent(r.id)}/${ok ? 'approve' : 'reject'}`, { reason: reason.value.trim() });
      await render(main);
    } catch (err) { showError(box, err); }
  };
  const box = h('div', { class: 'row' }, field('', reason), button(t('ref.approve'), go(true), 'small'), button(t('ref.reject'), go(false), 'small danger'), formErr());
  return box;
}
