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

// newMap draws a map in container: over the configured tile layer when the server has
// one, and always over the project's own outlines of post offices' areas and their zones
// (wards), which are the whole base layer when there is none, since the server may be
// offline.
// With fit, the view is fitted to the outlines found around center.
export async function newMap(container, { center = [10.975, 106.68], zoom = 13, fit = true } = {}) {
  const tiles = meta('map-tiles');
  // Without tiles only the wards' outlines are drawn: closer than a ward's width shows a blank.
  const map = L.map(container, { center, zoom: tiles ? zoom : Math.min(zoom, 14), zoomSnap: 0.5, keyboard: true });
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: meta('map-attribution') }).addTo(map);
  } else {
    container.classList.add('no-tiles');
  }
  map.attributionControl.setPrefix(false);
  const { lat, lng } = L.latLng(center);
  const r = 0.15; // degrees around the centre: a district and its neighbours
  let shapes;
  try {
    shapes = await api('GET', `/v1/map/outlines?bbox=${lng - r},${lat - r},${lng + r},${lat + r}`);
  } catch {
    return map; // the map still works for pins and routes without its outlines
  }
  const layer = L.geoJSON(shapes, {
    interactive: false,
    style: (f) => (f.properties.kind === 'service_area'
      ? { color: '#1d4f91', weight: 2, fill: !tiles, fillColor: '#e8eef7', fillOpacity: 0.6 }
      : { color: '#5b6b7f', weight: 1, dashArray: '4 3', fill: false }),
  });
  layer.eachLayer((l) => {
    if (l.feature.properties.kind === 'zone') {
      l.bindTooltip(tip(l.feature.properties.name), { permanent: !tiles, direction: 'center', className: 'zone-label' });
    }
  });
  layer.addTo(map);
  if (fit && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
  return map;
}

export { L };
