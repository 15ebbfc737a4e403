// api: the console's only way to the server, the public /v1 API. The
// access token lives in this module's memory only; the refresh token is an
// HttpOnly cookie this code cannot read (POST /v1/auth/refresh with
// refresh_cookie: true rotates it).

let access = null;
let refreshing = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || 'HTTP ' + status);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.field = e.field || '';
    this.nextAllowedAt = e.next_allowed_at || null;
  }
}

export function setSignedOutHandler(f) { onSignedOut = f; }
export function signedIn() { return access !== null; }

async function send(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (access) init.headers.Authorization = 'Bearer ' + access;
  return fetch(path, init);
}

async function parse(res) {
  if (res.status === 204) return null;
  const ct = res.headers.get('Content-Type') || '';
  const data = ct.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export async function login(email, password) {
  access = null;
  const t = await parse(await send('POST', '/v1/staff/login', { email, password, refresh_cookie: true }));
  access = t.access_token;
}

// refresh trades the cookie for a new access token; concurrent callers
// share one request (a rotated refresh token must not be sent twice).
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const saved = access;
      access = null;
      try {
        const t = await parse(await exclusive(() => send('POST', '/v1/auth/refresh', { refresh_cookie: true })));
        access = t.access_token;
        return true;
      } catch (e) {
        if (e.status === 401 || e.status === 400) return false;
        access = saved;
        throw e;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

// exclusive runs f while holding a lock shared by every console tab of
// this origin: two tabs must not present the same refresh cookie at once,
// or the second would look like a replayed token and end the session.
function exclusive(f) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request('carewallet-refresh', f);
  return f();
}

export async function logout() {
  try {
    if (access) await send('POST', '/v1/auth/logout');
  } finally {
    access = null;
  }
}

// api calls the API; opts.key sends an Idempotency-Key (keep one per
// operation so a retry replays instead of repeating); opts.query adds
// query parameters (empty values left out).
export async function api(method, path, body, opts = {}) {
  const headers = {};
  if (opts.key) headers['Idempotency-Key'] = opts.key;
  const url = withQuery(path, opts.query);
  let res = await send(method, url, body, headers);
  if (res.status === 401 && access) {
    if (await refresh()) res = await send(method, url, body, headers);
    else { onSignedOut(); }
  }
  return parse(res);
}

export function withQuery(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== '' && v != null) q.set(k, v);
  const s = q.toString();
  return s ? path + '?' + s : path;
}

// download fetches a CSV (the token goes in a header, so a plain link
// cannot) and saves it under name; opts.raw leaves out ?format=csv (a
// JSON document such as a patient's export).
export async function download(path, query, name, opts = {}) {
  const url = withQuery(path, opts.raw ? query : { ...query, format: 'csv' });
  let res = await send('GET', url);
  if (res.status === 401 && (await refresh())) res = await send('GET', url);
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  const blob = await res.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// upload sends a file as it is (a CSV price list) and parses the answer.
export async function upload(method, path, file, type) {
  const go = () => {
    const headers = { 'Content-Type': type };
    if (access) headers.Authorization = 'Bearer ' + access;
    return fetch(path, { method, headers, body: file, credentials: 'same-origin' });
  };
  let res = await go();
  if (res.status === 401 && access && (await refresh())) res = await go();
  return parse(res);
}

// image fetches an authenticated image as an object URL (img-src blob:).
export async function image(path) {
  let res = await send('GET', path);
  if (res.status === 401 && (await refresh())) res = await send('GET', path);
  if (!res.ok) return null;
  return URL.createObjectURL(await res.blob());
}
