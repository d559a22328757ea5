// The map both pages draw, with Leaflet: the applicants' page imports this module only
// when a form needs a map, so that a phone following an SMS link does not download it.
import L from 'leaflet';
import { api, el } from './common.js';

// tip is a tooltip's content as text: Leaflet puts a string in as HTML, and names come
// from people (zones, couriers, offices).
export const tip = (text) => el('span', {}, text);

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.content || '';
}

// newMap draws a map in container over the configured tile layer, or over nothing when
// the server has none: then showOutlines' shapes are the whole base layer, since the
// server may be offline.
export function newMap(container, { center, zoom = 13 }) {
  const tiles = meta('map-tiles');
  // Without tiles only the wards' outlines are drawn: closer than a ward's width shows a blank.
  const map = L.map(container, { center, zoom: tiles ? zoom : Math.min(zoom, 14), zoomSnap: 0.5, keyboard: true });
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: meta('map-attribution') }).addTo(map);
  } else {
    container.classList.add('no-tiles');
  }
  map.attributionControl.setPrefix(false);
  return map;
}

// showOutlines puts into layer the project's own outlines around center: the post offices'
// service areas and their zones (the wards), named. A map without them still works.
export async function showOutlines(layer, center) {
  const { lat, lng } = L.latLng(center);
  const r = 0.15; // degrees around the centre: a district and its neighbours
  let shapes;
  try {
    shapes = await api('GET', `/v1/map/outlines?bbox=${lng - r},${lat - r},${lng + r},${lat + r}`);
  } catch {
    return;
  }
  const tiles = meta('map-tiles');
  layer.clearLayers();
  L.geoJSON(shapes, {
    interactive: false,
    style: (f) => (f.properties.kind === 'service_area'
      ? { color: '#1d4f91', weight: 2, fill: !tiles, fillColor: '#e8eef7', fillOpacity: 0.6 }
      : { color: '#5b6b7f', weight: 1, dashArray: '4 3', fill: false }),
    onEachFeature: (f, l) => {
      if (f.properties.kind === 'zone') {
        l.bindTooltip(tip(f.properties.name), { permanent: !tiles, direction: 'center', className: 'zone-label' });
      }
    },
  }).addTo(layer);
}

export { L };
