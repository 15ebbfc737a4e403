// Reception: find a card (scanner, camera, phone), see it, issue and
// confirm cards, record receipts, bonus payments and refunds.
import { h, mount, field, input, select, button, showError, clearErrors, formErr, table, card, newKey } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { money, points, percent, date, dateTime, parseMoney } from '../format.js';

let view; // the right-hand pane

export async function render(main) {
  const q = input('q', { placeholder: t('rec.search.ph'), autocomplete: 'off', 'aria-label': t('rec.search'), autofocus: true });
  const search = h('form', { class: 'search row', onsubmit: (e) => { e.preventDefault(); find(search, q.value.trim()); } },
    q, button(t('rec.find'), null, 'primary', 'submit'),
    'BarcodeDetector' in window ? button(t('rec.camera'), () => scan(search), '') : null,
    h('button', { type: 'button', id: 'issue-open', onclick: () => issueForm() }, t('rec.issue')));
  const errSlot = formErr();
  search.append(errSlot);
  view = h('div', { class: 'rec-view' });
  mount(main, h('h1', null, t('nav.reception')), search, view);
  mount(view, h('p', { class: 'muted' }, t('rec.hint')));
  q.focus();
  return () => stopCamera();
}

// A USB scanner types the card's 8-character code and Enter; a phone has
// a + or at least 10 digits.
function isPhone(s) { return s.startsWith('+') || s.replace(/\D/g, '').length >= 10; }

async function find(form, s) {
  clearErrors(form);
  if (!s) return;
  try {
    const r = await api('GET', '/v1/clinic/cards/lookup', undefined, { query: isPhone(s) ? { phone: s } : { code: s } });
    if (r.card) return showCard(r.card.card_id);
    const cards = r.cards || [];
    if (cards.length === 1) return showCard(cards[0].card_id);
    if (!cards.length) return showError(form, { message: t('rec.none') });
    mount(view, card(t('rec.choose'), table([
      [t('holder'), (c) => holderName(c.holder)],
      [t('status'), (c) => t('card.' + c.status)],
      [t('balance'), (c) => points(c.balance), 'num'],
      ['', (c) => button(t('open'), () => showCard(c.card_id))],
    ], cards)));
  } catch (err) {
    showError(form, err, err.code === 'not_found' ? t('rec.none') : null);
  }
}

export function holderName(hd) {
  if (!hd) return '—';
  const n = [hd.first_name, hd.last_name].filter(Boolean).join(' ');
  return n || t('noname');
}

let stream = null;
function stopCamera() {
  if (stream) { for (const tr of stream.getTracks()) tr.stop(); stream = null; }
}

async function scan(form) {
  stopCamera();
  const video = h('video', { class: 'camera', autoplay: true, muted: true, playsinline: true });
  const box = card(t('rec.camera'), video, button(t('cancel'), () => { stopCamera(); box.remove(); }));
  view.prepend(box);
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    video.srcObject = stream;
    const det = new window.BarcodeDetector({ formats: ['qr_code'] });
    const tick = async () => {
      if (!stream) return;
      try {
        const codes = await det.detect(video);
        if (codes.length) {
          stopCamera();
          box.remove();
          form.querySelector('[name=q]').value = codes[0].rawValue;
          return find(form, codes[0].rawValue.trim());
        }
      } catch { /* not ready yet */ }
      setTimeout(tick, 250);
    };
    tick();
  } catch (err) {
    stopCamera();
    mount(box, h('p', { class: 'err' }, t('rec.nocamera')), button(t('cancel'), () => box.remove()));
  }
}

export async function showCard(id) {
  const c = await api('GET', `/v1/clinic/cards/${encodeURIComponent(id)}`);
  const [lots, hist] = await Promise.all([
    api('GET', `/v1/clinic/cards/${encodeURIComponent(id)}/lots`, undefined, { query: { limit: 50 } }),
    api('GET', `/v1/clinic/cards/${encodeURIComponent(id)}/history`, undefined, { query: { limit: 50 } }),
  ]);
  const hd = c.holder || {};
  const lvl = c.level;
  const progress = lvl && lvl.next ? h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': lvl.next_min_spend, 'aria-valuenow': lvl.paid_spend },
    h('span', { dataset: { w: String(Math.min(100, Math.round((100 * lvl.paid_spend) / Math.max(1, lvl.next_min_spend)))) } })) : null;
  const summary = card(null,
    h('div', { class: 'card-head' },
      h('div', null,
        h('h2', { class: 'holder', id: 'holder-name' }, holderName(hd)),
        h('p', { class: 'muted' }, hd.kind === 'dependant' ? t('rec.dependant') : t('rec.own'), ' · ', t('card.' + c.status), hd.birth_date ? ' · ' + hd.birth_date : '')),
      h('div', { class: 'balance' }, h('span', { class: 'big', id: 'card-balance' }, points(c.balance)), h('small', null, t('points')),
        c.status === 'unconfirmed' ? null : h('small', { class: 'muted' }, t('rec.available', { n: points(c.available) })))),
    lvl ? h('div', { class: 'level' }, h('strong', null, lvl.name), ' · ', t('rec.cashback', { p: percent(lvl.cashback_bp) }), ' · ', t('rec.spent', { m: money(lvl.paid_spend) }),
      lvl.next ? h('span', null, ' · ', t('rec.tonext', { m: money(lvl.to_next), l: lvl.next })) : null, progress) : null,
    c.next_burn ? h('p', { class: 'warn' }, t('rec.nextburn', { n: points(c.next_burn.points), d: date(c.next_burn.burns_at) })) : null);
  if (progress) { const s = progress.firstChild; s.style.width = s.dataset.w + '%'; }
  const actions = h('div', { class: 'row actions' });
  if (c.status === 'unconfirmed') {
    // Receipts earn on it; spending waits for the patient to confirm the
    // card in the app (the API answers 409 card_unconfirmed).
    actions.append(h('button', { type: 'button', id: 'do-receipt', class: 'primary', onclick: () => receiptForm(c) }, t('rec.receipt')),
      h('button', { type: 'button', id: 'do-spend', disabled: true, 'aria-describedby': 'unconfirmed-why' }, t('rec.spend')),
      h('p', { class: 'notice', id: 'unconfirmed-why' }, t('rec.unconfirmed.why')));
  } else if (c.status === 'active') {
    actions.append(h('button', { type: 'button', id: 'do-receipt', class: 'primary', onclick: () => receiptForm(c) }, t('rec.receipt')),
      h('button', { type: 'button', id: 'do-spend', onclick: () => spendForm(c) }, t('rec.spend')));
  } else if (c.status === 'pending') {
    actions.append(confirmForm(c.card_id));
  }
  const work = h('div', { id: 'work' });
  const family = hd.kind === 'dependant' ? h('div', { class: 'cols', id: 'family' }) : null;
  mount(view, summary, actions, work, family,
    h('div', { class: 'cols' },
      card(t('rec.lots'), table([
        [t('kind'), (l) => t('kind.' + l.kind)],
        [t('points'), (l) => `${points(l.remaining)} / ${points(l.points)}`, 'num'],
        [t('rec.burns'), (l) => date(l.burns_at)],
      ], lots.lots, t('rec.nolots'))),
      card(t('rec.history'), table([
        [t('when'), (e) => dateTime(e.created_at)],
        [t('rec.what'), (e) => explain(e)],
        [t('points'), (e) => (e.amount > 0 ? '+' : '') + points(e.amount), 'num'],
        [t('balance'), (e) => points(e.balance_after), 'num'],
        ['', (e) => (e.receipt_id && (e.kind === 'cashback' || e.kind === 'spend') && c.status === 'active' ? button(t('rec.refund'), () => refundForm(c, e.receipt_id), 'small') : '')],
      ], hist.entries, t('rec.nohistory')))));
  if (family) await guardians(family, c).catch((err) => mount(family, h('p', { class: 'err' }, err.message)));
}

// explain says what an entry is: its kind, receipt and reason.
// guardians shows a dependant's card's guardians and consents: reception
// chooses one among several to end their access, or adds one by phone.
async function guardians(box, c) {
  const [g, cs] = await Promise.all([
    api('GET', `/v1/clinic/cards/${encodeURIComponent(c.card_id)}/guardians`),
    api('GET', `/v1/clinic/cards/${encodeURIComponent(c.card_id)}/consents`),
  ]);
  const list = g.guardians;
  const phone = input('phone', { type: 'tel', placeholder: '+7 999 123-45-67' });
  const addF = h('form', { class: 'row', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('POST', `/v1/clinic/cards/${encodeURIComponent(c.card_id)}/guardians`, { phone: phone.value.trim() });
      await guardians(box, c);
    } catch (err) { showError(addF, err); }
  } }, field(t('rec.guardian.add'), phone), button(t('rec.guardian.addbtn'), null, '', 'submit'), formErr());
  let removeF = null;
  if (list.length > 1) {
    const who = select('patient_id', list.map((x, i) => [x.patient_id, t('rec.guardian.n', { n: i + 1, id: x.patient_id })]), list[list.length - 1].patient_id);
    removeF = h('form', { class: 'row', id: 'guardian-remove', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      if (!window.confirm(t('rec.guardian.sure'))) return;
      try {
        await api('DELETE', `/v1/clinic/cards/${encodeURIComponent(c.card_id)}/guardians/${encodeURIComponent(who.value)}`);
        await guardians(box, c);
      } catch (err) { showError(removeF, err); }
    } }, field(t('rec.guardian.choose'), who), button(t('rec.guardian.remove'), null, 'danger', 'submit'), formErr());
  }
  mount(box,
    card(t('rec.guardians'), table([
      [t('rec.guardian'), (x) => x.patient_id], [t('rec.guardian.since'), (x) => dateTime(x.added_at)],
    ], list, '—'), list.length === 1 ? h('p', { class: 'muted' }, t('rec.guardian.last')) : removeF, addF),
    card(t('rec.consents'), h('p', { class: 'muted' }, t('rec.consents.version', { v: cs.text_version })),
      h('details', null, h('summary', null, t('rec.consents.text')), h('p', { class: 'pre' }, cs.text)),
      table([
        [t('rec.guardian'), (x) => x.guardian_id], [t('rec.consents.given'), (x) => dateTime(x.given_at)],
        [t('rec.consents.version.col'), (x) => x.text_version], [t('status'), (x) => (x.closed_at ? t('rec.consents.closed', { d: date(x.closed_at) }) : t('rec.consents.open'))],
      ], cs.consents, t('rec.consents.none'))));
}

function explain(e) {
  const parts = [t('kind.' + e.kind)];
  if (e.receipt_id) parts.push(t('rec.forreceipt', { r: e.receipt_id }));
  if (e.reason) parts.push('«' + e.reason + '»');
  return parts.join(' · ');
}

function confirmForm(cardID, onDone) {
  const code = input('code', { inputmode: 'numeric', autocomplete: 'one-time-code', 'aria-label': t('rec.code') });
  const key = newKey();
  const f = h('form', { class: 'row confirm', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('POST', `/v1/clinic/cards/${encodeURIComponent(cardID)}/confirm`, { code: code.value.trim() }, { key });
      await showCard(cardID);
      if (onDone) onDone();
    } catch (err) { showError(f, err, err.code === 'invalid_code' ? t('rec.badcode') : null); }
  } }, field(t('rec.cardcode'), code), button(t('rec.activate'), null, 'primary', 'submit'), formErr());
  setTimeout(() => code.focus());
  return f;
}

function issueForm() {
  const kind = select('kind', [['own', t('rec.own')], ['dependant', t('rec.dependant')]], 'own');
  const phone = input('phone', { type: 'tel', placeholder: '+7 999 123-45-67' });
  const gphone = input('guardian_phone', { type: 'tel', placeholder: '+7 999 123-45-67' });
  const first = input('first_name'); const last = input('last_name'); const birth = input('birth_date', { type: 'date' });
  const unconfirmed = h('input', { type: 'checkbox', name: 'unconfirmed' });
  const ownBox = h('div', null, field(t('rec.phone'), phone), h('label', { class: 'check' }, unconfirmed, t('rec.unconfirmed.issue')),
    h('small', { class: 'hint' }, t('rec.unconfirmed.hint')));
  const depBox = h('div', { hidden: true }, field(t('rec.guardianphone'), gphone, t('rec.guardianhint')));
  kind.onchange = () => { ownBox.hidden = kind.value !== 'own'; depBox.hidden = kind.value === 'own'; };
  const f = h('form', { class: 'panel', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const body = kind.value === 'own' ? { phone: phone.value.trim() } : { guardian_phone: gphone.value.trim() };
    if (kind.value === 'own' && unconfirmed.checked) body.unconfirmed = true;
    if (first.value.trim()) body.first_name = first.value.trim();
    if (last.value.trim()) body.last_name = last.value.trim();
    if (birth.value) body.birth_date = birth.value;
    try {
      const r = await api('POST', '/v1/clinic/cards', body);
      if (r.status === 'pending') {
        mount(f, h('h2', null, t('rec.issued')), h('p', null, t('rec.askcode')), confirmForm(r.card_id));
      } else {
        await showCard(r.card_id);
      }
    } catch (err) { showError(f, err); }
  } },
  h('h2', null, t('rec.issue')), field(t('rec.for'), kind), ownBox, depBox,
  h('div', { class: 'grid3' }, field(t('first_name'), first), field(t('last_name'), last), field(t('birth_date'), birth)),
  formErr(), h('div', { class: 'row' }, button(t('rec.issuebtn'), null, 'primary', 'submit'), button(t('cancel'), () => f.remove())));
  mount(view, f);
  phone.focus();
}

// lines is an editable list of receipt lines (service, amount in roubles)
// whose inputs are named as the API names them: lines[0].amount.
function linesEditor() {
  const box = h('div', { class: 'lines' });
  const addLine = () => {
    const i = box.children.length;
    box.append(h('div', { class: 'line grid3' },
      field(t('rec.service'), input(`lines[${i}].service`, { placeholder: t('rec.service.ph') })),
      field(t('rec.amount'), input(`lines[${i}].amount`, { inputmode: 'decimal', placeholder: '1500,00' })),
      h('div', { class: 'field' }, h('label', null, '\u00a0'), button('−', (e) => { if (box.children.length > 1) e.target.closest('.line').remove(); }, 'ghost', 'button'))));
  };
  addLine();
  const wrap = h('div', null, box, h('small', { class: 'err', dataset: { errFor: 'lines' } }), button(t('rec.addline'), addLine, 'ghost small'));
  wrap.read = () => [...box.children].map((row) => {
    const [s, a] = row.querySelectorAll('input');
    return { service: s.value.trim(), amount: parseMoney(a.value), raw: a.value };
  });
  return wrap;
}

function checkLines(f, lines) {
  for (let i = 0; i < lines.length; i++) {
    if (Number.isNaN(lines[i].amount)) {
      showError(f, { field: `lines[${i}].amount`, message: t('err.money') });
      return null;
    }
  }
  return lines.map(({ service, amount }) => ({ service, amount }));
}

function receiptID() {
  const d = new Date();
  return `R-${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}-${Math.random().toString(36).slice(2, 7).toUpperCase()}`;
}

function receiptForm(c) {
  const work = document.getElementById('work');
  const rid = input('receipt_id', { value: receiptID() });
  const lines = linesEditor();
  const paid = input('paid_with_points', { inputmode: 'numeric', value: '0' });
  const key = newKey();
  const f = h('form', { class: 'panel', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const ls = checkLines(f, lines.read());
    if (!ls) return;
    const pts = Number(paid.value || 0);
    if (!Number.isInteger(pts) || pts < 0) return showError(f, { field: 'paid_with_points', message: t('err.points') });
    try {
      const r = await api('POST', '/v1/clinic/receipts', { card_id: c.card_id, receipt_id: rid.value.trim(), lines: ls, paid_with_points: pts }, { key });
      await showCard(c.card_id);
      document.getElementById('work').append(h('p', { class: 'ok', id: 'receipt-result' }, t('rec.recorded', { n: points(r.points), b: points(r.balance) })));
    } catch (err) { showError(f, err); }
  } },
  h('h2', null, t('rec.receipt')), field(t('rec.receiptid'), rid), lines, field(t('rec.paidpoints'), paid, t('rec.paidhint')),
  formErr(), h('div', { class: 'row' }, button(t('rec.record'), null, 'primary', 'submit'), button(t('cancel'), () => f.remove())));
  mount(work, f);
  f.querySelector('[name="lines[0].service"]').focus();
}

function spendForm(c) {
  const work = document.getElementById('work');
  const rid = input('receipt_id', { value: receiptID() });
  const lines = linesEditor();
  const pts = input('points', { inputmode: 'numeric' });
  const key = newKey();
  // The maximum, asked of the API (POST /v1/clinic/spends/quote) as the
  // lines change: the program's share of the payable lines, capped by
  // the card's available points.
  const quoteBox = h('p', { class: 'notice ok-box', id: 'spend-quote', hidden: true });
  let timer = null, asked = 0;
  lines.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const ls = lines.read();
      if (ls.some((l) => !l.service || Number.isNaN(l.amount) || l.amount <= 0)) { quoteBox.hidden = true; return; }
      const mine = ++asked;
      try {
        const q = await api('POST', '/v1/clinic/spends/quote', { card_id: c.card_id, lines: ls.map(({ service, amount }) => ({ service, amount })) });
        if (mine !== asked) return;
        quoteBox.textContent = t('rec.quote', { max: points(q.max_points), share: points(q.by_share), n: points(q.available) });
        quoteBox.hidden = false;
        pts.setAttribute('max', String(q.max_points));
      } catch { quoteBox.hidden = true; }
    }, 250);
  });
  const f = h('form', { class: 'panel', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const ls = checkLines(f, lines.read());
    if (!ls) return;
    const n = Number(pts.value);
    if (!pts.value || !Number.isInteger(n) || n <= 0) return showError(f, { field: 'points', message: t('err.points') });
    try {
      const r = await api('POST', '/v1/clinic/spends', { card_id: c.card_id, receipt_id: rid.value.trim(), lines: ls, points: n }, { key });
      mount(f, h('h2', null, t('rec.spend')),
        h('p', { id: 'spend-max' }, t('rec.spendstarted', { n: points(r.points), max: points(r.max_points), d: dateTime(r.expires_at) })),
        spendConfirm(c, r));
    } catch (err) { showError(f, err, err.code === 'card_unconfirmed' ? t('rec.unconfirmed.why') : null); }
  } },
  h('h2', null, t('rec.spend')), h('p', { class: 'muted' }, t('rec.spendlead', { n: points(c.available) })),
  field(t('rec.receiptid'), rid), lines, quoteBox, field(t('rec.spendpoints'), pts),
  formErr(), h('div', { class: 'row' }, button(t('rec.sendcode'), null, 'primary', 'submit'), button(t('cancel'), () => f.remove())));
  mount(work, f);
}

function spendConfirm(c, sp) {
  const code = input('code', { inputmode: 'numeric', autocomplete: 'one-time-code' });
  const key = newKey();
  const f = h('form', { class: 'row confirm', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('POST', `/v1/clinic/spends/${encodeURIComponent(sp.spend_id)}/confirm`, { code: code.value.trim() }, { key });
      await showCard(c.card_id);
      document.getElementById('work').append(h('p', { class: 'ok', id: 'spend-result' }, t('rec.spent.ok', { n: points(sp.points) })));
    } catch (err) { showError(f, err, err.code === 'invalid_code' ? t('rec.badcode') : null); }
  } }, field(t('rec.spendcode'), code), button(t('rec.confirm'), null, 'primary', 'submit'), formErr());
  setTimeout(() => code.focus());
  return f;
}

function refundForm(c, receipt) {
  const work = document.getElementById('work');
  const whole = h('input', { type: 'checkbox', name: 'whole', checked: true });
  const lines = linesEditor();
  lines.hidden = true;
  whole.onchange = () => { lines.hidden = whole.checked; };
  const key = newKey();
  const f = h('form', { class: 'panel', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    let body;
    if (!whole.checked) {
      const ls = checkLines(f, lines.read());
      if (!ls) return;
      body = { lines: ls };
    }
    try {
      const r = await api('POST', `/v1/clinic/receipts/${encodeURIComponent(receipt)}/refund`, body, { key });
      await showCard(c.card_id);
      document.getElementById('work').append(h('p', { class: 'ok' }, t('rec.refunded', { r: points(r.reversed), s: points(r.returned) })));
    } catch (err) { showError(f, err); }
  } },
  h('h2', null, t('rec.refundof', { r: receipt })), h('label', { class: 'check' }, whole, t('rec.whole')), lines,
  formErr(), h('div', { class: 'row' }, button(t('rec.refund'), null, 'danger', 'submit'), button(t('cancel'), () => f.remove())));
  mount(work, f);
}
