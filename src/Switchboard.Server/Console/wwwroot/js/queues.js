// Queues: their counts (ready, leased, delayed, dead), settings, a send form, a peek at the messages (peek.js), dead
// letters with their reasons, redrive (one or all) and purge behind a confirmation.

import { api, clearProblems, showProblem, announce } from './api.js';
import { h, field, number, preview, parsePayload, table, fill } from './dom.js';
import { peekPanel } from './peek.js';

export async function render(main, queue) {
  main.append(h('h1', {}, queue ? `Queue ${queue}` : 'Queues'));
  const layout = h('div', { class: 'split' });
  const side = h('div', {});
  const detail = h('div', {});
  layout.append(side, detail);
  main.append(layout);
  side.append(listPanel(queue), createPanel());
  if (!queue) {
    detail.append(h('section', { class: 'panel' }, h('p', { class: 'muted' }, 'Pick a queue to see its messages by state and its dead letters.')));
    return;
  }
  await queueDetail(detail, queue);
}

function counts(stats) {
  return `${number(stats.ready)} ready · ${number(stats.leased)} leased · ${number(stats.delayed)} delayed · ${number(stats.dead)} dead`;
}

function listPanel(selected) {
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'queue-list-title' }, h('h2', { id: 'queue-list-title' }, 'All queues'));
  const results = h('div', { id: 'queue-list' }, h('p', { class: 'muted' }, 'Loading…'));
  panel.append(results);
  api('GET', '/v1/queues?limit=100').then((page) => fill(results, table([
    { title: 'Queue', value: (q) => h('a', { href: `#/queues/${encodeURIComponent(q.name)}`, 'aria-current': q.name === selected ? 'page' : null }, q.name) },
    { title: 'Ready', num: true, value: (q) => number(q.stats.ready) },
    { title: 'Leased', num: true, value: (q) => number(q.stats.leased) },
    { title: 'Delayed', num: true, value: (q) => number(q.stats.delayed) },
    { title: 'Dead', num: true, value: (q) => number(q.stats.dead) },
  ], page.queues, { caption: 'Queues', rowAttributes: (q) => ({ class: q.name === selected ? 'selected' : null }) })),
  (error) => showProblem(results, error, { replace: true }));
  return panel;
}

function createPanel() {
  const name = h('input', { name: 'name', id: 'create-queue-name', required: true, placeholder: 'emails', autocomplete: 'off' });
  const maxAttempts = h('input', { name: 'maxAttempts', id: 'create-queue-attempts', type: 'number', min: '1', max: '1000', placeholder: '10' });
  const lease = h('input', { name: 'lease', id: 'create-queue-lease', placeholder: '30s' });
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'create-queue-title' }, h('h2', { id: 'create-queue-title' }, 'Create a queue'));
  const form = h('form', { class: 'stack' },
    field('Name', name),
    field('Attempts before dead-lettering', maxAttempts),
    field('Lease', lease, 'How long a consumer holds a message, e.g. 30s.'),
    h('div', {}, h('button', { type: 'submit' }, 'Create')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(panel);
    const body = {};
    if (maxAttempts.value) body.maxAttempts = Number(maxAttempts.value);
    if (lease.value) body.lease = lease.value.trim();
    try {
      await api('PUT', `/v1/queues/${encodeURIComponent(name.value.trim())}`, body);
      location.hash = `#/queues/${encodeURIComponent(name.value.trim())}`;
    } catch (error) {
      showProblem(panel, error);
    }
  });
  panel.append(form);
  return panel;
}

async function queueDetail(detail, queue) {
  const path = `/v1/queues/${encodeURIComponent(queue)}`;
  const info = h('section', { class: 'panel', 'aria-labelledby': 'queue-info-title' }, h('h2', { id: 'queue-info-title' }, 'Messages and settings'));
  const dead = h('section', { class: 'panel', 'aria-labelledby': 'dead-title' }, h('h2', { id: 'dead-title' }, 'Dead letters'));
  detail.append(info, peekPanel(path), dead, sendPanel(path, () => refresh()));

  const refresh = async () => {
    clearProblems(info);
    clearProblems(dead);
    let q;
    try {
      q = await api('GET', path);
    } catch (error) {
      showProblem(info, error);
      return;
    }
    fill(info, info.firstChild,
      h('p', { id: 'queue-counts', role: 'status' }, counts(q.stats)),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Ready'), h('dd', { id: 'queue-ready' }, number(q.stats.ready)),
        h('dt', {}, 'Leased'), h('dd', { id: 'queue-leased' }, number(q.stats.leased)),
        h('dt', {}, 'Delayed'), h('dd', { id: 'queue-delayed' }, number(q.stats.delayed)),
        h('dt', {}, 'Dead'), h('dd', { id: 'queue-dead' }, number(q.stats.dead)),
        h('dt', {}, 'Lease'), h('dd', {}, q.lease),
        h('dt', {}, 'Attempts'), h('dd', {}, `${q.maxAttempts} (backoff ${q.backoff.initial} to ${q.backoff.max})`),
        // The limits in force (null: none); a hub from before limits sends no "limits".
        ...(q.limits ? [
          h('dt', {}, 'Max length'), h('dd', { id: 'queue-max-length' }, limit(q.limits.maxLength)),
          h('dt', {}, 'Max dead letters'), h('dd', { id: 'queue-max-dead' },
            `${limit(q.limits.maxDeadLetters)}${q.stats.deadDropped ? ` (${number(q.stats.deadDropped)} dropped)` : ''}`),
        ] : []),
        h('dt', {}, 'Created'), h('dd', {}, new Date(q.createdAt).toLocaleString())),
      h('button', { type: 'button', class: 'secondary', onclick: refresh }, 'Refresh'));
    await deadLetters(dead, path, q.stats.dead, refresh);
  };
  await refresh();
}

async function deadLetters(panel, path, count, refresh) {
  let page;
  try {
    page = await api('GET', `${path}/dead-letters?limit=100`);
  } catch (error) {
    showProblem(panel, error);
    return;
  }
  const act = async (what, method, url, message) => {
    clearProblems(panel);
    try {
      const result = await api(method, url);
      announce(message(result));
      await refresh();
      panel.append(h('div', { class: 'ok', role: 'status' }, message(result)));
    } catch (error) {
      showProblem(panel, error);
    }
  };
  const purge = confirmDialog(`Purge ${count} dead letter${count === 1 ? '' : 's'}?`,
    'They are deleted for good: nothing can bring them back.', 'Purge',
    () => act('purge', 'POST', `${path}/dead-letters/purge`, (r) => `Purged ${number(r.purged)} dead letters.`));
  fill(panel, panel.firstChild,
    h('p', { class: 'muted' }, 'Messages that failed their last attempt, with the reason. A redrive puts a message back into the queue as new.'),
    table([
      { title: 'Id', num: true, value: (m) => m.id },
      { title: 'Reason', value: (m) => m.reason },
      { title: 'Last error', value: (m) => m.lastError ?? '–' },
      { title: 'Attempts', num: true, value: (m) => m.attempts },
      { title: 'Dead since', value: (m) => new Date(m.deadAt).toLocaleTimeString() },
      { title: 'Payload', value: (m) => h('code', {}, preview(m.payload ?? m.payloadBase64 ?? '')) },
      { title: 'Action', value: (m) => h('button', { type: 'button', class: 'secondary', 'aria-label': `Redrive dead letter ${m.id}`, dataset: { redrive: m.id },
        onclick: () => act('redrive', 'POST', `${path}/dead-letters/${m.id}/redrive`, () => `Dead letter ${m.id} redriven.`) }, 'Redrive') },
    ], page.messages, { caption: 'Dead letters' }),
    h('div', { class: 'inline-actions' },
      h('button', { type: 'button', id: 'redrive-all', disabled: page.messages.length === 0,
        onclick: () => act('redrive all', 'POST', `${path}/dead-letters/redrive`, (r) => `Redrove ${number(r.redriven)} dead letters.`) }, 'Redrive all'),
      ' ',
      h('button', { type: 'button', class: 'danger', id: 'purge', disabled: page.messages.length === 0, onclick: () => purge.showModal() }, 'Purge…')),
    purge);
}

function sendPanel(path, refresh) {
  const payload = h('textarea', { name: 'payload', id: 'send-payload', required: true }, '{"task": "example"}');
  const delay = h('input', { name: 'delay', id: 'send-delay', placeholder: '0', autocomplete: 'off' });
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'send-title' }, h('h2', { id: 'send-title' }, 'Send'));
  const form = h('form', { class: 'stack' },
    field('Payload', payload),
    field('Delay (optional)', delay, 'Seconds, or 10s, 5m.'),
    h('div', {}, h('button', { type: 'submit' }, 'Send')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(panel);
    try {
      const query = delay.value ? `?delay=${encodeURIComponent(delay.value)}` : '';
      const result = await api('POST', `${path}/messages${query}`, { payload: parsePayload(payload.value).value });
      panel.append(h('div', { class: 'ok', role: 'status' }, `Sent as message ${result.id}.`));
      await refresh();
    } catch (error) {
      showProblem(panel, error);
    }
  });
  panel.append(form);
  return panel;
}

/** A modal that asks before doing something that cannot be undone; Escape or Cancel closes it. */
function confirmDialog(title, text, action, onConfirm) {
  const dialog = h('dialog', { 'aria-labelledby': 'confirm-title', id: 'confirm' });
  const form = h('form', { method: 'dialog' },
    h('h2', { id: 'confirm-title' }, title),
    h('p', {}, text),
    h('div', {},
      h('button', { value: 'cancel', class: 'secondary', autofocus: true }, 'Cancel'), ' ',
      h('button', { value: 'confirm', class: 'danger', id: 'confirm-action' }, action)));
  dialog.append(form);
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'confirm') onConfirm();
  });
  return dialog;
}

function limit(value) {
  return value === null || value === undefined ? 'unlimited' : number(value);
}
