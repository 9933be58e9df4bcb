/* The rainfall alerts map: each commune's latest risk level (GeoJSON from /api/sensors/alerts). */

const COLOURS = ['match', ['get', 'risk_level'], 1, '#f6c945', 2, '#f08a24', 3, '#c8102e', '#cfd8dc'];

async function init() {
  const box = document.getElementById('alerts-map');
  if (!box || !window.maplibregl) return;
  const data = await (await fetch(box.dataset.url, { credentials: 'same-origin' })).json();
  const map = new window.maplibregl.Map({
    container: box,
    style: { version: 8, sources: {}, layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#f4f1ea' } }] },
    center: [106.6, 21.8],
    zoom: 7,
  });
  map.on('load', () => {
    map.addSource('alerts', { type: 'geojson', data });
    map.addLayer({ id: 'alerts-fill', type: 'fill', source: 'alerts', paint: { 'fill-color': COLOURS, 'fill-opacity': 0.75 } });
    map.addLayer({ id: 'alerts-line', type: 'line', source: 'alerts', paint: { 'line-color': '#555', 'line-width': 0.5 } });
    const coords = data.features.flatMap((f) => f.geometry.coordinates.flat(2));
    if (coords.length) {
      const xs = coords.map((c) => c[0]);
      const ys = coords.map((c) => c[1]);
      map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 20, animate: false });
    }
    box.dataset.features = String(data.features.length);
  });
}

init();
