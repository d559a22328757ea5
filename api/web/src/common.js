// What both pages share: calling the API, reading its problems, building elements, and
// times in Vietnam. The map is in map.js, which the applicants' page loads only once it
// needs it.

// ProblemError is an RFC 9457 answer from the API, or a network failure (status 0);
// retryAfter is the seconds the server asks a throttled or busy caller to wait (0: none).
export class ProblemError extends Error {
  constructor(status, body, retryAfter = 0) {
    super(body.detail || body.title || 'request failed');
    this.status = status;
    // An answer that is not a problem (a proxy's error page) is named by its status.
    this.code = body.code || (status ? `HTTP_${status}` : 'NETWORK');
    this.fields = body.errors || [];
    this.retryAfter = retryAfter;
  }
}

// api calls courierd on the same origin. A token, when given, goes as a bearer token.
export async function api(method, path, { body, token } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await send(method, path, headers, token, body === undefined ? undefined : JSON.stringify(body));
  const data = await readJSON(res);
  if (!res.ok) throw new ProblemError(res.status, data, Number(res.headers.get('Retry-After')) || 0);
  return data;
}

// apiFile fetches a file courierd writes (a report as CSV): its body, and the name the
// server gives it in Content-Disposition.
export async function apiFile(path, { token, accept }) {
  const res = await send('GET', path, { Accept: accept + ', application/problem+json' }, token);
  if (!res.ok) throw new ProblemError(res.status, await readJSON(res), Number(res.headers.get('Retry-After')) || 0);
  const name = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? 'export';
  return { blob: await res.blob(), name };
}

async function send(method, path, headers, token, body) {
  if (token) headers.Authorization = 'Bearer ' + token;
  try {
    // A stalled mobile connection gives up rather than leaving the form waiting for good.
    return await fetch(path, { method, headers, body, signal: AbortSignal.timeout(30000) });
  } catch {
    throw new ProblemError(0, { code: 'NETWORK', detail: 'network unreachable' });
  }
}

// readJSON is an answer's JSON body; one that is not JSON (a proxy's error page) is kept
// as its first words.
async function readJSON(res) {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

const vietnam = 'Asia/Ho_Chi_Minh';

// clock is an instant's time of day in Vietnam, "08:35".
export function clock(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleTimeString('en-GB', { timeZone: vietnam, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

// dateOf is an instant's date in Vietnam, "2026-11-24", built from its parts: how a
// locale writes a date whole is up to the browser.
const vietnamDate = new Intl.DateTimeFormat('en-US', { timeZone: vietnam, year: 'numeric', month: '2-digit', day: '2-digit' });
export function dateOf(at) {
  const part = Object.fromEntries(vietnamDate.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day}`;
}

// dateText is how a page writes a date (a "2026-12-06" day or an instant) in its
// language: "06/12/2026" in Vietnamese, day first as Vietnamese readers expect, and
// "6 Dec 2026" in English, so that neither reads as 12 June. Every date shown goes
// through it.
const monthsEn = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export function dateText(at, lang = 'vi') {
  if (!at) return '';
  const [y, m, d] = (/^\d{4}-\d{2}-\d{2}$/.test(at) ? at : dateOf(at)).split('-');
  return lang === 'en' ? `${Number(d)} ${monthsEn[Number(m) - 1]} ${y}` : `${d}/${m}/${y}`;
}

// parseDate reads a date as dateText writes it in either language, or as 2026-12-06:
// the day as "2026-12-06", or null.
export function parseDate(text) {
  const s = text.trim();
  let y, m, d;
  let parts;
  if ((parts = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s))) [, y, m, d] = parts.map(Number);
  else if ((parts = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(s))) [, d, m, y] = parts.map(Number);
  else if ((parts = /^(\d{1,2}) ([A-Za-z]{3}) (\d{4})$/.exec(s))) {
    d = Number(parts[1]);
    m = monthsEn.findIndex((x) => x.toLowerCase() === parts[2].toLowerCase()) + 1;
    y = Number(parts[3]);
  } else return null;
  const at = new Date(Date.UTC(y, m - 1, d));
  if (at.getUTCFullYear() !== y || at.getUTCMonth() !== m - 1 || at.getUTCDate() !== d) return null;
  return at.toISOString().slice(0, 10);
}

// dayAfter is the day n days after a "2026-12-06" day.
export function dayAfter(day, n) {
  const at = new Date(day + 'T00:00:00Z');
  at.setUTCDate(at.getUTCDate() + n);
  return at.toISOString().slice(0, 10);
}

// today is the date in Vietnam now.
export function today() {
  return dateOf(new Date());
}

// slotText is a booked slot as "08:00–10:00".
export function slotText(slot) {
  return slot ? `${slot.start}–${slot.end}` : '';
}

// el makes an element with attributes and children; text goes in as text, never HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}
