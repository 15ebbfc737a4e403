// ws: the staff member's live inbox over the websocket. A ticket from
// POST /v1/ws/ticket authenticates the socket (browsers cannot set headers
// on it); the socket resumes after the last seq it saw when it reconnects.
import { api } from './api.js';

const listeners = new Set();
let sock = null;
let lastSeq = 0;
let stopped = true;
let retry = 500;

export function onEvent(f) { listeners.add(f); return () => listeners.delete(f); }

export function isOpen() { return sock !== null && sock.readyState === WebSocket.OPEN; }

export async function start() {
  stopped = false;
  try {
    if (!lastSeq) {
      // Live from here: skip what the inbox already holds.
      const page = await api('GET', '/v1/me/events', undefined, { query: { after: 0, limit: 500 } });
      lastSeq = page.next_after || 0;
      let p = page;
      while (p.events.length === 500) {
        p = await api('GET', '/v1/me/events', undefined, { query: { after: lastSeq, limit: 500 } });
        lastSeq = p.next_after || lastSeq;
      }
    }
    const { ticket } = await api('POST', '/v1/ws/ticket');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const s = new WebSocket(`${proto}//${location.host}/v1/ws?ticket=${encodeURIComponent(ticket)}&after=${lastSeq}`);
    sock = s;
    s.onopen = () => { retry = 500; document.body.dataset.live = 'on'; };
    s.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (typeof ev.seq === 'number') {
        if (ev.seq <= lastSeq) return;
        lastSeq = ev.seq;
      }
      for (const f of listeners) f(ev);
    };
    s.onclose = () => {
      document.body.dataset.live = 'off';
      if (sock === s) sock = null;
      again();
    };
  } catch {
    again();
  }
}

function again() {
  if (stopped) return;
  setTimeout(() => { if (!stopped && !sock) start(); }, retry);
  retry = Math.min(retry * 2, 15000);
}

export function stop() {
  stopped = true;
  lastSeq = 0;
  if (sock) { const s = sock; sock = null; s.close(); }
}
