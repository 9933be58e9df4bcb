/*
 * Reading charts of the device page: an SVG line per datastream, zoomed by the buttons or the
 * mouse wheel (around the pointer); each zoom fetches that range again, so a close look shows the
 * raw readings and a long range the hourly means the server chooses.
 */

const W = 800;
const H = 240;
const PAD = { l: 56, r: 10, t: 10, b: 24 };
const DAY = 86400000;
const MIN_SPAN = 3600000;

function fmt(t) {
  return new Date(t).toLocaleString(document.documentElement.lang || 'vi', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
}

function el(name, attrs, text) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

class ReadingChart {
  constructor(figure) {
    this.figure = figure;
    this.svg = figure.querySelector('svg');
    this.label = figure.querySelector('.chart-range');
    this.csv = figure.querySelector('.chart-csv');
    const last = figure.dataset.last ? Date.parse(figure.dataset.last) : Date.now();
    this.home = [last - 30 * DAY, last + 1000];
    this.range = [...this.home];
    figure.querySelectorAll('[data-zoom]').forEach((b) => b.addEventListener('click', () => this.zoom(b.dataset.zoom)));
    this.svg.addEventListener('wheel', (event) => {
      event.preventDefault();
      const box = this.svg.getBoundingClientRect();
      const share = Math.min(1, Math.max(0, ((event.clientX - box.left) / box.width * W - PAD.l) / (W - PAD.l - PAD.r)));
      this.zoom(event.deltaY < 0 ? 'in' : 'out', share);
    }, { passive: false });
  }

  zoom(how, share = 0.5) {
    const [a, b] = this.range;
    const span = b - a;
    if (how === 'reset') {
      this.range = [...this.home];
    } else {
      const next = Math.max(MIN_SPAN, how === 'in' ? span / 2 : span * 2);
      const centre = a + span * share;
      this.range = [centre - next * share, centre + next * (1 - share)];
    }
    this.load();
  }

  async load() {
    const [a, b] = this.range.map((t) => new Date(t).toISOString());
    const query = `from=${encodeURIComponent(a)}&to=${encodeURIComponent(b)}`;
    this.csv.href = `${this.csv.pathname}?${query}`;
    const response = await fetch(`${this.figure.dataset.url}?${query}`, { credentials: 'same-origin' });
    if (!response.ok) {
      this.label.textContent = `${response.status}`;
      return;
    }
    const data = await response.json();
    this.draw(data);
  }

  draw(data) {
    const [t0, t1] = this.range;
    const pts = data.points.map(([t, v]) => [Date.parse(t), v]);
    const values = pts.map((p) => p[1]);
    let lo = values.length ? Math.min(...values) : 0;
    let hi = values.length ? Math.max(...values) : 1;
    if (hi === lo) { hi += 1; lo -= 1; }
    const x = (t) => PAD.l + (t - t0) / (t1 - t0) * (W - PAD.l - PAD.r);
    const y = (v) => PAD.t + (hi - v) / (hi - lo) * (H - PAD.t - PAD.b);
    this.svg.replaceChildren();
    this.svg.append(el('line', { x1: PAD.l, x2: PAD.l, y1: PAD.t, y2: H - PAD.b, stroke: '#999' }));
    this.svg.append(el('line', { x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b, stroke: '#999' }));
    for (const v of [lo, (lo + hi) / 2, hi]) {
      this.svg.append(el('text', { class: 'axis', x: PAD.l - 4, y: y(v) + 4, 'text-anchor': 'end' }, v.toFixed(1)));
    }
    this.svg.append(el('text', { class: 'axis', x: PAD.l, y: H - 6 }, fmt(t0)));
    this.svg.append(el('text', { class: 'axis', x: W - PAD.r, y: H - 6, 'text-anchor': 'end' }, fmt(t1)));
    if (pts.length) {
      const d = pts.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join('');
      this.svg.append(el('path', { class: 'line', d }));
    }
    this.figure.dataset.points = String(pts.length);
    this.figure.dataset.resolution = data.resolution;
    this.label.textContent = `${fmt(t0)} – ${fmt(t1)} · ${data.count} (${data.resolution}) ${this.figure.dataset.unit}`;
  }
}

for (const figure of document.querySelectorAll('.reading-chart')) new ReadingChart(figure).load();
