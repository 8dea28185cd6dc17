// Connections and nodes: who is connected, over what, subscribed to what, on which node (GET /v1/connections, /v1/nodes).
// Read on demand (the Refresh button): a list of connections is a snapshot, not a stream.

import { api, clearProblems, showProblem } from './api.js';
import { h, number, table, fill } from './dom.js';

export async function render(main) {
  const connections = h('section', { class: 'panel', 'aria-labelledby': 'connections-title' }, h('h2', { id: 'connections-title' }, 'Connections'));
  const nodes = h('section', { class: 'panel', 'aria-labelledby': 'nodes-title' }, h('h2', { id: 'nodes-title' }, 'Nodes'));
  const refresh = h('button', { type: 'button', id: 'connections-refresh', class: 'secondary' }, 'Refresh');
  main.append(h('h1', {}, 'Connections and nodes'), h('p', {}, refresh), connections, nodes);
  const load = async () => {
    clearProblems(connections);
    clearProblems(nodes);
    try {
      const list = await api('GET', '/v1/connections?limit=500');
      fill(connections, connections.firstChild,
        h('p', { id: 'connections-count' }, `${number(list.count)} connection${list.count === 1 ? '' : 's'} on ${list.nodes.length} node${list.nodes.length === 1 ? '' : 's'}${list.partial ? ' (some nodes did not answer)' : ''}.`),
        table([
          { title: 'Id', value: (c) => h('code', {}, c.id) },
          { title: 'Transport', value: (c) => c.transport },
          { title: 'Principal', value: (c) => c.principal ?? '–' },
          { title: 'Address', value: (c) => c.remoteAddress ?? '–' },
          { title: 'Node', value: (c) => c.node ?? '–' },
          { title: 'Since', value: (c) => new Date(c.connectedAt).toLocaleTimeString() },
          { title: 'Buffered', num: true, value: (c) => number(c.bufferedBytes) },
          { title: 'Subscribed to', value: (c) => (c.subscriptions ?? []).flatMap((s) => s.topics).join(', ') || '–' },
        ], list.connections, { caption: 'Connections' }));
    } catch (error) {
      showProblem(connections, error);
    }
    try {
      const list = await api('GET', '/v1/nodes');
      fill(nodes, nodes.firstChild, table([
        { title: 'Node', value: (n) => `${n.name}${n.id === list.self ? ' (this one)' : ''}` },
        { title: 'State', value: (n) => n.state },
        { title: 'Addresses', value: (n) => n.addresses.join(', ') },
        { title: 'Connections', num: true, value: (n) => number(n.connections) },
        { title: 'By transport', value: (n) => Object.entries(n.connectionsByTransport).map(([t, c]) => `${t} ${c}`).join(', ') || '–' },
        { title: 'Subscriptions', num: true, value: (n) => number(n.subscriptions) },
        { title: 'Started', value: (n) => new Date(n.startedAt).toLocaleString() },
        { title: 'Last heartbeat', value: (n) => new Date(n.lastHeartbeat).toLocaleTimeString() },
      ], list.nodes, { caption: 'Nodes' }));
    } catch (error) {
      showProblem(nodes, error);
    }
  };
  refresh.addEventListener('click', load);
  await load();
}
