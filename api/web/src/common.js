// What both pages share: calling the API, reading its problems, building elements, and
// times in Vietnam. The map is in map.js, which the applicants' page loads only once it
// needs it.

// ProblemError is an RFC 9457 answer from the API, or a network failure (status 0).
export class ProblemError extends Error {
  constructor(status, body) {
    super(body.detail || body.title || 'request failed');
    this.status = status;
    this.code = body.code || 'NETWORK';
    this.fields = body.errors || [];
  }
}

// api calls courierd on the same origin. A token, when given, goes as a bearer token.
export async function api(method, path, { body, token } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ProblemError(0, { code: 'NETWORK', detail: 'network unreachable' });
  }
  const text = await res.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!res.ok) throw new ProblemError(res.status, data);
  return data;
}

const vietnam = 'Asia/Ho_Chi_Minh';

// clock is an instant's time of day in Vietnam, "08:35".
export function clock(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleTimeString('en-GB', { timeZone: vietnam, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

// today is the date in Vietnam, "2026-11-24".
export function today(at = new Date()) {
  return at.toLocaleDateString('en-CA', { timeZone: vietnam });
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
