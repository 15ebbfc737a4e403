// Program editor: levels, per-service overrides, exclusions, bonuses and
// burn periods, max share. Inputs are named by the API's fields, so its
// validation (error.field) shows next to the right input.
import { h, mount, field, input, button, showError, formErr, card } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { rubles, parseMoney, bpToPct, parsePct, dateTime } from '../format.js';

export async function render(main) {
  const p = await api('GET', '/v1/clinic/program');
  draw(main, p);
}

function rowsEditor(name, rows, make, addLabel) {
  const box = h('div', { class: 'rows' });
  const wrap = h('div', { class: 'rows-wrap' }, box, h('small', { class: 'err', dataset: { errFor: name } }));
  const renumber = () => [...box.children].forEach((row, i) => {
    for (const el of row.querySelectorAll('[name]')) el.name = el.name.replace(/\[\d+\]/, `[${i}]`);
    for (const el of row.querySelectorAll('.err')) el.dataset.errFor = el.dataset.errFor.replace(/\[\d+\]/, `[${i}]`);
  });
  const add = (r) => {
    const i = box.children.length;
    const row = h('div', { class: 'grid4 row-item' }, make(i, r || {}), h('div', { class: 'field' }, h('label', null, '\u00a0'),
      button('−', () => { row.remove(); renumber(); }, 'ghost', 'button')));
    box.append(row);
  };
  rows.forEach(add);
  wrap.append(button(addLabel, () => add(), 'ghost small'));
  wrap.rows = () => [...box.children];
  return wrap;
}

function val(root, name) { const el = root.querySelector(`[name="${name}"]`); return el ? el.value.trim() : ''; }

function draw(main, p) {
  const num = (name, v, hint) => field(t('prog.' + name), input(name, { inputmode: 'numeric', value: String(v ?? '') }), hint);
  const levels = rowsEditor('levels', p.levels, (i, l) => [
    field(t('prog.level.name'), input(`levels[${i}].name`, { value: l.name || '' })),
    field(t('prog.level.min'), input(`levels[${i}].min_spend`, { inputmode: 'decimal', value: rubles(l.min_spend || 0) })),
    field(t('prog.level.rate'), input(`levels[${i}].cashback_bp`, { inputmode: 'decimal', value: bpToPct(l.cashback_bp || 0) })),
  ], t('prog.addlevel'));
  const overrides = rowsEditor('service_overrides', p.service_overrides, (i, o) => [
    field(t('prog.ov.service'), input(`service_overrides[${i}].service`, { value: o.service || '' })),
    field(t('prog.ov.rate'), input(`service_overrides[${i}].cashback_bp`, { inputmode: 'decimal', value: o.cashback_bp == null ? '' : bpToPct(o.cashback_bp) })),
    field(t('prog.ov.points'), input(`service_overrides[${i}].points`, { inputmode: 'numeric', value: o.points == null ? '' : String(o.points) })),
  ], t('prog.addov'));
  const bonus = (name, b) => h('fieldset', null, h('legend', null, t('prog.' + name)),
    h('div', { class: 'grid2' },
      field(t('points'), input(`${name}.points`, { inputmode: 'numeric', value: String(b.points) })),
      field(t('prog.burndays'), input(`${name}.burn_days`, { inputmode: 'numeric', value: String(b.burn_days) }))));
  const f = h('form', { class: 'program', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const body = read(f, levels, overrides);
    if (body.error) return showError(f, body.error);
    try {
      const np = await api('PUT', '/v1/clinic/program', body);
      draw(main, np);
      main.querySelector('.ok').textContent = t('prog.saved', { v: np.version });
    } catch (err) { showError(f, err); }
  } },
  card(t('prog.earning'),
    h('div', { class: 'grid3' },
      field(t('prog.point_value'), input('point_value', { inputmode: 'decimal', value: rubles(p.point_value) }), t('prog.point_value.hint')),
      field(t('prog.cashback_bp'), input('cashback_bp', { inputmode: 'decimal', value: bpToPct(p.cashback_bp) }), t('prog.cashback_bp.hint')),
      num('max_receipt_points', p.max_receipt_points, t('prog.zero_nocap'))),
    h('h3', null, t('prog.levels')), levels),
  card(t('prog.services'), h('h3', null, t('prog.overrides')), overrides,
    field(t('prog.excluded'), input('excluded_services', { value: p.excluded_services.join(', ') }), t('prog.excluded.hint'))),
  card(t('prog.paying'), h('div', { class: 'grid3' },
    field(t('prog.max_share_bp'), input('max_share_bp', { inputmode: 'decimal', value: bpToPct(p.max_share_bp) }), t('prog.max_share.hint')),
    num('cashback_burn_days', p.cashback_burn_days), num('burn_warning_days', p.burn_warning_days))),
  card(t('prog.bonuses'), h('div', { class: 'grid3' }, bonus('welcome_bonus', p.welcome_bonus), bonus('booking_bonus', p.booking_bonus), bonus('birthday_bonus', p.birthday_bonus))),
  formErr(),
  h('div', { class: 'row sticky' }, button(t('save'), null, 'primary', 'submit'), h('span', { class: 'ok', role: 'status' }),
    h('span', { class: 'muted' }, t('prog.version', { v: p.version, d: dateTime(p.updated_at) }))));
  mount(main, h('h1', null, t('nav.program')), f);
}

// read builds the ProgramRequest; a value that is not a number is
// reported on its field before anything is sent.
function read(f, levels, overrides) {
  let error = null;
  const need = (name, v) => { if (!error && Number.isNaN(v)) error = { field: name, message: t('err.number') }; return v; };
  const int = (name, blankOK) => { const s = val(f, name); if (s === '' && blankOK) return null; return need(name, /^-?\d+$/.test(s) ? Number(s) : NaN); };
  const body = {
    point_value: need('point_value', parseMoney(val(f, 'point_value'))),
    cashback_bp: need('cashback_bp', parsePct(val(f, 'cashback_bp'))),
    max_receipt_points: int('max_receipt_points'),
    max_share_bp: need('max_share_bp', parsePct(val(f, 'max_share_bp'))),
    cashback_burn_days: int('cashback_burn_days'),
    burn_warning_days: int('burn_warning_days'),
    excluded_services: val(f, 'excluded_services').split(',').map((s) => s.trim()).filter(Boolean),
    levels: levels.rows().map((row, i) => ({
      name: val(row, `levels[${i}].name`),
      min_spend: need(`levels[${i}].min_spend`, parseMoney(val(row, `levels[${i}].min_spend`))),
      cashback_bp: need(`levels[${i}].cashback_bp`, parsePct(val(row, `levels[${i}].cashback_bp`))),
    })),
    service_overrides: overrides.rows().map((row, i) => {
      const o = { service: val(row, `service_overrides[${i}].service`) };
      const r = val(row, `service_overrides[${i}].cashback_bp`);
      if (r !== '') o.cashback_bp = need(`service_overrides[${i}].cashback_bp`, parsePct(r));
      const pt = int(`service_overrides[${i}].points`, true);
      if (pt !== null) o.points = pt;
      return o;
    }),
  };
  for (const b of ['welcome_bonus', 'booking_bonus', 'birthday_bonus']) body[b] = { points: int(b + '.points'), burn_days: int(b + '.burn_days') };
  return error ? { error } : body;
}
