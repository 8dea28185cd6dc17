// Topics: list and create; one topic's configuration, statistics and presence; a publish form; history from a position;
// and a live tail over the transport the user picks (WebSocket, SSE or long polling), through the hub's own JS client.

import { api, clearProblems, clientOptions, showProblem, announce } from './api.js';
import { h, field, number, preview, parsePayload, table, fill } from './dom.js';

const transportNames = { websocket: 'WebSocket', sse: 'Server-Sent Events', longpolling: 'Long polling' };

export async function render(main, topic) {
  main.append(h('h1', {}, topic ? `Topic ${topic}` : 'Topics'));
  const layout = h('div', { class: 'split' });
  main.append(layout);
  const side = h('div', {});
  const detail = h('div', {});
  layout.append(side, detail);
  side.append(listPanel(topic), createPanel());
  if (!topic) {
    detail.append(h('section', { class: 'panel' }, h('p', { class: 'muted' }, 'Pick a topic to inspect it, publish to it, read its history or tail it live.')));
    return () => {};
  }
  return topicDetail(detail, topic);
}

function listPanel(selected) {
  const prefix = h('input', { type: 'search', name: 'prefix', id: 'topic-prefix', placeholder: 'orders.' });
  const results = h('div', { id: 'topic-list' });
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'topic-list-title' }, h('h2', { id: 'topic-list-title' }, 'All topics'));
  const load = async () => {
    clearProblems(panel);
    try {
      const page = await api('GET', `/v1/topics?limit=100${prefix.value ? `&prefix=${encodeURIComponent(prefix.value)}` : ''}`);
      fill(results, table([
        { title: 'Topic', value: (t) => h('a', { href: `#/topics/${encodeURIComponent(t.name)}`, 'aria-current': t.name === selected ? 'page' : null }, t.name) },
        { title: 'Messages', num: true, value: (t) => number(t.stats.messageCount) },
        { title: 'Last offset', num: true, value: (t) => number(t.stats.lastOffset) },
      ], page.topics, { caption: 'Topics', rowAttributes: (t) => ({ class: t.name === selected ? 'selected' : null }) }),
      page.next ? h('p', { class: 'muted' }, 'More topics exist: narrow the prefix.') : null);
    } catch (error) {
      showProblem(panel, error);
    }
  };
  const form = h('form', { class: 'inline', role: 'search' }, field('Prefix', prefix), h('button', { type: 'submit', class: 'secondary' }, 'Filter'));
  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  panel.append(form, results);
  load();
  return panel;
}

function createPanel() {
  const name = h('input', { name: 'name', id: 'create-topic-name', required: true, placeholder: 'orders.eu.created', autocomplete: 'off' });
  const maxMessages = h('input', { name: 'maxMessages', id: 'create-topic-max', type: 'number', min: '1', placeholder: 'no limit' });
  const maxAge = h('input', { name: 'maxAge', id: 'create-topic-age', placeholder: '7d' });
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'create-topic-title' }, h('h2', { id: 'create-topic-title' }, 'Create a topic'));
  const form = h('form', { class: 'stack' },
    field('Name', name, 'Tokens of letters, digits, _ and - joined by dots.'),
    field('Keep at most (messages)', maxMessages),
    field('Keep for (age)', maxAge, 'e.g. 1h, 7d; empty: the hub default.'),
    h('div', {}, h('button', { type: 'submit' }, 'Create')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(panel);
    const retention = {};
    if (maxMessages.value) retention.maxMessages = Number(maxMessages.value);
    if (maxAge.value) retention.maxAge = maxAge.value.trim();
    try {
      await api('PUT', `/v1/topics/${encodeURIComponent(name.value.trim())}`, Object.keys(retention).length ? { retention } : {});
      announce(`Topic ${name.value} created.`);
      location.hash = `#/topics/${encodeURIComponent(name.value.trim())}`;
    } catch (error) {
      showProblem(panel, error);
    }
  });
  panel.append(form);
  return panel;
}

async function topicDetail(detail, topic) {
  const path = `/v1/topics/${encodeURIComponent(topic)}`;
  const info = h('section', { class: 'panel', 'aria-labelledby': 'topic-info-title' }, h('h2', { id: 'topic-info-title' }, 'Configuration and statistics'));
  const presence = h('section', { class: 'panel', 'aria-labelledby': 'presence-title' }, h('h2', { id: 'presence-title' }, 'Presence'));
  detail.append(info, presence);
  const refresh = async () => {
    clearProblems(info);
    try {
      const t = await api('GET', path);
      fill(info, info.firstChild, h('dl', { class: 'facts', id: 'topic-facts' },
        h('dt', {}, 'Epoch'), h('dd', {}, t.epoch),
        h('dt', {}, 'Messages'), h('dd', { id: 'topic-count' }, number(t.stats.messageCount)),
        h('dt', {}, 'Offsets'), h('dd', {}, `${number(t.stats.firstOffset)} – ${number(t.stats.lastOffset)}`),
        h('dt', {}, 'Bytes'), h('dd', {}, number(t.stats.bytes)),
        h('dt', {}, 'Last published'), h('dd', {}, t.stats.lastPublishedAt ? new Date(t.stats.lastPublishedAt).toLocaleString() : '–'),
        h('dt', {}, 'Retention'), h('dd', {}, describeRetention(t.retention)),
        h('dt', {}, 'Created'), h('dd', {}, new Date(t.createdAt).toLocaleString())),
      h('button', { type: 'button', class: 'secondary', onclick: refresh }, 'Refresh'));
      const p = await api('GET', `${path}/presence`);
      fill(presence, presence.firstChild,
        h('p', {}, `${number(p.count)} subscriber${p.count === 1 ? '' : 's'} now; joins and leaves are published on `, h('code', {}, p.events), '.'),
        table([
          { title: 'Connection', value: (s) => s.connectionId },
          { title: 'Transport', value: (s) => s.transport },
          { title: 'Principal', value: (s) => s.principal ?? '–' },
          { title: 'Since', value: (s) => new Date(s.since).toLocaleTimeString() },
        ], p.subscribers, { caption: 'Subscribers' }));
    } catch (error) {
      showProblem(info, error);
    }
  };
  await refresh();
  detail.append(publishPanel(path, refresh), historyPanel(path));
  const tail = tailPanel(topic);
  detail.append(tail.panel);
  return tail.stop;
}

function describeRetention(r) {
  const parts = [];
  if (r.maxMessages) parts.push(`${number(r.maxMessages)} messages`);
  if (r.maxAge) parts.push(r.maxAge);
  if (r.maxBytes) parts.push(`${number(r.maxBytes)} bytes`);
  return parts.length ? `at most ${parts.join(', ')}` : 'everything';
}

function publishPanel(path, refresh) {
  const payload = h('textarea', { name: 'payload', id: 'publish-payload', required: true }, '{"hello": "world"}');
  const key = h('input', { name: 'key', id: 'publish-key', autocomplete: 'off' });
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'publish-title' }, h('h2', { id: 'publish-title' }, 'Publish'));
  const form = h('form', { class: 'stack' },
    field('Payload', payload, 'JSON is sent as JSON; anything else as a string.'),
    field('Key (optional)', key),
    h('div', {}, h('button', { type: 'submit', id: 'publish-submit' }, 'Publish')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(panel);
    const body = { payload: parsePayload(payload.value).value };
    if (key.value) body.key = key.value;
    try {
      const result = await api('POST', `${path}/messages`, body);
      panel.append(h('div', { class: 'ok', role: 'status' }, `Stored at offset ${result.offset} (epoch ${result.epoch}).`));
      refresh();
    } catch (error) {
      showProblem(panel, error);
    }
  });
  panel.append(form);
  return panel;
}

function historyPanel(path) {
  const after = h('input', { name: 'after', id: 'history-after', value: '0', autocomplete: 'off' });
  const limit = h('input', { name: 'limit', id: 'history-limit', type: 'number', min: '1', max: '1000', value: '20' });
  const rows = h('div', { id: 'history' });
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'History'));
  const load = async () => {
    clearProblems(panel);
    try {
      const page = await api('GET', `${path}/messages?after=${encodeURIComponent(after.value)}&limit=${encodeURIComponent(limit.value)}`);
      fill(rows, 
        page.missed ? h('p', { class: 'muted' }, `Offsets ${page.missed.fromOffset}–${page.missed.toOffset} were removed by retention.`) : null,
        table([
          { title: 'Offset', num: true, value: (m) => m.offset },
          { title: 'Time', value: (m) => new Date(m.timestamp).toLocaleTimeString() },
          { title: 'Key', value: (m) => m.key ?? '' },
          { title: 'Payload', value: (m) => h('code', {}, preview(m.payload ?? m.payloadBase64 ?? '')) },
        ], page.messages, { caption: 'Messages' }),
        page.messages.length ? h('button', { type: 'button', class: 'secondary', onclick: () => { after.value = page.next; load(); } }, 'Next page') : null);
    } catch (error) {
      showProblem(panel, error);
    }
  };
  const form = h('form', { class: 'inline' }, field('After position', after), field('Limit', limit), h('button', { type: 'submit', class: 'secondary' }, 'Read'));
  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  panel.append(h('p', { class: 'muted' }, 'From an offset (0 = the start) or an epoch:offset position, as each page\'s next gives it.'), form, rows);
  return panel;
}

function tailPanel(topic) {
  const transport = h('select', { name: 'transport', id: 'tail-transport' },
    Object.entries(transportNames).map(([value, label]) => h('option', { value }, label)));
  const toggle = h('button', { type: 'submit', id: 'tail-toggle' }, 'Start tail');
  const state = h('p', { id: 'tail-state', role: 'status' }, 'Not tailing.');
  const feed = h('ol', { class: 'feed', id: 'tail-feed', 'aria-label': 'Messages as they arrive', reversed: true });
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'tail-title' }, h('h2', { id: 'tail-title' }, 'Live tail'));
  let client = null;
  const stop = () => {
    client?.close();
    client = null;
    delete state.dataset.ready;
    toggle.textContent = 'Start tail';
    transport.disabled = false;
  };
  const start = async () => {
    const chosen = transport.value;
    transport.disabled = true;
    toggle.textContent = 'Stop tail';
    fill(state, `Connecting over ${transportNames[chosen]}…`);
    clearProblems(panel);
    try {
      const { connect } = await import('/client.js');
      client = await connect(location.origin, clientOptions({ transports: [chosen], maxReconnectAttempts: 5 }));
      const showState = () => fill(state, client.state === 'connected' ? 'Tailing over ' : `${client.state}: `,
        h('span', { class: 'badge', id: 'tail-using', dataset: { transport: client.transport ?? '' } }, transportNames[client.transport] ?? client.transport ?? '–'));
      client.on('state', () => client && showState());
      client.on('error', (error) => showProblem(panel, error));
      const subscription = client.subscribe(topic, (message) => {
        feed.prepend(h('li', {}, h('span', { class: 'meta' }, `#${message.offset} ${new Date(message.timestamp).toLocaleTimeString()}`), preview(message.payload)));
        while (feed.children.length > 200) feed.lastChild.remove();
      });
      await subscription.ready;
      showState();
      state.dataset.ready = 'true'; // the hub confirmed the subscription: what is published from now on is shown
      announce(`Tailing ${topic} over ${transportNames[client.transport]}.`);
    } catch (error) {
      stop();
      fill(state, 'Not tailing.');
      showProblem(panel, error);
    }
  };
  const form = h('form', { class: 'inline' }, field('Transport', transport), toggle);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (client) {
      stop();
      fill(state, 'Stopped.');
    } else {
      start();
    }
  });
  panel.append(h('p', { class: 'muted' }, 'New messages as they are published, through the hub\'s JavaScript client (/client.js) on the transport you pick.'), form, state, feed);
  return { panel, stop };
}
