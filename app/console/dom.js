// dom: build elements with data as text only. Children that are not Nodes
// become text nodes (never HTML), so a patient's name or a chat message
// can never run as markup.

export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  setProps(el, props);
  add(el, kids);
  return el;
}

const SVGNS = 'http://www.w3.org/2000/svg';

// svg builds an SVG element (attributes only, text children as text).
export function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, String(v));
  add(el, kids);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function add(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k == null || k === false) continue;
    el.append(k instanceof Node ? k : String(k));
  }
  return el;
}

// mount replaces el's children.
export function mount(el, ...kids) {
  el.replaceChildren();
  return add(el, kids);
}

// field is a labelled input with the slot where the API's error for
// `name` (its error.field) appears.
export function field(label, input, hint) {
  const name = input.getAttribute('name');
  if (!input.id) input.id = 'f-' + Math.random().toString(36).slice(2, 9);
  const err = h('small', { class: 'err', role: 'alert', dataset: { errFor: name || '' } });
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hint ? h('small', { class: 'hint' }, hint) : null, err);
}

export function input(name, props = {}) {
  return h('input', { name, type: 'text', autocomplete: 'off', ...props });
}

export function select(name, options, value) {
  return h('select', { name }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

export function button(label, onclick, cls = '', type = 'button') {
  return h('button', { type, class: cls, onclick }, label);
}

// clearErrors empties every error slot under root.
export function clearErrors(root) {
  for (const e of root.querySelectorAll('.err')) e.textContent = '';
  for (const e of root.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
}

// showError puts an API error next to the field it names (error.field,
// e.g. "levels[1].min_spend"), or in the form's general slot, and focuses
// that field. It returns the slot used.
export function showError(root, err, message) {
  clearErrors(root);
  const text = message || err.message;
  let slot = null;
  if (err.field) {
    slot = [...root.querySelectorAll('.err')].find((s) => s.dataset.errFor === err.field);
    if (!slot) {
      // lines[2].amount → the closest enclosing name that exists (lines).
      let f = err.field;
      while (!slot && /[.[]/.test(f)) {
        f = f.replace(/(\[\d+\]|\.[^.[]+)$/, '');
        slot = [...root.querySelectorAll('.err')].find((s) => s.dataset.errFor === f);
      }
    }
  }
  if (!slot) slot = root.querySelector('.err[data-err-for=""]') || root.querySelector('.form-err');
  if (slot) {
    slot.textContent = text;
    const inp = slot.parentElement && slot.parentElement.querySelector('input,select,textarea');
    if (inp && slot.dataset.errFor) {
      inp.setAttribute('aria-invalid', 'true');
      inp.focus();
    }
  }
  return slot;
}

export function formErr() {
  return h('p', { class: 'err form-err', role: 'alert', dataset: { errFor: '' } });
}

// table renders rows with the given columns [[header, row => cell]].
export function table(cols, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty || '—');
  return h('div', { class: 'table-wrap' }, h('table', null,
    h('thead', null, h('tr', null, cols.map(([head, , cls]) => h('th', { class: cls }, head)))),
    h('tbody', null, rows.map((r) => h('tr', null, cols.map(([, cell, cls]) => h('td', { class: cls }, cell(r))))))));
}

export function card(title, ...kids) {
  return h('section', { class: 'panel' }, title ? h('h2', null, title) : null, ...kids);
}

// newKey is an Idempotency-Key: one per operation, reused by its retries.
export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
}
