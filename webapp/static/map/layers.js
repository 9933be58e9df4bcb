import { mapElement, maplibregl, t } from './config.js';
import { DEFAULT_INDICATOR, FILL_OPACITY, INDICATORS, MODEL_COLOURS, NO_DATA_COLOUR, RISK_COLOURS, SOURCE_IDS, WATER_COLOURS, WEAK_OPACITY, WORK_COLOURS } from './indicators.js';
import { addSymbolImages, colourBy, iconBy } from './symbols.js';

// ---------------------------------------------------------------------------
// The map

export const emptyCollection = () => ({ type: 'FeatureCollection', features: [] });
export const isPolygon = ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]];
export const isLine = ['in', ['geometry-type'], ['literal', ['LineString', 'MultiLineString']]];
export const isPoint = ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]];
export const indicatorValue = ['feature-state', 'value'];

/** The communes' fill colour for an indicator: its classes, grey without a value. */
export function fillColour(name) {
  const { breaks, colours } = INDICATORS[name];
  return [
    'case',
    ['==', ['typeof', indicatorValue], 'number'],
    ['step', indicatorValue, colours[0], ...breaks.flatMap((limit, index) => [limit, colours[index + 1]])],
    NO_DATA_COLOUR,
  ];
}

export const map = new maplibregl.Map({
  container: mapElement,
  style: {
    version: 8,
    // no basemap: the app runs without internet, so only our own GeoJSON is drawn
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e4e9ee' } }],
  },
  center: [106.6, 21.85],
  zoom: 8,
  attributionControl: false,
  locale: t.control,
  dragRotate: false,
  pitchWithRotate: false,
});
map.touchZoomRotate.disableRotation();
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
window.sinhkeMap = map;

export function addSourcesAndLayers() {
  addSymbolImages(map, 'work', 'square', WORK_COLOURS);
  addSymbolImages(map, 'water', 'drop', WATER_COLOURS);

  map.addSource('communes', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('districts', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('province', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('models', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('works', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('water', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });
  map.addSource('risk', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });

  map.addLayer({
    id: 'communes-fill',
    type: 'fill',
    source: 'communes',
    paint: {
      'fill-color': fillColour(DEFAULT_INDICATOR),
      // an effect whose interval includes 0 is drawn paler
      'fill-opacity': ['case', ['boolean', ['feature-state', 'weak'], false], WEAK_OPACITY, FILL_OPACITY],
    },
  });
  map.addLayer({
    id: 'communes-outline',
    type: 'line',
    source: 'communes',
    paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 0.5, 12, 1.5] },
  });
  map.addLayer({
    id: 'districts-outline',
    type: 'line',
    source: 'districts',
    layout: { 'line-join': 'round' },
    paint: { 'line-color': '#4b5563', 'line-width': 1.4, 'line-dasharray': [3, 1.5] },
  });
  map.addLayer({
    id: 'province-outline',
    type: 'line',
    source: 'province',
    layout: { 'line-join': 'round' },
    paint: { 'line-color': '#374151', 'line-width': 1.8 },
  });
  map.addLayer({
    id: 'communes-selected',
    type: 'line',
    source: 'communes',
    layout: { 'line-join': 'round' },
    paint: {
      'line-color': '#111827',
      'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3, 0],
    },
  });
  map.addLayer({
    id: 'models-plots',
    type: 'fill',
    source: 'models',
    filter: isPolygon,
    paint: { 'fill-color': colourBy('model_type', MODEL_COLOURS), 'fill-opacity': 0.5 },
  });
  map.addLayer({
    id: 'models-plots-outline',
    type: 'line',
    source: 'models',
    filter: isPolygon,
    paint: { 'line-color': colourBy('model_type', MODEL_COLOURS), 'line-width': 1.5 },
  });
  map.addLayer({
    id: 'works-areas',
    type: 'fill',
    source: 'works',
    filter: isPolygon,
    paint: {
      'fill-color': colourBy('work_type', WORK_COLOURS),
      'fill-opacity': 0.45,
      'fill-outline-color': colourBy('work_type', WORK_COLOURS),
    },
  });
  map.addLayer({
    id: 'works-lines',
    type: 'line',
    source: 'works',
    filter: isLine,
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: {
      'line-color': colourBy('work_type', WORK_COLOURS),
      'line-width': ['interpolate', ['linear'], ['zoom'], 8, 1.8, 13, 4],
    },
  });
  map.addLayer({
    id: 'water-schemes',
    type: 'symbol',
    source: 'water',
    filter: isPoint,
    layout: {
      'icon-image': iconBy('status', 'water', WATER_COLOURS),
      'icon-allow-overlap': true,
      'icon-ignore-placement': true,
      'icon-size': ['interpolate', ['linear'], ['zoom'], 8, 0.8, 13, 1.3],
    },
  });
  map.addLayer({
    id: 'works-points',
    type: 'symbol',
    source: 'works',
    filter: isPoint,
    layout: {
      'icon-image': iconBy('work_type', 'work', WORK_COLOURS),
      'icon-allow-overlap': true,
      'icon-ignore-placement': true,
      'icon-size': ['interpolate', ['linear'], ['zoom'], 8, 0.8, 13, 1.3],
    },
  });
  map.addLayer({
    id: 'models-points',
    type: 'circle',
    source: 'models',
    filter: isPoint,
    paint: {
      'circle-color': colourBy('model_type', MODEL_COLOURS),
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 4, 13, 7],
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 1.2,
    },
  });
  map.addLayer({
    id: 'risk-points',
    type: 'circle',
    source: 'risk',
    filter: isPoint,
    layout: { visibility: 'none' },
    paint: {
      'circle-color': colourBy('reason', RISK_COLOURS),
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 2.5, 13, 6],
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 0.8,
    },
  });
}

/** setData, resolved once the worker has indexed the data. */
export function setSourceData(id, data) {
  return map.getSource(id).setData(data, true);
}

/** Resolves after the next frame in which every source is loaded and nothing is moving. */
export function whenRendered() {
  return new Promise((resolve) => {
    const onIdle = () => {
      if (SOURCE_IDS.every((id) => map.isSourceLoaded(id))) resolve();
      else map.once('idle', onIdle);
    };
    map.once('idle', onIdle);
    map.triggerRepaint();
  });
}

export function boundsOf(collection) {
  const bounds = new maplibregl.LngLatBounds();
  const visit = (coordinates) => {
    if (typeof coordinates[0] === 'number') bounds.extend(coordinates);
    else coordinates.forEach(visit);
  };
  for (const feature of collection.features) {
    if (feature.geometry) visit(feature.geometry.coordinates);
  }
  return bounds.isEmpty() ? null : bounds;
}
