// chart: tiny hand-written SVG bar charts (no library). Labels are text
// nodes; values are numbers.
import { svg, h } from './dom.js';

// bars draws vertical bars: series [{label, values:[n…], }], groups labels.
export function bars(groups, series, fmt = String) {
  const W = 640, H = 220, pad = 34, bottom = 28;
  // at least 4, so the five grid lines of small counts are whole numbers
  const max = Math.max(4, ...series.flatMap((s) => s.values.map((v) => Math.abs(v))));
  const gw = (W - pad) / Math.max(1, groups.length);
  const bw = Math.max(4, (gw - 10) / series.length);
  const el = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  for (let i = 0; i <= 4; i++) {
    const y = H - bottom - ((H - bottom - 10) * i) / 4;
    el.append(svg('line', { x1: pad, x2: W, y1: y, y2: y, class: 'grid' }));
    el.append(svg('text', { x: pad - 4, y: y + 4, class: 'axis', 'text-anchor': 'end' }, fmt(Math.round((max * i) / 4))));
  }
  groups.forEach((g, gi) => {
    series.forEach((s, si) => {
      const v = Math.abs(s.values[gi] || 0);
      const bh = ((H - bottom - 10) * v) / max;
      const x = pad + gi * gw + 5 + si * bw;
      const r = svg('rect', { x, y: H - bottom - bh, width: bw - 2, height: bh, class: 'bar s' + si, rx: 2 });
      r.append(svg('title', null, `${s.label} · ${g}: ${fmt(s.values[gi] || 0)}`));
      el.append(r);
    });
    el.append(svg('text', { x: pad + gi * gw + gw / 2, y: H - 8, class: 'axis', 'text-anchor': 'middle' }, g));
  });
  return h('figure', { class: 'chart-box' }, el, legend(series));
}

// hbars draws horizontal bars, one per row [{label, value, note}].
export function hbars(rows, fmt = String) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return h('div', { class: 'hbars' }, rows.map((r) => h('div', { class: 'hbar' },
    h('span', { class: 'hbar-label' }, r.label),
    h('span', { class: 'hbar-track' }, h('span', { class: 'hbar-fill', dataset: { w: String(Math.round((100 * r.value) / max)) } })),
    h('span', { class: 'hbar-value' }, r.note || fmt(r.value)))));
}

function legend(series) {
  if (series.length < 2) return null;
  return h('figcaption', { class: 'legend' }, series.map((s, i) => h('span', null, h('i', { class: 'sw s' + i }), s.label)));
}

// sizeBars sets the widths of hbars from data-w. Inline style attributes
// are blocked by the CSP (style-src 'self'), but the CSSOM is not.
export function sizeBars(root) {
  for (const el of root.querySelectorAll('.hbar-fill')) el.style.width = el.dataset.w + '%';
}
