// Peek: a queue's messages listed without receiving them (GET /v1/queues/{q}/messages): ready ones in the order
// consumers will get them, or delayed, leased or all. Nothing changes on the hub: no lease, no attempt counted.

import { api, clearProblems, showProblem } from './api.js';
import { h, field, table, fill, preview } from './dom.js';

const STATES = [
  ['ready', 'Ready (next to be received, in order)'],
  ['delayed', 'Delayed'],
  ['leased', 'Leased'],
  ['all', 'All but dead letters'],
];

/** The Peek panel of a queue's page; it reads only when asked (the Peek button, then More for the next page). */
export function peekPanel(path) {
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'peek-title' }, h('h2', { id: 'peek-title' }, 'Peek'));
  const state = h('select', { name: 'state', id: 'peek-state' }, STATES.map(([value, label]) => h('option', { value }, label)));
  const results = h('div', { id: 'peek-results', 'aria-live': 'polite' });
  let rows = [];
  let next = null;

  const load = async (after) => {
    clearProblems(panel);
    const query = `state=${state.value}&limit=20${after ? `&after=${encodeURIComponent(after)}` : ''}`;
    let page;
    try {
      page = await api('GET', `${path}/messages?${query}`);
    } catch (error) {
      showProblem(panel, error);
      return;
    }
    rows = after ? rows.concat(page.messages) : page.messages;
    next = page.next;
    fill(results,
      table([
        { title: 'Id', num: true, value: (m) => m.id },
        { title: 'State', value: (m) => m.state },
        { title: 'Attempts', num: true, value: (m) => m.attempts },
        { title: 'Sent', value: (m) => new Date(m.enqueuedAt).toLocaleTimeString() },
        { title: 'Until', value: (m) => until(m) },
        { title: 'Payload', value: (m) => h('code', {}, preview(m.payload ?? '')) },
      ], rows, { caption: 'Peeked messages', rowAttributes: (m) => ({ dataset: { peekId: m.id } }) }),
      next ? h('button', { type: 'button', class: 'secondary', id: 'peek-more', onclick: () => load(next) }, 'More') : null);
  };

  const form = h('form', { class: 'stack' },
    h('p', { class: 'muted' }, 'Look at messages without receiving them: no lease is taken and no attempt is counted.'),
    field('Show', state),
    h('div', {}, h('button', { type: 'submit', id: 'peek' }, 'Peek')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load(null);
  });
  panel.append(form, results);
  return panel;
}

function until(message) {
  if (message.state === 'leased') return `lease ends ${new Date(message.leaseExpiresAt).toLocaleTimeString()}`;
  if (message.state === 'delayed') return `visible ${new Date(message.visibleAt).toLocaleTimeString()}`;
  return 'now';
}
