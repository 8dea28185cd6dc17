// Small charts drawn on a canvas (no library): a rolling line chart of a few series, redrawn when values arrive.
// Each chart keeps the last `points` values per series and describes its latest values in its aria-label.

export const colors = {
  rest: '#1f77b4', websocket: '#d62728', sse: '#2ca02c', grpc: '#9467bd', longpoll: '#ff7f0e', poll: '#8c564b', all: '#1f4e79',
};

export class LineChart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{ series: string[], labels?: Record<string,string>, unit?: string, points?: number, title: string }} options
   */
  constructor(canvas, { series, labels = {}, unit = '', points = 60, title }) {
    this.canvas = canvas;
    this.series = series;
    this.labels = labels;
    this.unit = unit;
    this.points = points;
    this.title = title;
    this.values = Object.fromEntries(series.map((s) => [s, []]));
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${title}: no data yet`);
    this.draw();
  }

  /** Adds one value per series (missing or null values are drawn as gaps). */
  push(values) {
    for (const s of this.series) {
      const list = this.values[s];
      list.push(values[s] ?? null);
      if (list.length > this.points) list.shift();
    }
    this.draw();
    const latest = this.series.map((s) => `${this.labels[s] ?? s} ${format(values[s])}${this.unit}`).join(', ');
    this.canvas.setAttribute('aria-label', `${this.title}, latest: ${latest}`);
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(200, canvas.clientWidth || 300);
    const height = Math.max(100, canvas.clientHeight || 180);
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const left = 44;
    const right = 8;
    const top = 8;
    const bottom = 18;
    let max = 0;
    for (const s of this.series) for (const v of this.values[s]) if (v !== null && v > max) max = v;
    const scale = niceMax(max);
    // Grid and axis labels.
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#5b6470';
    g.strokeStyle = '#e3e6ea';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = top + ((height - top - bottom) * i) / 4;
      g.beginPath();
      g.moveTo(left, Math.round(y) + 0.5);
      g.lineTo(width - right, Math.round(y) + 0.5);
      g.stroke();
      g.textAlign = 'right';
      g.textBaseline = 'middle';
      g.fillText(format(scale * (1 - i / 4)), left - 4, y);
    }
    g.textAlign = 'left';
    g.textBaseline = 'alphabetic';
    g.fillText(`last ${this.points} s`, left, height - 4);
    // Series.
    const step = (width - left - right) / Math.max(1, this.points - 1);
    for (const s of this.series) {
      const list = this.values[s];
      const offset = this.points - list.length;
      g.strokeStyle = colors[s] ?? '#333';
      g.lineWidth = 2;
      g.beginPath();
      let drawing = false;
      list.forEach((v, i) => {
        if (v === null) {
          drawing = false;
          return;
        }
        const x = left + (offset + i) * step;
        const y = top + (height - top - bottom) * (1 - (scale ? v / scale : 0));
        if (drawing) g.lineTo(x, y);
        else g.moveTo(x, y);
        drawing = true;
      });
      g.stroke();
    }
  }
}

/** A legend (a list) for a chart's series. */
export function legend(series, labels = {}) {
  const list = document.createElement('ul');
  list.className = 'legend';
  for (const s of series) {
    const item = document.createElement('li');
    item.style.setProperty('--swatch', colors[s] ?? '#333');
    item.textContent = labels[s] ?? s;
    list.append(item);
  }
  return list;
}

function niceMax(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= max) return m * power;
  return 10 * power;
}

function format(v) {
  if (v === null || v === undefined) return '–';
  if (v >= 1000) return `${Math.round(v / 100) / 10}k`;
  return String(Math.round(v * 100) / 100);
}
