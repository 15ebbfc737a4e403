// News: this week's slot, compose (image, optional poll, schedule), edit,
// withdraw, delivery and read figures, poll results as a chart.
import { h, mount, field, input, button, showError, formErr, card, clearErrors } from '../dom.js';
import { api, image } from '../api.js';
import { t } from '../i18n.js';
import { dateTime, weekdayDate, localToISO, isoToLocal, points } from '../format.js';
import { hbars, sizeBars } from '../chart.js';

let main;

export async function render(m) {
  main = m;
  const [week, page] = await Promise.all([api('GET', '/v1/clinic/news/week'), api('GET', '/v1/clinic/news', undefined, { query: { limit: 20 } })]);
  mount(main, h('h1', null, t('nav.news')), slot(week), composer(), card(t('news.posts'), h('div', { id: 'posts' }, page.posts.map(post))));
}

function slot(week) {
  return h('p', { class: week.free_now ? 'notice ok-box' : 'notice', id: 'news-week' },
    week.free_now ? t('news.free') : t('news.next', { d: weekdayDate(week.next_allowed_at) }));
}

function fileToBase64(file) {
  return new Promise((res, rej) => {
    const r = new FileReader();
    r.onload = () => res(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => rej(r.error);
    r.readAsDataURL(file);
  });
}

function composer(existing) {
  const title = input('title', { value: existing ? existing.title : '', maxlength: 120 });
  const body = h('textarea', { name: 'body', rows: 5 }, existing ? existing.body : '');
  const img = h('input', { type: 'file', name: 'image', accept: 'image/png,image/jpeg' });
  const withPoll = h('input', { type: 'checkbox', name: 'with_poll', checked: !!(existing && existing.poll) });
  const options = h('textarea', { name: 'poll.options', rows: 3, placeholder: t('news.options.ph') }, existing && existing.poll ? existing.poll.options.join('\n') : '');
  const closes = input('poll.closes_at', { type: 'datetime-local', value: existing && existing.poll ? isoToLocal(existing.poll.closes_at) : '' });
  const pollBox = h('div', { hidden: !withPoll.checked }, field(t('news.options'), options, t('news.options.hint')), field(t('news.closes'), closes));
  withPoll.onchange = () => { pollBox.hidden = !withPoll.checked; };
  const when = input('publish_at', { type: 'datetime-local', value: existing && existing.status === 'scheduled' ? isoToLocal(existing.publish_at) : '' });
  const published = existing && existing.status !== 'scheduled';
  const f = h('form', { class: 'panel', novalidate: true, id: existing ? 'edit-' + existing.id : 'compose', onsubmit: async (e) => {
    e.preventDefault();
    clearErrors(f);
    const d = { title: title.value.trim(), body: body.value.trim() };
    try {
      if (img.files[0]) d.image = await fileToBase64(img.files[0]);
      if (!published) {
        if (withPoll.checked) {
          d.poll = { options: options.value.split('\n').map((s) => s.trim()).filter(Boolean) };
          if (closes.value) d.poll.closes_at = localToISO(closes.value);
        } else if (existing && existing.poll) d.poll = null;
        if (when.value) d.publish_at = localToISO(when.value);
      }
      if (existing) await api('PATCH', `/v1/clinic/news/${encodeURIComponent(existing.id)}`, d);
      else await api('POST', '/v1/clinic/news', d);
      await render(main);
    } catch (err) {
      if (err.code === 'weekly_limit' && err.nextAllowedAt) {
        showError(f, err, t('news.limit', { d: weekdayDate(err.nextAllowedAt) }));
        const w = document.getElementById('news-week');
        if (w) w.replaceWith(slot({ free_now: false, next_allowed_at: err.nextAllowedAt }));
      } else showError(f, err);
    }
  } },
  h('h2', null, existing ? t('news.edit') : t('news.compose')),
  field(t('news.title'), title), field(t('news.body'), body), field(t('news.image'), img, t('news.image.hint')),
  published ? null : h('div', null, h('label', { class: 'check' }, withPoll, t('news.withpoll')), pollBox,
    field(t('news.when'), when, t('news.when.hint'))),
  formErr(),
  h('div', { class: 'row' }, button(existing ? t('save') : t('news.publish'), null, 'primary', 'submit'),
    existing ? button(t('cancel'), () => render(main), 'ghost') : null));
  return f;
}

function post(p) {
  const el = h('article', { class: 'post', dataset: { id: p.id } },
    h('div', { class: 'post-head' }, h('h3', null, p.title), h('span', { class: 'tag ' + p.status }, t('news.status.' + p.status))),
    h('p', { class: 'muted' }, dateTime(p.publish_at), p.audience && p.audience !== 'all' ? ' · ' + p.audience : ''),
    h('p', { class: 'post-body' }, p.body),
    h('dl', { class: 'figures' },
      h('div', null, h('dt', null, t('news.recipients')), h('dd', null, points(p.recipients))),
      h('div', null, h('dt', null, t('news.sent')), h('dd', null, points(p.sent))),
      h('div', null, h('dt', null, t('news.failed')), h('dd', null, points(p.failed))),
      h('div', null, h('dt', null, t('news.read')), h('dd', null, points(p.read)))));
  if (p.image_url) image(p.image_url).then((u) => { if (u) el.insertBefore(h('img', { src: u, alt: '', class: 'post-img' }), el.children[2]); });
  if (p.poll) {
    const box = h('div', { class: 'poll' }, h('h4', null, t('news.poll'), ' · ', t('news.closes'), ' ', dateTime(p.poll.closes_at)));
    el.append(box);
    api('GET', `/v1/clinic/news/${encodeURIComponent(p.id)}/results`).then((r) => {
      box.append(hbars(r.options.map((o) => ({ label: o.option, value: o.votes, note: `${o.votes} · ${(o.percent_bp / 100).toFixed(0)} %` }))),
        h('p', { class: 'muted' }, t('news.votes', { n: r.total })));
      sizeBars(box);
    }).catch(() => {});
  }
  const actions = h('div', { class: 'row' });
  if (p.status !== 'withdrawn' && p.status !== 'cancelled') {
    actions.append(button(t('edit'), () => el.replaceWith(composer(p)), 'small'),
      button(p.status === 'scheduled' ? t('news.cancel') : t('news.withdraw'), async () => {
        if (!confirm(t('news.sure'))) return;
        await api('DELETE', `/v1/clinic/news/${encodeURIComponent(p.id)}`);
        await render(main);
      }, 'small danger'));
  }
  el.append(actions);
  return el;
}

