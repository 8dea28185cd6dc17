// The dashboard: the hub's own figures, pushed once a second over its $sys stream (GET /v1/sys/stats as
// text/event-stream, read with EventSource). No timer in the page: every redraw is a 'stats' event from the hub.

import { streamUrl } from './api.js';
import { h, number, table, fill } from './dom.js';
import { LineChart, legend } from './charts.js';

const protocols = ['rest', 'websocket', 'sse', 'grpc', 'longpoll', 'poll'];
const names = { rest: 'REST', websocket: 'WebSocket', sse: 'SSE', grpc: 'gRPC', longpoll: 'Long poll', poll: 'Poll', all: 'All' };
const streaming = ['websocket', 'sse', 'grpc', 'longpoll'];

export function render(main) {
  const status = h('span', { class: 'live', id: 'stats-state', 'data-state': 'connecting' }, 'connecting…');
  const card = (id, label) => h('div', { class: 'card' },
    h('div', { class: 'label', id: `${id}-label` }, label),
    h('div', { class: 'value', id, 'aria-labelledby': `${id}-label` }, '–'),
    h('div', { class: 'sub', id: `${id}-rate` }, ''));
  const cards = h('section', { class: 'cards', 'aria-label': 'Totals' },
    card('stat-published', 'Messages published'),
    card('stat-delivered', 'Messages delivered'),
    card('stat-connections', 'Connections'),
    card('stat-latency', 'Delivery latency p99'),
    card('stat-queued', 'Queued (ready)'),
    card('stat-dead', 'Dead letters'));

  const chart = (id, title) => {
    const canvas = h('canvas', { class: 'chart', id });
    return { canvas, panel: h('section', { class: 'panel', 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), canvas) };
  };
  const inChart = chart('chart-in', 'Messages in per second, by protocol');
  const outChart = chart('chart-out', 'Messages out per second, by protocol');
  const connChart = chart('chart-connections', 'Connections by protocol');
  const latencyChart = chart('chart-latency', 'Delivery latency p99 (ms), publish → write');
  const queues = h('div', { class: 'bars', id: 'queue-bars' }, h('p', { class: 'muted' }, 'Waiting for the first figures…'));
  const perProtocol = h('div', { id: 'protocol-table' });
  const node = h('span', { class: 'muted', id: 'stats-node' });

  main.append(
    h('h1', {}, 'Dashboard'),
    h('p', {}, status, ' ', node),
    cards,
    h('div', { class: 'grid charts' }, inChart.panel, outChart.panel, connChart.panel, latencyChart.panel),
    h('div', { class: 'grid' },
      h('section', { class: 'panel', 'aria-labelledby': 'queues-title' }, h('h2', { id: 'queues-title' }, 'Queue depths'),
        h('ul', { class: 'legend' }, ['ready', 'leased', 'delayed', 'dead'].map((s) => h('li', { class: `swatch-${s}` }, s))), queues),
      h('section', { class: 'panel', 'aria-labelledby': 'protocols-title' }, h('h2', { id: 'protocols-title' }, 'By protocol'), perProtocol)));

  const charts = {
    in: new LineChart(inChart.canvas, { series: ['rest', 'websocket', 'grpc'], labels: names, title: 'Messages in per second' }),
    out: new LineChart(outChart.canvas, { series: streaming.concat('poll'), labels: names, title: 'Messages out per second' }),
    connections: new LineChart(connChart.canvas, { series: streaming, labels: names, title: 'Connections' }),
    latency: new LineChart(latencyChart.canvas, { series: ['all', 'websocket', 'sse', 'grpc', 'longpoll'], labels: names, unit: ' ms', title: 'Delivery latency p99' }),
  };
  inChart.panel.append(legend(['rest', 'websocket', 'grpc'], names));
  outChart.panel.append(legend(streaming.concat('poll'), names));
  connChart.panel.append(legend(streaming, names));
  latencyChart.panel.append(legend(['all', 'websocket', 'sse', 'grpc', 'longpoll'], names));

  const source = new EventSource(streamUrl('/v1/sys/stats'));
  source.addEventListener('open', () => setState(status, 'live', 'live'));
  source.addEventListener('error', () => setState(status, 'down', source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…'));
  source.addEventListener('stats', (event) => {
    const stats = JSON.parse(event.data);
    setState(status, 'live', 'live');
    node.textContent = `node ${stats.node.slice(0, 8)} · ${new Date(stats.time).toLocaleTimeString()}`;
    update(stats, charts, queues, perProtocol);
  });
  return () => source.close();
}

function setState(element, state, text) {
  element.dataset.state = state;
  element.textContent = text;
}

function update(stats, charts, queues, perProtocol) {
  const p = stats.protocols;
  text('stat-published', number(stats.totals.published));
  text('stat-published-rate', `${number(stats.rates.publishedPerSecond, 1)}/s`);
  text('stat-delivered', number(stats.totals.delivered));
  text('stat-delivered-rate', `${number(stats.rates.deliveredPerSecond, 1)}/s`);
  text('stat-connections', number(stats.totals.connections));
  text('stat-connections-rate', stats.totals.subscriptions !== undefined ? `${number(stats.totals.subscriptions)} subscriptions` : '');
  text('stat-latency', stats.latency.latencyP99Ms === null ? '–' : `${number(stats.latency.latencyP99Ms, 1)} ms`);
  text('stat-latency-rate', stats.latency.latencySamples ? `p50 ${number(stats.latency.latencyP50Ms, 1)} ms · ${number(stats.latency.latencySamples)} samples` : 'no deliveries this second');
  const sum = (key) => stats.queues.reduce((total, q) => total + q[key], 0);
  text('stat-queued', number(sum('ready')));
  text('stat-queued-rate', `${number(stats.rates.queueSentPerSecond, 1)}/s sent · ${number(stats.rates.queueAckedPerSecond, 1)}/s acked`);
  text('stat-dead', number(sum('dead')));
  text('stat-dead-rate', `${number(stats.totals.deadLettered)} dead-lettered · ${number(stats.totals.redriven)} redriven`);

  charts.in.push(Object.fromEntries(protocols.map((k) => [k, p[k].publishedPerSecond])));
  charts.out.push(Object.fromEntries(protocols.map((k) => [k, p[k].deliveredPerSecond])));
  charts.connections.push(Object.fromEntries(protocols.map((k) => [k, p[k].connections])));
  charts.latency.push({ all: stats.latency.latencyP99Ms, ...Object.fromEntries(protocols.map((k) => [k, p[k].latencyP99Ms])) });

  fill(queues, ...(stats.queues.length === 0
    ? [h('p', { class: 'muted' }, 'No queues.')]
    : stats.queues.map((q) => queueBar(q))));
  fill(perProtocol, table([
    { title: 'Protocol', value: (k) => names[k] },
    { title: 'In/s', num: true, value: (k) => number(p[k].publishedPerSecond, 1) },
    { title: 'Out/s', num: true, value: (k) => number(p[k].deliveredPerSecond, 1) },
    { title: 'Connections', num: true, value: (k) => number(p[k].connections) },
    { title: 'p99 ms', num: true, value: (k) => number(p[k].latencyP99Ms, 1) },
  ], protocols, { caption: 'Figures by protocol' }));
}

function queueBar(queue) {
  const total = queue.ready + queue.leased + queue.delayed + queue.dead;
  const track = h('span', { class: 'track', role: 'img', 'aria-label': `${queue.name}: ${queue.ready} ready, ${queue.leased} leased, ${queue.delayed} delayed, ${queue.dead} dead` });
  for (const state of ['ready', 'leased', 'delayed', 'dead']) {
    if (!queue[state]) continue;
    const segment = h('span', { class: `seg-${state}` });
    segment.style.width = `${(100 * queue[state]) / total}%`;
    track.append(segment);
  }
  return h('div', { class: 'bar', dataset: { queue: queue.name } },
    h('a', { href: `#/queues/${encodeURIComponent(queue.name)}` }, queue.name), track, h('span', { class: 'muted' }, number(total)));
}

function text(id, value) {
  const element = document.getElementById(id);
  if (element) element.textContent = value;
}
