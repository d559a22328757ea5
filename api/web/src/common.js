// What both pages share: calling the API, reading its problems, the map and its fallback
// outlines, and times in Vietnam.
import L from 'leaflet';

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

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.content || '';
}

// newMap draws a map in container: over the configured tile layer when the server has
// one, and always over the project's own outlines of post offices' areas and their zones
// (wards), which are the whole base layer when there is none, since the server may be
// offline.
// With fit, the view is fitted to the outlines found around center.
export async function newMap(container, { center = [10.975, 106.68], zoom = 13, fit = true } = {}) {
  const map = L.map(container, { center, zoom, zoomSnap: 0.5, keyboard: true });
  const tiles = meta('map-tiles');
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: meta('map-attribution') }).addTo(map);
  } else {
    container.classList.add('no-tiles');
  }
  map.attributionControl.setPrefix(false);
  const outlines = L.layerGroup().addTo(map);
  try {
    const [lat, lon] = center;
    const r = 0.15; // degrees around the centre: a district and its neighbours
    const shapes = await api('GET', `/v1/map/outlines?bbox=${lon - r},${lat - r},${lon + r},${lat + r}`);
    const layer = L.geoJSON(shapes, {
      interactive: false,
      style: (f) => (f.properties.kind === 'service_area'
        ? { color: '#1d4f91', weight: 2, fill: !tiles, fillColor: '#e8eef7', fillOpacity: 0.6 }
        : { color: '#5b6b7f', weight: 1, dashArray: '4 3', fill: false }),
    });
    layer.eachLayer((l) => {
      if (l.feature.properties.kind === 'zone') {
        l.bindTooltip(l.feature.properties.name, { permanent: !tiles, direction: 'center', className: 'zone-label' });
      }
    });
    layer.addTo(outlines);
    if (fit && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
  } catch {
    // The map still works for pins and routes without its outlines.
  }
  return map;
}

export { L };
