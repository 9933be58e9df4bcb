import { OTHER_COLOUR } from './indicators.js';

// ---------------------------------------------------------------------------
// Point symbols: drawn on a canvas once, used both as map icons and in legends.

export const SYMBOL_SIZE = 17;

export function traceShape(ctx, shape, size) {
  const c = size / 2;
  const r = size / 2 - 1.5;
  ctx.beginPath();
  if (shape === 'circle') {
    ctx.arc(c, c, r, 0, 2 * Math.PI);
  } else if (shape === 'square') {
    ctx.rect(c - r * 0.8, c - r * 0.8, r * 1.6, r * 1.6);
  } else if (shape === 'drop') {
    // a water drop: point at the top, round at the bottom
    const bottom = c + r * 0.45;
    const radius = r * 0.58;
    ctx.moveTo(c, c - r);
    ctx.bezierCurveTo(c + radius * 0.25, c - r * 0.55, c + radius, bottom - radius * 0.9, c + radius, bottom);
    ctx.arc(c, bottom, radius, 0, Math.PI, false);
    ctx.bezierCurveTo(c - radius, bottom - radius * 0.9, c - radius * 0.25, c - r * 0.55, c, c - r);
  } else if (shape === 'line') {
    ctx.moveTo(1.5, size * 0.7);
    ctx.lineTo(size * 0.45, size * 0.35);
    ctx.lineTo(size - 1.5, size * 0.45);
  } else if (shape === 'area') {
    ctx.rect(1.5, 2.5, size - 3, size - 5);
  }
}

export function drawSymbol(ctx, shape, colour, size) {
  traceShape(ctx, shape, size);
  if (shape === 'line') {
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2.5;
    ctx.stroke();
    return;
  }
  ctx.fillStyle = shape === 'area' ? withAlpha(colour, 0.45) : colour;
  ctx.fill();
  ctx.lineWidth = shape === 'area' ? 1.5 : 1.6;
  ctx.strokeStyle = shape === 'area' ? colour : '#ffffff';
  ctx.stroke();
}

export function withAlpha(hex, alpha) {
  const value = parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

export function symbolCanvas(shape, colour, size = SYMBOL_SIZE) {
  const ratio = Math.max(2, Math.ceil(window.devicePixelRatio || 1));
  const canvas = document.createElement('canvas');
  canvas.width = size * ratio;
  canvas.height = size * ratio;
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  const ctx = canvas.getContext('2d');
  ctx.scale(ratio, ratio);
  drawSymbol(ctx, shape, colour, size);
  return { canvas, ratio };
}

export function addSymbolImage(map, id, shape, colour) {
  const { canvas, ratio } = symbolCanvas(shape, colour);
  const image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  map.addImage(id, image, { pixelRatio: ratio });
}

/** A `match` expression: category property → colour, with a fallback. */
export function colourBy(property, palette) {
  return ['match', ['get', property], ...Object.entries(palette).flat(), OTHER_COLOUR];
}

/** A `match` expression: category property → icon id (`prefix-category`). */
export function iconBy(property, prefix, palette) {
  const pairs = Object.keys(palette).flatMap((key) => [key, `${prefix}-${key}`]);
  return ['match', ['get', property], ...pairs, `${prefix}-other`];
}

export function addSymbolImages(map, prefix, shape, palette) {
  for (const [key, colour] of Object.entries(palette)) addSymbolImage(map, `${prefix}-${key}`, shape, colour);
  addSymbolImage(map, `${prefix}-other`, shape, OTHER_COLOUR);
}
