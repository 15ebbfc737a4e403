// Exports: a patient's data as it concerns this clinic (a written request
// at the desk), downloaded as JSON; the record of every export.
import { h, mount, field, input, button, showError, clearErrors, formErr, card, table } from '../dom.js';
import { api, download } from '../api.js';
import { t } from '../i18n.js';
import { dateTime } from '../format.js';

let staffNames = {};

export async function render(main) {
  const list = await api('GET', '/v1/clinic/staff');
  staffNames = Object.fromEntries(list.staff.map((s) => [s.id, s.name || s.email]));
  const who = input('patient', { placeholder: t('exp.who.ph') });
  const out = h('div', { id: 'exports' });
  const done = h('p', { class: 'ok', role: 'status' });
  const f = h('form', { class: 'panel', id: 'export-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors(f);
    done.textContent = '';
    const s = who.value.trim();
    if (!s) return showError(f, { field: 'patient', message: t('exp.need') });
    try {
      const id = await patientID(s);
      if (!id) return showError(f, { field: 'patient', message: t('rec.none') });
      await download(`/v1/clinic/patients/${encodeURIComponent(id)}/export`, {}, `patient-${id}.json`, { raw: true });
      done.textContent = t('exp.done');
      await load();
    } catch (err) { showError(f, err, err.status === 404 ? t('rec.none') : null); }
  } }, h('h2', null, t('exp.start')), h('p', { class: 'muted' }, t('exp.lead')), field(t('exp.who'), who),
  formErr(), h('div', { class: 'row' }, button(t('exp.download'), null, 'primary', 'submit')), done);
  mount(main, h('h1', null, t('nav.exports')), f, card(t('exp.record'), out));
  async function load(after) {
    const r = await api('GET', '/v1/clinic/exports', undefined, { query: { after, limit: 50 } });
    const tb = table([[t('when'), (x) => dateTime(x.at)], [t('exp.patient'), (x) => x.patient_id], [t('chat.staff'), (x) => staffNames[x.staff_id] || x.staff_id]],
      r.exports, t('exp.none'));
    if (after) out.append(tb); else mount(out, tb);
    if (r.next) out.append(button(t('rep.more'), (e) => { e.target.remove(); load(r.next); }, 'ghost'));
  }
  await load();
}

// patientID reads a patient id (pt_…) as it is, or finds the holder of
// the phone's own card.
async function patientID(s) {
  if (/^pt_/.test(s)) return s;
  const r = await api('GET', '/v1/clinic/cards/lookup', undefined, { query: { phone: s } });
  const cards = r.cards || (r.card ? [r.card] : []);
  const own = cards.find((c) => c.holder && c.holder.kind === 'self' && !c.guardian) || cards.find((c) => c.holder && c.holder.kind === 'self');
  return own ? own.patient_id : '';
}
