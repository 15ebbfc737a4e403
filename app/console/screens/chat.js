// Chat: the clinic's threads with unread counts, live over the websocket,
// a thread beside the patient's context, replies with an optional bonus.
import { h, mount, field, input, select, button, showError, formErr, card, table, newKey } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { dateTime, date, points, money } from '../format.js';
import { onEvent } from '../ws.js';

let listEl, threadEl, current = null, ctxRef;

export async function render(main, ctx) {
  ctxRef = ctx;
  listEl = h('nav', { class: 'threads', 'aria-label': t('chat.threads') });
  threadEl = h('section', { class: 'thread' }, h('p', { class: 'muted' }, t('chat.pick')));
  mount(main, h('h1', null, t('nav.chat')), h('div', { class: 'chat' }, listEl, threadEl));
  current = ctx.params[0] || null;
  // Listen before loading, so a message that arrives meanwhile is not lost.
  const off = onEvent((ev) => {
    if (ev.type !== 'chat.message') return;
    loadList();
    if (ev.data && ev.data.thread_id === current) openThread(current, true);
  });
  await loadList();
  if (current) await openThread(current);
  return () => { off(); current = null; };
}

let listSeq = 0;

async function loadList() {
  const mine = ++listSeq;
  const r = await api('GET', '/v1/clinic/chats', undefined, { query: { limit: 50 } });
  if (mine !== listSeq) return; // a newer load answers
  listEl.dataset.ready = 'true';
  mount(listEl, r.threads.length ? r.threads.map((th) => h('a', {
    href: '#/chat/' + th.id, class: 'thread-item' + (th.id === current ? ' active' : ''), dataset: { id: th.id } },
  h('span', { class: 'pname' }, th.patient_name || t('noname')),
  h('small', { class: 'muted' }, dateTime(th.last_message_at), th.status === 'closed' ? ' · ' + t('chat.closed') : ''),
  th.unread ? h('span', { class: 'badge unread' }, String(th.unread)) : null)) : h('p', { class: 'muted' }, t('chat.none')));
}

let threadSeq = 0;

async function openThread(id, keepDraft) {
  const mine = ++threadSeq;
  const r = await api('GET', `/v1/clinic/chats/${encodeURIComponent(id)}`);
  if (mine !== threadSeq) return; // a newer load answers
  const draft = keepDraft ? threadEl.querySelector('textarea') : null;
  const msgs = h('ol', { class: 'messages', id: 'messages' }, r.messages.map((m) => h('li', { class: 'msg ' + m.author },
    h('p', { class: 'msg-text' }, m.text),
    m.bonus ? h('p', { class: 'msg-bonus' }, t('chat.bonusgiven', { n: points(m.bonus.points), r: m.bonus.reason })) : null,
    h('small', { class: 'muted' }, m.author === 'manager' ? (m.author_name || t('role.manager')) + ' · ' : '', dateTime(m.created_at)))));
  const pc = r.patient;
  const context = card(pc.name || t('noname'),
    h('h3', null, t('chat.cards')),
    table([[t('balance'), (c) => points(c.balance), 'num'], [t('status'), (c) => t('card.' + c.status)], [t('rec.for'), (c) => (c.holder.kind === 'dependant' ? [c.holder.first_name, c.holder.last_name].filter(Boolean).join(' ') : t('rec.own'))]], pc.cards),
    h('h3', null, t('chat.visits')),
    table([[t('when'), (v) => h('span', null, date(v.date), v.staff_name ? h('small', { class: 'muted block' }, v.staff_name) : null)],
      [t('chat.paid'), (v) => money(v.paid), 'num'], [t('points'), (v) => points(v.points), 'num']], pc.visits, t('chat.novisits')));
  const text = h('textarea', { name: 'text', rows: 3, 'aria-label': t('chat.reply') });
  if (draft) text.value = draft.value;
  const withBonus = h('input', { type: 'checkbox', name: 'with_bonus' });
  const bpts = input('bonus.points', { inputmode: 'numeric' });
  const breason = input('bonus.reason');
  const bcard = select('bonus.card_id', pc.cards.map((c) => [c.card_id, `${c.holder.kind === 'dependant' ? [c.holder.first_name, c.holder.last_name].filter(Boolean).join(' ') : t('rec.own')} · ${points(c.balance)}`]));
  const bonusBox = h('div', { class: 'grid3', hidden: true }, field(t('points'), bpts), field(t('chat.bonusreason'), breason), field(t('chat.card'), bcard));
  withBonus.onchange = () => { bonusBox.hidden = !withBonus.checked; };
  let key = newKey();
  const f = h('form', { class: 'reply', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const body = { text: text.value.trim() };
    if (withBonus.checked) {
      const n = Number(bpts.value);
      if (!Number.isInteger(n) || n <= 0) return showError(f, { field: 'bonus.points', message: t('err.points') });
      body.bonus = { points: n, reason: breason.value.trim(), card_id: bcard.value };
    }
    try {
      await api('POST', `/v1/clinic/chats/${encodeURIComponent(id)}/messages`, body, { key });
      key = newKey();
      text.value = '';
      await openThread(id);
      loadList();
    } catch (err) { showError(f, err); }
  } }, field(t('chat.reply'), text), h('label', { class: 'check' }, withBonus, t('chat.withbonus')), bonusBox, formErr(),
  h('div', { class: 'row' }, button(t('chat.send'), null, 'primary', 'submit'),
    button(r.thread.status === 'closed' ? t('chat.reopen') : t('chat.close'), async () => {
      await api('POST', `/v1/clinic/chats/${encodeURIComponent(id)}/${r.thread.status === 'closed' ? 'reopen' : 'close'}`);
      await openThread(id); loadList();
    }, 'ghost')));
  mount(threadEl, h('div', { class: 'thread-main' }, h('h2', { class: 'pname' }, pc.name || t('noname')), msgs, f), h('aside', { class: 'context' }, context));
  msgs.scrollTop = msgs.scrollHeight;
  if (r.thread.unread) {
    await api('POST', `/v1/clinic/chats/${encodeURIComponent(id)}/read`, { up_to: r.thread.last_seq }).catch(() => {});
    loadList();
    ctxRef.refreshUnread();
  }
}
