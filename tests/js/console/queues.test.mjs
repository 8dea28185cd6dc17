// Queues in the console against the real hub: counts by state, dead letters with their reasons, a redrive that puts the
// message back (checked on the hub), and a purge that asks first.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub } from '../client/hub.mjs';
import { launch, openPage, waitForText } from './browser.mjs';

let hub;
let browser;
before(async () => {
  hub = await Hub.start({ memory: true });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
});

/** Sends a message and fails it for good (one attempt allowed, nacked with a reason): a dead letter. */
async function deadLetter(queue, payload, error) {
  await hub.rest('POST', `/v1/queues/${queue}/messages`, { payload });
  const received = await hub.rest('POST', `/v1/queues/${queue}/receive?max=1`);
  const [message] = received.body.messages;
  const nacked = await hub.rest('POST', `/v1/queues/${queue}/messages/${message.id}/nack`, { lease: message.lease, error });
  assert.equal(nacked.body.deadLettered, true);
  return message.id;
}

test('a dead letter is shown with its reason and redriven back into the queue', async () => {
  assert.equal((await hub.rest('PUT', '/v1/queues/billing', { maxAttempts: 1 })).status, 201);
  const id = await deadLetter('billing', { invoice: 7 }, 'card declined');

  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/queues/billing`);
  await waitForText(page, '#queue-dead', { equals: '1' });
  const row = page.locator('tr', { has: page.locator(`button[data-redrive="${id}"]`) });
  assert.match(await row.textContent(), /nacked/);
  assert.match(await row.textContent(), /card declined/);
  assert.match(await row.textContent(), /"invoice":7/);

  await page.click(`button[data-redrive="${id}"]`);
  await page.locator('.ok', { hasText: `Dead letter ${id} redriven.` }).waitFor();
  await waitForText(page, '#queue-dead', { equals: '0' });
  await waitForText(page, '#queue-ready', { equals: '1' });
  const queue = await hub.rest('GET', '/v1/queues/billing');
  assert.deepEqual([queue.body.stats.ready, queue.body.stats.dead], [1, 0]);
  // It comes back with its payload, to be worked again.
  const again = await hub.rest('POST', '/v1/queues/billing/receive?max=1');
  assert.deepEqual(again.body.messages.map((m) => m.payload), [{ invoice: 7 }]);
  assert.deepEqual(page.problems, []);
});

test('purging dead letters asks first: cancel keeps them, confirm deletes them', async () => {
  assert.equal((await hub.rest('PUT', '/v1/queues/mailer', { maxAttempts: 1 })).status, 201);
  await deadLetter('mailer', { to: 'a@example.com' }, 'smtp down');
  await deadLetter('mailer', { to: 'b@example.com' }, 'smtp down');

  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/queues/mailer`);
  await waitForText(page, '#queue-dead', { equals: '2' });
  await page.click('#purge');
  const dialog = page.locator('dialog#confirm[open]');
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /Purge 2 dead letters\?/);
  await page.keyboard.press('Escape'); // the keyboard closes it like Cancel
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await hub.rest('GET', '/v1/queues/mailer')).body.stats.dead, 2, 'nothing purged without confirmation');

  await page.click('#purge');
  await page.click('#confirm-action');
  await page.locator('.ok', { hasText: 'Purged 2 dead letters.' }).waitFor();
  await waitForText(page, '#queue-dead', { equals: '0' });
  assert.equal((await hub.rest('GET', '/v1/queues/mailer')).body.stats.dead, 0);
  assert.deepEqual(page.problems, []);
});

test('a message sent from the console is counted as ready', async () => {
  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/queues`);
  await page.fill('#create-queue-name', 'console-made');
  await page.click('form:has(#create-queue-name) button[type=submit]');
  await waitForText(page, 'main h1', { equals: 'Queue console-made' });
  await page.fill('#send-payload', '{"job": "render"}');
  await page.click('form:has(#send-payload) button[type=submit]');
  await page.locator('.ok', { hasText: 'Sent as message 1.' }).waitFor();
  await waitForText(page, '#queue-ready', { equals: '1' });
  const received = await hub.rest('POST', '/v1/queues/console-made/receive?max=1');
  assert.deepEqual(received.body.messages.map((m) => m.payload), [{ job: 'render' }]);
});

test('peek lists the ready messages in the order they will be received, and changes no count', async () => {
  for (const n of [1, 2, 3]) {
    assert.equal((await hub.rest('POST', '/v1/queues/peeked/messages', { payload: { order: n } })).status, 201);
  }
  const before = (await hub.rest('GET', '/v1/queues/peeked')).body.stats;
  assert.deepEqual(before, { ready: 3, leased: 0, delayed: 0, dead: 0, length: 3, deadDropped: 0 });

  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/queues/peeked`);
  await waitForText(page, '#queue-ready', { equals: '3' });
  await page.click('#peek');
  const rows = page.locator('#peek-results tbody tr[data-peek-id]');
  await rows.nth(2).waitFor();
  assert.equal(await rows.count(), 3);
  const cells = await rows.evaluateAll((trs) => trs.map((tr) => [tr.dataset.peekId, tr.cells[1].textContent, tr.cells[2].textContent, tr.cells[5].textContent]));
  assert.deepEqual(cells, [
    ['1', 'ready', '0', '{"order":1}'],
    ['2', 'ready', '0', '{"order":2}'],
    ['3', 'ready', '0', '{"order":3}'],
  ]);

  // Looking took nothing: the counts are the same, on the page (after a refresh) and on the hub.
  await page.click('section[aria-labelledby=queue-info-title] button.secondary');
  await waitForText(page, '#queue-ready', { equals: '3' });
  assert.equal(await page.textContent('#queue-leased'), '0');
  assert.deepEqual((await hub.rest('GET', '/v1/queues/peeked')).body.stats, before);
  const received = await hub.rest('POST', '/v1/queues/peeked/receive?max=1');
  assert.deepEqual(received.body.messages.map((m) => [m.payload, m.attempts]), [[{ order: 1 }, 1]]);

  // The leased one shows under "Leased", without its lease token.
  await page.selectOption('#peek-state', 'leased');
  await page.click('#peek');
  await page.locator('#peek-results tbody tr[data-peek-id="1"]', { hasText: 'leased' }).waitFor();
  assert.equal(await page.locator('#peek-results tbody tr[data-peek-id]').count(), 1);
  assert.doesNotMatch(await page.textContent('#peek-results'), new RegExp(received.body.messages[0].lease));
  assert.deepEqual(page.problems, []);
});
