// Ratings: visit ratings with from/to/score filters, the average and the
// distribution per ISO week as a chart, CSV download, and "open chat" from
// a rating to its thread in the chat screen. A low rating shows live.
import { h, mount, field, input, select, button, showError, formErr, card, table } from '../dom.js';
import { api, download } from '../api.js';
import { t } from '../i18n.js';
import { dateTime, dayInZone } from '../format.js';
import { bars } from '../chart.js';
import { onEvent } from '../ws.js';

export async function render(main) {
  const from = input('from', { type: 'date', value: dayInZone(-30) });
  const to = input('to', { type: 'date', value: dayInZone(0) });
  const score = select('score', [['', t('rat.all')], ...[1, 2, 3, 4, 5].map((n) => [String(n), String(n)])], '');
  const out = h('div', { id: 'ratings' });
  const q = () => ({ from: from.value, to: to.value, score: score.value });
  const f = h('form', { class: 'row filters', novalidate: true, onsubmit: (e) => { e.preventDefault(); load(); } },
    field(t('rep.from'), from), field(t('rep.to'), to), field(t('rat.score'), score),
    button(t('rep.show'), null, 'primary', 'submit'),
    button(t('rep.csv'), async (e) => {
      try { await download('/v1/clinic/ratings', q(), 'ratings.csv'); } catch (err) { showError(f, err); }
    }, 'ghost'), formErr());
  mount(main, h('h1', null, t('nav.ratings')), card(null, f, out));
  async function load() {
    try {
      const r = await api('GET', '/v1/clinic/ratings', undefined, { query: q() });
      const dist = [1, 2, 3, 4, 5].map((n) => (r.distribution || {})[String(n)] || 0);
      mount(out,
        h('dl', { class: 'figures big' },
          h('div', null, h('dt', null, t('rat.count')), h('dd', { id: 'rat-count' }, String(r.count))),
          h('div', null, h('dt', null, t('rat.average')), h('dd', { id: 'rat-average' }, r.count ? r.average.toFixed(2) : '—')),
          h('div', null, h('dt', null, t('rat.distribution')), h('dd', null, dist.map((n, i) => `${i + 1}★ ${n}`).join(' · ')))),
        r.weeks.length ? h('div', null, h('h3', null, t('rat.perweek')),
          bars(r.weeks.map((w) => w.week), [5, 4, 3, 2, 1].map((n) => ({ label: n + '★', values: r.weeks.map((w) => (w.distribution || {})[String(n)] || 0) }))),
          h('p', { class: 'muted' }, r.weeks.map((w) => `${w.week}: ${t('rat.avg', { a: w.average.toFixed(2), n: w.count })}`).join(' · '))) : null,
        r.truncated ? h('p', { class: 'notice' }, t('rat.truncated')) : null,
        table([
          [t('when'), (x) => dateTime(x.created_at)],
          [t('rat.score'), (x) => h('span', { class: 'score' + (x.negative ? ' neg' : '') }, `${x.score} / 5`)],
          [t('rat.comment'), (x) => x.comment],
          [t('rat.doctor'), (x) => x.doctor],
          [t('rat.visit'), (x) => dateTime(x.visit_at)],
          ['', (x) => (x.thread_id ? h('a', { class: 'button small open-chat', href: '#/chat/' + encodeURIComponent(x.thread_id), dataset: { thread: x.thread_id } }, t('rat.openchat')) : '')],
        ], r.ratings, t('rep.empty')));
    } catch (err) { showError(f, err); }
  }
  // A low rating arrives live (care.negative_rating to every manager).
  const off = onEvent((ev) => { if (ev.type === 'care.negative_rating') load(); });
  await load();
  return off;
}
