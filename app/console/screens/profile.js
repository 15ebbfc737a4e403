// Clinic profile: what patients see of the clinic (name, address, phone,
// site, hours, about, logo with a preview) and the join code with its QR
// for the desk. The QR needs the Authorization header, so it is fetched
// as a blob and shown through an object URL (the CSP allows blob: images).
import { h, mount, field, input, button, showError, clearErrors, formErr, card } from '../dom.js';
import { api, image } from '../api.js';
import { t } from '../i18n.js';

const MAX_LOGO = 512 * 1024;

export async function render(main, ctx) {
  const [p, j] = await Promise.all([api('GET', '/v1/clinic/profile'), api('GET', '/v1/clinic/join-code')]);
  const urls = [];
  const objectURL = (blob) => { const u = URL.createObjectURL(blob); urls.push(u); return u; };
  const qr = h('img', { id: 'join-qr', alt: t('prof.qr'), width: 220, height: 220, class: 'qr' });
  image('/v1/clinic/join-qr.png').then((u) => { if (u) { urls.push(u); qr.src = u; } });
  const join = card(t('prof.join'), h('div', { class: 'row' }, qr,
    h('div', null, h('p', null, t('prof.join.lead')), h('p', { class: 'big mono', id: 'join-code' }, j.code),
      h('p', null, h('a', { href: j.link, target: '_blank', rel: 'noopener' }, j.link)))));
  if (ctx.me.role !== 'manager') {
    mount(main, h('h1', null, t('nav.profile')), join);
    return () => urls.forEach((u) => URL.revokeObjectURL(u));
  }
  const fields = ['name', 'address', 'phone', 'site', 'hours'];
  const inputs = Object.fromEntries(fields.map((k) => [k, input(k, { value: p[k] || '', type: k === 'phone' ? 'tel' : k === 'site' ? 'url' : 'text' })]));
  const about = h('textarea', { name: 'about', rows: 4 }); about.value = p.about || '';
  const logoIn = h('input', { type: 'file', name: 'logo', accept: 'image/png,image/jpeg' });
  const preview = h('img', { class: 'logo-preview', id: 'logo-preview', alt: t('prof.logo'), hidden: !p.logo_url });
  if (p.logo_url) preview.src = sameOrigin(p.logo_url);
  const removeLogo = h('input', { type: 'checkbox', name: 'remove_logo' });
  let logo = null; // base64 of the chosen file
  logoIn.onchange = async () => {
    clearErrors(f);
    logo = null;
    const file = logoIn.files[0];
    if (!file) return;
    if (file.size > MAX_LOGO) return showError(f, { field: 'logo', message: t('prof.logo.big') });
    preview.src = objectURL(file);
    preview.hidden = false;
    removeLogo.checked = false;
    logo = await base64(file);
  };
  const ok = h('span', { class: 'ok' });
  const f = h('form', { class: 'panel', id: 'profile', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors(f);
    ok.textContent = '';
    const b = { about: about.value.trim() };
    for (const k of fields) b[k] = inputs[k].value.trim();
    if (logo) b.logo = logo;
    if (removeLogo.checked) b.remove_logo = true;
    try {
      const v = await api('PUT', '/v1/clinic/profile', b);
      ok.textContent = t('saved');
      // The header shows the clinic's name: it follows a rename.
      ctx.clinic.name = v.name;
      const brand = document.querySelector('header.top .brand strong');
      if (brand) brand.textContent = v.name;
      logo = null; logoIn.value = '';
      if (v.logo_url) { preview.src = sameOrigin(v.logo_url); preview.hidden = false; } else preview.hidden = true;
      removeLogo.checked = false;
    } catch (err) { showError(f, err); }
  } }, h('h2', null, t('prof.title')), h('p', { class: 'muted' }, t('prof.lead')),
  h('div', { class: 'grid2' }, field(t('prof.name'), inputs.name), field(t('prof.address'), inputs.address),
    field(t('prof.phone'), inputs.phone), field(t('prof.site'), inputs.site)),
  field(t('prof.hours'), inputs.hours, t('prof.hours.hint')), field(t('prof.about'), about),
  h('div', { class: 'row' }, field(t('prof.logo'), logoIn, t('prof.logo.hint')), preview),
  h('label', { class: 'check' }, removeLogo, t('prof.logo.remove')),
  formErr(), h('div', { class: 'row' }, button(t('save'), null, 'primary', 'submit'), ok));
  mount(main, h('h1', null, t('nav.profile')), f, join);
  return () => urls.forEach((u) => URL.revokeObjectURL(u));
}

// sameOrigin keeps the path of the API's absolute logo URL: the console
// loads images from its own origin only (img-src 'self').
function sameOrigin(u) {
  try { const x = new URL(u, location.href); return x.pathname + x.search; } catch { return ''; }
}

function base64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}
