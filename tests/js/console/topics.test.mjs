// Topics in the console against the real hub: a live tail over each transport the user can pick (and the page says
// which it uses), the publish form, history from a position, and a bad name answered with the hub's own problem.

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

const names = { websocket: 'WebSocket', sse: 'Server-Sent Events', longpolling: 'Long polling' };

for (const transport of ['websocket', 'sse', 'longpolling']) {
  test(`a tailed topic shows a new message, over ${transport}`, async () => {
    const topic = `tail.${transport}`;
    await hub.rest('POST', `/v1/topics/${topic}/messages`, { payload: 'before the tail' });
    const page = await openPage(browser);
    await page.goto(`${hub.url}/#/topics/${topic}`);
    await page.selectOption('#tail-transport', transport);
    await page.click('#tail-toggle');
    // Publish only once the tail's subscription is confirmed (connected is not yet subscribed: "from now" is pinned first).
    const using = page.locator(`#tail-state[data-ready="true"] #tail-using[data-transport="${transport}"]`);
    await using.waitFor();
    assert.equal(await using.textContent(), names[transport]);

    const marker = `hello over ${transport} ${Date.now()}`;
    assert.equal((await hub.rest('POST', `/v1/topics/${topic}/messages`, { payload: { text: marker } })).status, 201);
    await page.locator('#tail-feed li', { hasText: marker }).waitFor();
    // From now on: the message published before the tail started is not in it.
    assert.equal(await page.locator('#tail-feed li', { hasText: 'before the tail' }).count(), 0);

    // A WebSocket or SSE tail is a subscriber the hub counts (presence); long polling is a series of reads, not one.
    const presence = await hub.rest('GET', `/v1/topics/${topic}/presence`);
    assert.equal(presence.body.count, transport === 'longpolling' ? 0 : 1);
    await page.click('#tail-toggle');
    await waitForText(page, '#tail-state', { equals: 'Stopped.' });
    assert.deepEqual(page.problems, []);
  });
}

test('the publish form stores a message, and history reads from a position', async () => {
  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/topics/forms.orders`);
  // The topic does not exist yet: the page says so with the hub's problem, and publishing creates it.
  await page.locator('.problem', { hasText: 'forms.orders' }).first().waitFor();
  await page.fill('#publish-payload', '{"id": 42}');
  await page.fill('#publish-key', 'order-42');
  await page.click('#publish-submit');
  await page.locator('.ok', { hasText: 'Stored at offset 1' }).waitFor();
  await page.fill('#publish-payload', 'plain words');
  await page.fill('#publish-key', '');
  await page.click('#publish-submit');
  await page.locator('.ok', { hasText: 'Stored at offset 2' }).waitFor();

  const stored = await hub.history('forms.orders');
  assert.deepEqual(stored.map((m) => [m.payload, m.key ?? null]), [[{ id: 42 }, 'order-42'], ['plain words', null]]);

  await page.fill('#history-after', '1');
  await page.click('form:has(#history-after) button');
  await page.locator('#history tbody tr', { hasText: 'plain words' }).waitFor();
  assert.equal(await page.locator('#history tbody tr').count(), 1, 'after offset 1 only the second message');
});

test('creating a topic with an invalid name shows the hub\'s problem detail, not a blank page', async () => {
  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/topics`);
  await page.fill('#create-topic-name', 'bad..name');
  await page.click('form:has(#create-topic-name) button[type=submit]');
  const problem = page.locator('.problem[role=alert]');
  await problem.waitFor();
  const text = await problem.textContent();
  assert.match(text, /The topic name breaks the naming rules\. \(400\)/);
  assert.match(text, /empty token/);
  assert.match(text, /invalid-topic-name/);
  assert.equal(new URL(page.url()).hash, '#/topics', 'the page stays where it was');

  // A good name is created and opened.
  await page.fill('#create-topic-name', 'made.in.console');
  await page.fill('#create-topic-max', '100');
  await page.click('form:has(#create-topic-name) button[type=submit]');
  await waitForText(page, 'main h1', { equals: 'Topic made.in.console' });
  const topic = await hub.rest('GET', '/v1/topics/made.in.console');
  assert.equal(topic.body.retention.maxMessages, 100);
  assert.deepEqual(page.problems, []);
});
