import { BASEMAP_OVERLAYS, LABEL_FONT, basemapStyle, isCluster } from './basemap.js';
import { config, mapElement, maplibregl, t } from './config.js';
import { CLUSTER_COLOURS, DEFAULT_INDICATOR, FILL_OPACITY, INDICATORS, MODEL_COLOURS, NO_DATA_COLOUR, RISK_COLOURS, SOURCE_IDS, WATER_COLOURS, WEAK_OPACITY, WORK_COLOURS } from './indicators.js';
import { addSymbolImages, colourBy, iconBy } from './symbols.js';
import { initialState } from './url-state.js';

// ---------------------------------------------------------------------------
// The map

/** The URL template of a tile layer, absolute (MapLibre's worker resolves it outside the page). */
export function tileUrl(layer, params) {
  const query = params ? `?${new URLSearchParams(params)}` : '';
  return `${window.location.origin}${config.tilesRoot}/${layer}/{z}/{x}/{y}.pbf${query}`;
}

export { LABEL_FONT, isCluster };

export const emptyCollection = () => ({ type: 'FeatureCollection', features: [] });
export const isPolygon = ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]];
export const isLine = ['in', ['geometry-type'], ['literal', ['LineString', 'MultiLineString']]];
export const isPoint = ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]];
const isSinglePoint = ['all', isPoint, ['!', isCluster]];
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


const initialView = initialState.view || { center: [106.6, 21.85], zoom: 8 };

export const map = new maplibregl.Map({
  container: mapElement,
  style: basemapStyle(config.basemapStyle, config.tilesRoot),
  center: initialView.center,
  zoom: initialView.zoom,
  attributionControl: false,
  locale: t.control,
  dragRotate: false,
  pitchWithRotate: false,
});
map.touchZoomRotate.disableRotation();
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
window.sinhkeMap = map;

/** The tile layer of each vector source (its source-layer too). */
export const TILE_LAYERS = {
  communes: 'communes',
  districts: 'districts',
  models: 'livelihood_models',
  works: 'infrastructure_works',
  water: 'water_schemes',
  risk: 'fallback_risk',
};
const TILE_PARAMS = { districts: { boundaries: 'legacy' } };
/** Tiles are asked for up to this zoom and drawn larger beyond it (points and outlines stay exact enough). */
const TILE_MAX_ZOOM = 15;
/** Below this zoom points that would overlap are thinned out (the ones drawn first stay). */
export const THIN_BELOW_ZOOM = 11;
const overlapAtZoom = ['step', ['zoom'], false, THIN_BELOW_ZOOM, true];


/** Shows the communes of a boundary version: the tiles are asked for again with ?boundaries=. */
export function showCommuneTiles(boundaries) {
  map.getSource('communes').setTiles([tileUrl('communes', { boundaries })]);
}

/**
 * The areas of each level the indicator can colour: their source (and tile layer) and fill
 * layer. The province is the GeoJSON outline also used for the first view.
 */
export const LEVEL_AREAS = {
  commune: { source: 'communes', sourceLayer: TILE_LAYERS.communes, fill: 'communes-fill', labels: 'communes-labels' },
  district: { source: 'districts', sourceLayer: TILE_LAYERS.districts, fill: 'districts-fill', labels: 'districts-labels' },
  province: { source: 'province', sourceLayer: undefined, fill: 'province-fill', labels: null },
};

/** The feature-state target of an area of a level. */
export function areaTarget(level, code) {
  const { source, sourceLayer } = LEVEL_AREAS[level];
  return sourceLayer ? { source, sourceLayer, id: code } : { source, id: code };
}

const choroplethPaint = (indicator) => ({
  'fill-color': fillColour(indicator),
  // an effect whose interval includes 0 is drawn paler
  'fill-opacity': ['case', ['boolean', ['feature-state', 'weak'], false], WEAK_OPACITY, FILL_OPACITY],
});

export function addSourcesAndLayers(boundaries) {
  addSymbolImages(map, 'work', 'square', WORK_COLOURS);
  addSymbolImages(map, 'water', 'drop', WATER_COLOURS);

  addSymbolImages(map, 'model', 'circle', MODEL_COLOURS);
  addSymbolImages(map, 'risk', 'circle', RISK_COLOURS);

  // vector tiles built by PostGIS (/tiles/{layer}/{z}/{x}/{y}.pbf), a feature's id its code
  for (const [source, layer] of Object.entries(TILE_LAYERS)) {
    map.addSource(source, {
      type: 'vector',
      tiles: [tileUrl(layer, source === 'communes' ? { boundaries } : TILE_PARAMS[source])],
      minzoom: 0,
      maxzoom: TILE_MAX_ZOOM,
      promoteId: { [layer]: 'code' },
    });
  }
  map.addSource('province', { type: 'geojson', data: emptyCollection(), promoteId: 'code' });

  map.addLayer({
    id: 'communes-fill',
    type: 'fill',
    source: 'communes',
    'source-layer': TILE_LAYERS.communes,
    paint: choroplethPaint(DEFAULT_INDICATOR),
  });
  // districts and the province coloured instead of the communes when that level is chosen
  map.addLayer({
    id: 'districts-fill',
    type: 'fill',
    source: 'districts',
    'source-layer': TILE_LAYERS.districts,
    layout: { visibility: 'none' },
    paint: choroplethPaint(DEFAULT_INDICATOR),
  });
  map.addLayer({
    id: 'province-fill',
    type: 'fill',
    source: 'province',
    layout: { visibility: 'none' },
    paint: choroplethPaint(DEFAULT_INDICATOR),
  });
  map.addLayer({
    id: 'communes-outline',
    type: 'line',
    source: 'communes',
    'source-layer': TILE_LAYERS.communes,
    paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 0.5, 12, 1.5] },
  });
  map.addLayer({
    id: 'districts-outline',
    type: 'line',
    source: 'districts',
    'source-layer': TILE_LAYERS.districts,
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
    'source-layer': TILE_LAYERS.communes,
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
    'source-layer': TILE_LAYERS.models,
    filter: isPolygon,
    paint: { 'fill-color': colourBy('model_type', MODEL_COLOURS), 'fill-opacity': 0.5 },
  });
  map.addLayer({
    id: 'models-plots-outline',
    type: 'line',
    source: 'models',
    'source-layer': TILE_LAYERS.models,
    filter: isPolygon,
    paint: { 'line-color': colourBy('model_type', MODEL_COLOURS), 'line-width': 1.5 },
  });
  map.addLayer({
    id: 'works-areas',
    type: 'fill',
    source: 'works',
    'source-layer': TILE_LAYERS.works,
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
    'source-layer': TILE_LAYERS.works,
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
    'source-layer': TILE_LAYERS.water,
    filter: isSinglePoint,
    layout: {
      'icon-image': iconBy('status', 'water', WATER_COLOURS),
      'icon-allow-overlap': overlapAtZoom,
      'icon-ignore-placement': overlapAtZoom,
      'icon-size': ['interpolate', ['linear'], ['zoom'], 8, 0.8, 13, 1.3],
    },
  });
  map.addLayer({
    id: 'works-points',
    type: 'symbol',
    source: 'works',
    'source-layer': TILE_LAYERS.works,
    filter: isSinglePoint,
    layout: {
      'icon-image': iconBy('work_type', 'work', WORK_COLOURS),
      'icon-allow-overlap': overlapAtZoom,
      'icon-ignore-placement': overlapAtZoom,
      'icon-size': ['interpolate', ['linear'], ['zoom'], 8, 0.8, 13, 1.3],
    },
  });
  map.addLayer({
    id: 'models-points',
    type: 'symbol',
    source: 'models',
    'source-layer': TILE_LAYERS.models,
    filter: isSinglePoint,
    layout: {
      'icon-image': iconBy('model_type', 'model', MODEL_COLOURS),
      'icon-allow-overlap': overlapAtZoom,
      'icon-ignore-placement': overlapAtZoom,
      'icon-size': ['interpolate', ['linear'], ['zoom'], 8, 0.55, 13, 0.9],
    },
  });
  map.addLayer({
    id: 'risk-points',
    type: 'symbol',
    source: 'risk',
    'source-layer': TILE_LAYERS.risk,
    filter: isSinglePoint,
    layout: {
      visibility: 'none',
      'icon-image': iconBy('reason', 'risk', RISK_COLOURS),
      'icon-allow-overlap': overlapAtZoom,
      'icon-ignore-placement': overlapAtZoom,
      'icon-size': ['interpolate', ['linear'], ['zoom'], 8, 0.4, 13, 0.8],
    },
  });
  for (const [group, colour] of Object.entries(CLUSTER_COLOURS)) addClusterLayers(group, colour);
  map.addLayer({
    id: 'communes-labels',
    type: 'symbol',
    source: 'communes',
    'source-layer': COMMUNE_LABELS,
    minzoom: 8.5,
    layout: {
      'text-field': ['get', 'name'],
      'text-font': LABEL_FONT,
      'text-size': ['interpolate', ['linear'], ['zoom'], 8.5, 10, 12, 13],
      'text-max-width': 8,
      'text-padding': 4,
    },
    paint: { 'text-color': '#1f2937', 'text-halo-color': 'rgba(255,255,255,0.9)', 'text-halo-width': 1.4 },
  }, 'models-plots');
  // the districts' names when they are coloured (in place of the communes' names)
  map.addLayer({
    id: 'districts-labels',
    type: 'symbol',
    source: 'districts',
    'source-layer': `${TILE_LAYERS.districts}_labels`,
    layout: {
      visibility: 'none',
      'text-field': ['get', 'name'],
      'text-font': LABEL_FONT,
      'text-size': 12,
      'text-max-width': 8,
      'text-padding': 8,
    },
    paint: { 'text-color': '#111827', 'text-halo-color': 'rgba(255,255,255,0.9)', 'text-halo-width': 1.6 },
  }, 'models-plots');
  // the own basemap's villages go above the choropleth, under the programme's layers
  for (const id of BASEMAP_OVERLAYS) if (map.getLayer(id)) map.moveLayer(id, 'models-plots');
}

/** The tile layer of the communes' label points (one per commune, in one tile). */
export const COMMUNE_LABELS = 'communes_labels';

function addClusterLayers(group, colour) {
  const source = { source: group, 'source-layer': TILE_LAYERS[group], filter: ['all', isPoint, isCluster] };
  map.addLayer({
    id: `${group}-clusters`,
    type: 'circle',
    ...source,
    layout: group === 'risk' ? { visibility: 'none' } : {},
    paint: {
      'circle-color': colour,
      'circle-opacity': 0.85,
      'circle-radius': ['step', ['get', 'point_count'], 9, 10, 12, 50, 16],
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 1.5,
    },
  });
  map.addLayer({
    id: `${group}-cluster-counts`,
    type: 'symbol',
    ...source,
    layout: {
      ...(group === 'risk' ? { visibility: 'none' } : {}),
      'text-field': ['to-string', ['get', 'point_count']],
      'text-font': LABEL_FONT,
      'text-size': 11,
      'text-allow-overlap': true,
    },
    paint: { 'text-color': '#ffffff' },
  });
}

/** setData, resolved once the worker has indexed the data (the province outline, GeoJSON). */
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
