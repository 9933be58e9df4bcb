/*
 * The basemap under every map of the app (/map, /siting): a MapLibre style URL when the
 * installation names one (SINHKE_BASEMAP_STYLE_URL), else one drawn from our own layers.
 * No side effects: a page imports it without building the main map.
 */

/** Below zoom 12 the tiles hold the points sharing a cell as one feature with `point_count`. */
export const isCluster = ['has', 'point_count'];
/** Labels are drawn by the browser's own sans-serif (no glyph server: the app runs offline). */
export const LABEL_FONT = ['sans-serif'];

/**
 * The default basemap, drawn from our own layers since a province's tile server may be offline:
 * a plain background and the villages, dots with their names close up (moved above the
 * choropleth once it is added).
 */
export function ownBasemap(tilesRoot = '/tiles') {
  return {
    version: 8,
    sources: {
      basemap_villages: {
        type: 'vector',
        tiles: [`${window.location.origin}${tilesRoot}/villages/{z}/{x}/{y}.pbf`],
        minzoom: 0,
        maxzoom: 15,
        promoteId: { villages: 'code' },
      },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#e4e9ee' } },
      {
        id: 'basemap-villages',
        type: 'circle',
        source: 'basemap_villages',
        'source-layer': 'villages',
        minzoom: 12,
        filter: ['!', isCluster],
        paint: {
          'circle-radius': 2.5,
          'circle-color': '#4b5563',
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1,
        },
      },
      {
        id: 'basemap-village-names',
        type: 'symbol',
        source: 'basemap_villages',
        'source-layer': 'villages',
        minzoom: 13,
        filter: ['!', isCluster],
        layout: {
          'text-field': ['get', 'name'],
          'text-font': LABEL_FONT,
          'text-size': 11,
          'text-offset': [0, 0.8],
          'text-anchor': 'top',
          'text-optional': true,
        },
        paint: { 'text-color': '#374151', 'text-halo-color': '#ffffff', 'text-halo-width': 1.2 },
      },
    ],
  };
}
/** The own basemap's layers a page moves above its own fills (the villages). */
export const BASEMAP_OVERLAYS = ['basemap-villages', 'basemap-village-names'];

/** The style a map starts from: the configured URL, or our own basemap (tiles under ``tilesRoot``). */
export function basemapStyle(styleUrl, tilesRoot) {
  return styleUrl || ownBasemap(tilesRoot);
}
