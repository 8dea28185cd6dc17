// The chat demo (the guide's first WebSocket use case): rooms are topics chat.ROOM; every tab talks through the hub's JS
// client, over WebSocket when it can, else over SSE with REST publishes, else long polling — the page shows which, and why.

import { api, clearProblems, clientOptions, showProblem, announce, HubError } from './api.js';
import { h, field, fill } from './dom.js';

const transportNames = { websocket: 'WebSocket', sse: 'SSE + REST publishes', longpolling: 'Long polling + REST publishes' };
const nickKey = 'switchboard.console.nick';

export function render(main, room) {
  const nick = h('input', { name: 'nick', id: 'chat-nick', required: true, autocomplete: 'nickname', value: sessionStorage.getItem(nickKey) ?? `guest-${Math.random().toString(36).slice(2, 6)}` });
  const roomInput = h('input', { name: 'room', id: 'chat-room', required: true, value: room || 'lobby', pattern: '[A-Za-z0-9_\\-]+', title: 'Letters, digits, _ and -' });
  const mode = h('select', { name: 'mode', id: 'chat-mode' },
    h('option', { value: 'auto' }, 'Automatic (WebSocket, then SSE, then long polling)'),
    h('option', { value: 'sse' }, 'SSE only'),
    h('option', { value: 'longpolling' }, 'Long polling only'));
  const join = h('button', { type: 'submit', id: 'chat-join' }, 'Join');
  const state = h('p', { id: 'chat-state', role: 'status' }, 'Not connected.');
  const fallbacks = h('ul', { id: 'chat-fallbacks', class: 'muted' });
  const feed = h('ol', { class: 'feed', id: 'chat-feed', 'aria-label': 'Messages in the room', 'aria-live': 'polite' });
  const text = h('input', { name: 'text', id: 'chat-text', autocomplete: 'off', disabled: true, maxlength: '2000' });
  const send = h('button', { type: 'submit', id: 'chat-send', disabled: true }, 'Send');
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'chat-title' }, h('h2', { id: 'chat-title' }, 'Room'));
  const joinForm = h('form', { class: 'inline' }, field('Your name', nick), field('Room', roomInput), field('Transport', mode), join);
  const sendForm = h('form', { class: 'inline' }, h('div', { class: 'grow' }, field('Message', text)), send);
  panel.append(joinForm, state, fallbacks, feed, sendForm);
  main.append(h('h1', {}, 'Chat'),
    h('p', { class: 'muted' }, 'Open this page in several tabs and talk. Each room is the topic chat.ROOM; its history stays on the hub, so a tab that joins late sees the last messages.'),
    panel);

  let client = null;
  let topic = null;
  const leave = () => {
    client?.close();
    client = null;
    text.disabled = true;
    send.disabled = true;
    join.textContent = 'Join';
  };

  joinForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(panel);
    if (client) {
      leave();
      state.textContent = 'Left the room.';
      return;
    }
    sessionStorage.setItem(nickKey, nick.value);
    topic = `chat.${roomInput.value}`;
    fill(feed);
    fill(fallbacks);
    state.textContent = 'Connecting…';
    join.disabled = true;
    try {
      const { SwitchboardClient } = await import('/client.js');
      const transports = mode.value === 'auto' ? ['websocket', 'sse', 'longpolling'] : [mode.value];
      // Made by hand rather than with connect(), so the transports passed over while connecting are heard too.
      const current = new SwitchboardClient(location.origin, clientOptions({ transports, maxReconnectAttempts: 10 }));
      current.on('fallback', ({ transport, error }) => fallbacks.append(h('li', {}, `${transport} passed over: ${error?.message ?? 'refused'}`)));
      client = current;
      await current.start();
      const show = () => {
        if (client !== current) return;
        fill(state, current.state === 'connected' ? `In ${topic} as ${nick.value}, over ` : `${current.state}: `,
          h('span', { class: 'badge', id: 'chat-transport', dataset: { transport: current.transport ?? '' } }, transportNames[current.transport] ?? current.transport ?? '–'));
      };
      current.on('state', show);
      current.on('error', (error) => showProblem(panel, error));
      const after = await recentStart(topic, 20);
      const subscription = current.subscribe(topic, (message) => {
        const m = message.payload ?? {};
        feed.append(h('li', {}, h('span', { class: 'meta' }, new Date(message.timestamp).toLocaleTimeString()), h('strong', {}, `${m.from ?? '?'}: `), String(m.text ?? '')));
        while (feed.children.length > 200) feed.firstChild.remove();
        feed.scrollTop = feed.scrollHeight;
      }, after ? { after } : {});
      await subscription.ready;
      show();
      text.disabled = false;
      send.disabled = false;
      join.textContent = 'Leave';
      text.focus();
      announce(`Joined ${topic} over ${transportNames[current.transport]}.`);
    } catch (error) {
      leave();
      state.textContent = 'Not connected.';
      showProblem(panel, error);
    } finally {
      join.disabled = false;
    }
  });

  sendForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!client || !text.value.trim()) return;
    const message = { from: nick.value, text: text.value };
    text.value = '';
    try {
      await client.publish(topic, message);
    } catch (error) {
      showProblem(panel, error);
    }
  });

  return leave;
}

/** Where to start so the room shows its last `count` messages: epoch:offset, or null for a room with no history yet. */
async function recentStart(topic, count) {
  try {
    const info = await api('GET', `/v1/topics/${encodeURIComponent(topic)}`);
    return `${info.epoch}:${Math.max(info.stats.firstOffset - 1, info.stats.lastOffset - count, 0)}`;
  } catch (error) {
    if (error instanceof HubError && (error.status === 404 || error.status === 403)) return null;
    throw error;
  }
}
